import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { commandNames } from '../src/bakery.js';

describe('manifest.yml', () => {
  const manifest = parse(readFileSync('manifest.yml', 'utf8')) as {
    features: { slash_commands: { command: string }[]; app_home: { home_tab_enabled: boolean } };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean }; event_subscriptions: { bot_events: string[]; request_url: string } };
  };

  it('declares every slash command Bakery answers, and no other', () => {
    expect(manifest.features.slash_commands.map((c) => c.command).sort()).toEqual([...commandNames].sort());
  });

  it('turns interactivity on for the buttons, and asks only for the scopes Bakery uses', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['channels:read', 'chat:write', 'commands', 'files:write', 'groups:read', 'usergroups:read']);
  });

  it('enables the Home tab and the one event Bakery listens to, app_home_opened', () => {
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
    expect(manifest.settings.event_subscriptions.request_url).toMatch(/\/slack\/events$/);
  });
});
