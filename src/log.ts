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

/** A run of base64 characters with upper case, lower case and digits (hex digests and words have not). */
const mixedBase64 = (length: string): string => `(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]${length}(?![A-Za-z0-9/+=])`;

/**
 * Anything that looks like a secret, wherever it appears in a string: Slack and GitHub tokens, AWS
 * access key ids, AWS secret keys (40 base64 characters), session tokens (long base64 runs), and the
 * value of anything named like a secret (`password=…`, `aws_session_token: …`).
 */
const secretPattern = new RegExp(
  [
    'xox[abposr]-[0-9A-Za-z-]+',
    'xapp-[0-9A-Za-z-]+',
    'gh[opsu]_[0-9A-Za-z]{36,}',
    'github_pat_[0-9A-Za-z_]{22,}',
    '(?:AKIA|ASIA)[0-9A-Z]{16}',
    mixedBase64('{40}'),
    `${mixedBase64('{100,}').slice(0, -'(?![A-Za-z0-9/+=])'.length)}={0,2}(?![A-Za-z0-9/+=])`,
  ].join('|'),
  'g',
);
const namedSecret = /\b((?:aws_)?(?:secret_access_key|session_token|secret|password|passwd|token|api_?key))(["']?\s*[=:]\s*["']?)[^\s"']+/gi;

export function redactSecrets(text: string): string {
  return text.replace(namedSecret, '$1$2[redacted]').replace(secretPattern, '[redacted]');
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
