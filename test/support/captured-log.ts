import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** Bakery's own logger (redaction included), writing JSON lines into memory for a test to read. */
export function capturedLog(level = 'debug'): { log: Logger; text(): string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ pretty: false, level, destination }), text: () => lines.join('') };
}
