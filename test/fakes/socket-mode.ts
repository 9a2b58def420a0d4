/*
 * A fake Slack Socket Mode endpoint on 127.0.0.1. Like Slack, it greets every connection with a
 * `hello` message; the test then pushes envelopes down the socket and reads back the acks the client
 * sends (`{ envelope_id, payload? }`). Pair it with the fake Web API, whose apps.connections.open
 * hands out this endpoint's url.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface Ack {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface Envelope {
  envelope_id: string;
  type: string;
  payload?: unknown;
  accepts_response_payload?: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface SocketClose {
  code: number;
  reason: string;
}

export interface FakeSocketMode {
  /** ws://127.0.0.1:<port>/socket, for apps.connections.open to answer with. */
  url: string;
  /** Connections accepted so far (each one was sent a hello). */
  connections: number;
  /** Connections currently open. */
  open: number;
  /** How each closed connection ended, in order. */
  closes: SocketClose[];
  /** Every parsed message a client sent back, in order of arrival. */
  acks: Ack[];
  /** Messages a client sent that were not JSON objects, verbatim. */
  unparsed: string[];
  /** Sends an envelope (or, for malformed-input tests, any raw text) to every open connection. */
  send(envelope: Envelope | Record<string, unknown> | string): void;
  ackFor(envelopeId: string): Ack | undefined;
  /** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves with the ack for `envelopeId` once it has arrived. */
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<Ack>;
  close(): Promise<void>;
}

export async function startFakeSocketMode(options: { appId?: string } = {}): Promise<FakeSocketMode> {
  const sockets = new Set<WebSocket>();
  const acks: Ack[] = [];
  const unparsed: string[] = [];
  const closes: SocketClose[] = [];
  let connections = 0;

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('upgrade required');
  });
  const wss = new WebSocketServer({ server, path: '/socket' });
  wss.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? '' : String(data);
      try {
        const message: unknown = JSON.parse(text);
        if (typeof message === 'object' && message !== null && typeof (message as Ack).envelope_id === 'string') {
          acks.push(message as Ack);
          return;
        }
      } catch {
        // recorded below
      }
      unparsed.push(text);
    });
    socket.on('close', (code, reason) => {
      sockets.delete(socket);
      closes.push({ code, reason: String(reason) });
    });
    socket.on('error', () => undefined);
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: sockets.size,
        debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: options.appId ?? 'A0BAKERY' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/socket`;

  async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('fake Socket Mode: condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const ackFor = (envelopeId: string): Ack | undefined => acks.find((ack) => ack.envelope_id === envelopeId);

  return {
    url,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    closes,
    acks,
    unparsed,
    send(envelope) {
      const text = typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
      for (const socket of sockets) socket.send(text);
    },
    ackFor,
    waitFor,
    async waitForAck(envelopeId, timeoutMs) {
      await waitFor(() => ackFor(envelopeId) !== undefined, timeoutMs);
      return ackFor(envelopeId) as Ack;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        wss.close(() => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
      }),
  };
}
