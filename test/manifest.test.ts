import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { commandNames } from '../src/bakery.js';

describe('manifest.yml', () => {
  const manifest = parse(readFileSync('manifest.yml', 'utf8')) as {
    features: { slash_commands: { command: string }[] };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean } };
  };

  it('declares every slash command Bakery answers, and no other', () => {
    expect(manifest.features.slash_commands.map((c) => c.command).sort()).toEqual([...commandNames].sort());
  });

  it('turns interactivity on for the buttons, and asks only for the scopes Bakery uses', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['channels:read', 'chat:write', 'commands', 'files:write', 'groups:read', 'usergroups:read']);
  });
});
