import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths that may hold a secret; pino replaces them before a line is written. */
const secretPaths = [
  'token', 'botToken', 'appToken', 'signingSecret', 'secret', 'password', 'authorization',
  'accessKeyId', 'secretAccessKey', 'sessionToken', 'credentials',
  '*.token', '*.botToken', '*.appToken', '*.signingSecret', '*.secret', '*.authorization',
  '*.accessKeyId', '*.secretAccessKey', '*.sessionToken', '*.credentials',
  'headers.authorization', 'req.headers.authorization', 'req.headers["x-slack-signature"]',
];

/** Anything that looks like a Slack token or AWS key, wherever it appears in a string. */
const secretPattern = /xox[abposr]-[0-9A-Za-z-]+|xapp-[0-9A-Za-z-]+|(?:AKIA|ASIA)[0-9A-Z]{16}/g;

export function redactSecrets(text: string): string {
  return text.replace(secretPattern, '[redacted]');
}

export function createLogger(options: { pretty: boolean; level?: string; destination?: NodeJS.WritableStream }): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: secretPaths, censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<typeof method>);
      },
    },
    ...(options.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', destination: 2 } } }
      : {}),
  };
  return options.destination ? pino(settings, options.destination as pino.DestinationStream) : pino(settings);
}

export const silentLogger: Logger = pino({ level: 'silent' });
