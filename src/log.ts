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
 * access key ids, AWS secret keys (40 base64 characters), a PEM key's body lines (64), session tokens
 * (long base64 runs).
 */
const secretPattern = new RegExp(
  [
    'xox[abposr]-[0-9A-Za-z-]+',
    'xapp-[0-9A-Za-z-]+',
    'gh[opsu]_[0-9A-Za-z]{36,}',
    'github_pat_[0-9A-Za-z_]{22,}',
    '(?:AKIA|ASIA)[0-9A-Z]{16}',
    mixedBase64('{40}'),
    mixedBase64('{64}'),
    `${mixedBase64('{100,}').slice(0, -'(?![A-Za-z0-9/+=])'.length)}={0,2}(?![A-Za-z0-9/+=])`,
  ].join('|'),
  'g',
);

/*
 * Secrets by their shape. A value stops at a quote or a backslash, so that a redacted JSON log line
 * stays JSON. Each keeps what says what was there (the header, the scheme, the user, the variable's name).
 */
/** A PEM private key, to its END line (which may be `| `-prefixed in a builder's log), or to the end of the text. */
const privateKey = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[^"]*)/g;
/** `Authorization: Bearer …` (or Basic, or any scheme): the rest of the header. */
const authorizationHeader = /(\bauthorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Digest|Token|AWS4-HMAC-SHA256)\s+)?)[^\r\n"'\\]+/gi;
const bearerToken = /\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g;
/** `postgres://user:pass@host`: the password. */
const urlPassword = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/@:"'\\]*:)[^\s/@"'\\]+@/gi;
/**
 * The value of anything named like a secret: `password=…`, `aws_session_token: …`, and names that end so
 * (`DB_PASSWORD=`, `NPM_TOKEN=`, `sessionToken:`), where a `\b` before the word would not match.
 */
const namedSecret = /\b([A-Za-z0-9_.-]*?(?:secret_access_key|session_token|secret|password|passwd|token|api_?key))(["']?\s*[=:]\s*["']?)[^\s"'\\]+/gi;

/** The one redaction: of every log line, and of every text from a builder that is posted to chat (src/chat/untrusted.ts). */
export function redactSecrets(text: string): string {
  return text
    .replace(privateKey, '[redacted private key]')
    .replace(authorizationHeader, '$1[redacted]')
    .replace(bearerToken, '$1[redacted]')
    .replace(urlPassword, '$1[redacted]@')
    .replace(namedSecret, '$1$2[redacted]')
    .replace(secretPattern, '[redacted]');
}

/**
 * The one logger. `file`: lines go to that file (its folder made), not to stdout, as local mode needs
 * when the terminal is the chat; pretty there is plain text, without colours.
 */
export function createLogger(options: { pretty: boolean; level?: string; destination?: NodeJS.WritableStream; file?: string }): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: secretPaths, censor: '[redacted]' },
    hooks: {
      // The message as given (before JSON escapes it), then the whole line: fields and errors' messages and stacks too.
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<typeof method>);
      },
      streamWrite: redactSecrets,
    },
    ...(options.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: !options.file, ignore: 'pid,hostname', destination: options.file ?? 2, mkdir: true } } }
      : {}),
  };
  if (options.destination) return pino(settings, options.destination as pino.DestinationStream);
  if (options.file && !options.pretty) return pino(settings, pino.destination({ dest: options.file, mkdir: true, sync: false }));
  return pino(settings);
}

export const silentLogger: Logger = pino({ level: 'silent' });
