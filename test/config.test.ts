import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadAppsFile, parseAppsFile } from '../src/config/apps.js';
import { fleetOf } from '../src/config/environments.js';
import { assertUserDataFits } from '../src/pipelines/bake/user-data.js';
import { readSettings } from '../src/config/env.js';

const good = `
apps:
  demo:
    channel: "#demo"
    region: us-east-1
    baseImage: { id: ami-0123456789abcdef0 }
    instanceType: t3.small
    artifactUrl: https://artifacts.example.com/demo/{version}.tar.gz
    provision: ./install.sh
    smokeTest: ./smoke.sh
`;

describe('the apps file', () => {
  it('fills in defaults for what an app leaves out', () => {
    const apps = parseAppsFile('apps.yml', good);
    expect(apps.demo).toMatchObject({ shareWith: [], copyTo: [], securityGroupIds: [], timeouts: { builderMinutes: 60, imageMinutes: 60, copyMinutes: 90 } });
  });

  it('trusts bases from the account and Amazon, SSM under /aws/service/, and the app’s channel, unless told otherwise', () => {
    expect(parseAppsFile('apps.yml', good).demo).toMatchObject({
      baseImageOwners: ['self', 'amazon'],
      baseParameterPrefixes: ['/aws/service/'],
      access: { bake: ['channel'], canary: ['channel'] },
    });
  });

  it('names the field of a bad owner, prefix or person', () => {
    const bad = `${good}    baseImageOwners: [someone]\n    baseParameterPrefixes: [team/]\n    access: { bake: ["@alice"] }\n`;
    const message = (() => {
      try {
        parseAppsFile('apps.yml', bad);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('app "demo", field "baseImageOwners.0": an image owner is self, amazon, aws-marketplace or a 12-digit account id');
    expect(message).toContain('app "demo", field "baseParameterPrefixes.0": a parameter prefix is a path that starts and ends with /');
    expect(message).toContain('app "demo", field "access.bake.0": a Slack user id (U0123…), user group id (S0123…) or channel');
  });

  it('takes another app’s images as bases only from the apps it names, which must be in the file', () => {
    expect(parseAppsFile('apps.yml', good).demo?.baseImageApps).toEqual([]);
    const golden = good.replace('apps:\n  demo:', 'apps:\n  golden:\n    channel: "#golden"\n    region: us-east-1\n    baseImage: { id: ami-0123456789abcdef0 }\n    instanceType: t3.small\n    artifactUrl: https://artifacts.example.com/golden/{version}.tar.gz\n    provision: ./install.sh\n    smokeTest: ./smoke.sh\n  demo:');
    expect(parseAppsFile('apps.yml', `${golden}    baseImageApps: [golden]\n`).demo?.baseImageApps).toEqual(['golden']);
    expect(() => parseAppsFile('apps.yml', `${good}    baseImageApps: [golden]\n`)).toThrow('apps.yml: app "demo", field "baseImageApps.0": "golden" is not an app in this file');
    expect(() => parseAppsFile('apps.yml', `${good}    baseImageApps: [Golden!]\n`)).toThrow('app "demo", field "baseImageApps.0"');
  });

  it('names the file, the app and the field of each mistake', () => {
    const bad = good.replace('t3.small', 't3 small').replace('{version}.tar.gz', 'latest.tar.gz');
    expect(() => parseAppsFile('apps.yml', bad)).toThrow(ConfigError);
    try {
      parseAppsFile('apps.yml', bad);
    } catch (error) {
      expect((error as Error).message).toContain('apps.yml: app "demo", field "instanceType": an instance type looks like t3.small');
      expect((error as Error).message).toContain('apps.yml: app "demo", field "artifactUrl": the artifact URL template must contain {version}');
    }
  });

  it('refuses a Xen instance type, whose console EC2 shows only after a start, stop or reboot', () => {
    for (const type of ['t2.micro', 'm4.large', 'c4.xlarge', 'r4.large', 'x1.16xlarge', 'i3.large']) {
      expect(() => parseAppsFile('apps.yml', good.replace('t3.small', type))).toThrow(`apps.yml: app "demo", field "instanceType": ${type} runs on the Xen hypervisor`);
    }
    for (const type of ['t3.small', 'm5.large', 'c7g.medium', 'i3.metal', 'i3en.large', 'm4a.large']) {
      expect(parseAppsFile('apps.yml', good.replace('t3.small', type)).demo?.instanceType).toBe(type);
    }
  });

  it('refuses scripts that would make the builder’s user data larger than EC2 accepts, naming the size', () => {
    const script = (bytes: number) => `|\n      ${'x'.repeat(bytes)}`;
    const fits = (text: string) => assertUserDataFits('apps.yml', parseAppsFile('apps.yml', text));
    expect(() => fits(good.replace('./install.sh', script(12_500)))).toThrow(
      /^apps\.yml: app "demo", field "provision": the builder's user data would be \d{5} bytes \(provision 12501, smokeTest 10\), over EC2's limit of 16384 bytes/,
    );
    expect(() => fits(good.replace('./install.sh', script(9_500)))).not.toThrow();
  });

  it('fetches artifacts over https only', () => {
    expect(() => parseAppsFile('apps.yml', good.replace('https://artifacts', 'http://artifacts'))).toThrow('apps.yml: app "demo", field "artifactUrl": the artifact URL must be https');
  });

  it('refuses app names that could reach a tag, an AMI name or a shell', () => {
    expect(() => parseAppsFile('apps.yml', good.replace('  demo:', '  "demo;reboot":'))).toThrow(/app names are/);
  });

  it('retires in stages only with a retire section, whose times default to 7, 14 and 30 days and name the field of a mistake', () => {
    const DAY = 24 * 3_600_000;
    expect(parseAppsFile('apps.yml', good).demo?.retire).toBeUndefined();
    expect(parseAppsFile('apps.yml', `${good}    retire: { disableAfter: 2d }\n`).demo?.retire).toEqual({ deprecateAfter: 7 * DAY, disableAfter: 2 * DAY, deregisterAfter: 30 * DAY });
    expect(() => parseAppsFile('apps.yml', `${good}    retire: { disableAfter: soon }\n`)).toThrow('apps.yml: app "demo", field "retire.disableAfter": a duration is a number and d, h, m or s, e.g. 30d');
    expect(() => parseAppsFile('apps.yml', `${good}    retire: { deprecateAfter: 0s }\n`)).toThrow('field "retire.deprecateAfter": deprecateAfter must be at least 1m');
  });

  it('refuses unknown fields rather than ignoring a typo', () => {
    expect(() => parseAppsFile('apps.yml', good.replace('    provision:', '    provison: x\n    provision:'))).toThrow(/app "demo".*provison/);
  });

  it('says when the file is missing or not YAML', async () => {
    await expect(loadAppsFile('/nonexistent/apps.yml')).rejects.toThrow('/nonexistent/apps.yml: cannot read the apps file (ENOENT)');
    const dir = await mkdtemp(join(tmpdir(), 'bakery-config-'));
    await writeFile(join(dir, 'apps.yml'), 'apps: [unclosed');
    await expect(loadAppsFile(join(dir, 'apps.yml'))).rejects.toThrow(/apps\.yml: not valid YAML/);
  });
});

describe('the environment', () => {
  it('runs locally with nothing set: terminal chat, embedded DynamoDB, simulated AWS', () => {
    expect(readSettings({})).toMatchObject({ local: true, dynamodb: 'embedded', aws: 'simulated', port: 3000, table: 'bakery' });
  });

  it('uses Slack, the real DynamoDB and real AWS once Slack credentials are set', () => {
    const settings = readSettings({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', PORT: '8080' });
    expect(settings).toMatchObject({ local: false, dynamodb: 'aws', aws: 'real', port: 8080, logFormat: 'json' });
  });

  it('reads the faults local mode should simulate', () => {
    expect(readSettings({ BAKERY_SIM_FAULTS: 'provision-fails, image-stuck:demo' }).simulatedFaults).toEqual([{ kind: 'provision-fails' }, { kind: 'image-stuck', app: 'demo' }]);
    expect(readSettings({ BAKERY_SIM_FAULTS: 'bad-release:demo,unhealthy-release' }).simulatedFaults).toEqual([{ kind: 'bad-release', app: 'demo' }, { kind: 'unhealthy-release' }]);
    expect(readSettings({ BAKERY_SIM_FAULTS: 'slow-start:demo-rb' }).simulatedFaults).toEqual([{ kind: 'slow-start', app: 'demo-rb' }]);
    expect(readSettings({ BAKERY_SIM_FAULTS: 'copy-fails:eu-west-1' }).simulatedFaults).toEqual([{ kind: 'copy-fails', region: 'eu-west-1' }]);
    expect(() => readSettings({ BAKERY_SIM_FAULTS: 'meteor-strike' })).toThrow(/BAKERY_SIM_FAULTS.*each fault is one of/);
  });

  it('schedules the digest on weekdays at 09:00 UTC unless told otherwise, and refuses a schedule node-cron would not run', () => {
    expect(readSettings({}).digest).toEqual({ expression: '0 9 * * 1-5', timezone: 'UTC', graceMs: 3 * 3_600_000 });
    expect(readSettings({ BAKERY_DIGEST_CRON: '30 8 * * 1', BAKERY_DIGEST_TIMEZONE: 'Europe/Berlin', BAKERY_DIGEST_GRACE_MINUTES: '60' }).digest).toEqual({ expression: '30 8 * * 1', timezone: 'Europe/Berlin', graceMs: 3_600_000 });
    expect(readSettings({ BAKERY_DIGEST_CRON: 'off' }).digest).toBeUndefined();
    expect(() => readSettings({ BAKERY_DIGEST_CRON: '0 9 * * 8' })).toThrow(/BAKERY_DIGEST_CRON: not a cron expression/);
    expect(() => readSettings({ BAKERY_DIGEST_TIMEZONE: 'Atlantis/Capital' })).toThrow(/BAKERY_DIGEST_TIMEZONE: unknown timezone/);
  });

  it('names the variable that is wrong, and never echoes a secret', () => {
    const secret = 'xoxp-should-never-appear';
    expect(() => readSettings({ SLACK_BOT_TOKEN: secret, SLACK_SIGNING_SECRET: 'zz' })).toThrow(/SLACK_BOT_TOKEN: must look like xoxb-/);
    try {
      readSettings({ SLACK_BOT_TOKEN: secret, SLACK_SIGNING_SECRET: 'zz' });
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
    expect(() => readSettings({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc' })).toThrow(/SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET go together/);
    expect(() => readSettings({ BAKERY_AWS: 'pretend' })).toThrow(/BAKERY_AWS/);
  });
});

describe('an app’s deploy section', () => {
  const deploy = (metrics: string, canary = '{ interval: 1m }') => `${good}    deploy:
      group: demo-live
      launchTemplate: demo
      canary: ${canary}
      approvers: [U0BOB]
      metrics:
${metrics}`;
  const latency = '        - { name: latency, kind: gauge, namespace: Demo/App, metric: LatencyP99, stat: Maximum, tolerance: +10% }\n';

  it('fills in the canary, approval and roll-out defaults, in milliseconds', () => {
    const app = parseAppsFile('apps.yml', deploy(latency)).demo!;
    expect(app.deploy).toMatchObject({
      strategy: 'rolling',
      traffic: { mode: 'shared' },
      canary: { instances: 1, duration: 30 * 60_000, interval: 60_000, warmup: 3 * 60_000 },
      onFail: 'rollback',
      fourEyes: true,
      approvalTtl: 4 * 3_600_000,
      rolling: { minHealthyPercent: 90, maxHealthyPercent: 200 },
    });
  });

  it('reads back from the table what it wrote there', () => {
    const app = parseAppsFile('apps.yml', deploy(latency)).demo!;
    expect(parseAppsFile('again.yml', `apps:\n  demo: ${JSON.stringify(app)}\n`).demo).toEqual(app);
  });

  it('names the metric field of a tolerance the judge cannot read, and of a namespace too coarse for the interval', () => {
    expect(() => parseAppsFile('apps.yml', deploy(latency.replace('+10%', 'lots')))).toThrow(/apps\.yml: app "demo", field "deploy\.metrics": metric latency, field tolerance/);
    expect(() => parseAppsFile('apps.yml', deploy(latency.replace('Demo/App', 'AWS/EC2'), '{ interval: 10s }'))).toThrow(
      'apps.yml: app "demo", field "deploy.metrics.0.namespace": AWS/EC2 publishes 1-minute metrics; a 10s interval needs high-resolution custom metrics',
    );
    expect(() => parseAppsFile('apps.yml', deploy(latency, '{ duration: soon }'))).toThrow('field "deploy.canary.duration": a duration is a number and s, m or h');
  });

  it('refuses a red-black switch that cannot copy everything unless told to switch anyway, and names a wrong answer', () => {
    const redBlack = (value: string) => deploy(latency).replace('      launchTemplate: demo\n', `      launchTemplate: demo\n      strategy: red-black\n      redBlack: { onUncopied: ${value} }\n`);
    expect(fleetOf(parseAppsFile('apps.yml', deploy(latency)).demo!)?.redBlack.onUncopied).toBe('refuse');
    expect(fleetOf(parseAppsFile('apps.yml', redBlack('switch')).demo!)?.redBlack).toEqual({ keepOldFor: 3_600_000, onUncopied: 'switch' });
    expect(() => parseAppsFile('apps.yml', redBlack('maybe'))).toThrow('apps.yml: app "demo", field "deploy.redBlack.onUncopied"');
  });

  it('compares with the live group unless asked for a fresh baseline, which needs shared traffic', () => {
    expect(fleetOf(parseAppsFile('apps.yml', deploy(latency)).demo!)?.canary.baseline).toBe('live');
    expect(fleetOf(parseAppsFile('apps.yml', deploy(latency, '{ baseline: fresh }')).demo!)?.canary.baseline).toBe('fresh');
    const weighted = deploy(latency, '{ baseline: fresh }').replace('      launchTemplate: demo\n', '      launchTemplate: demo\n      traffic: { mode: weighted, listener: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo/0123456789abcdef/0123456789abcdef", weight: 10 }\n');
    expect(() => parseAppsFile('apps.yml', weighted)).toThrow('apps.yml: app "demo", field "deploy.canary.baseline": a fresh baseline joins the live target groups, so it needs traffic: shared');
  });
});
