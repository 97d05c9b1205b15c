/**
 * The reference of bench/ws-fanout.ts: the least a Kafka → WebSocket fan-out does in Node, as a child process of its
 * own (forked by the benchmark) so that it has an event loop of its own, as the gateway does. One `ws` server on
 * the gateway's path, HS256 JWT verified with `jose` on the upgrade (the `Authorization: Bearer` header), a
 * `subscribe` answered with an `ack`, and one kafkajs consumer of the recommendations topic (read_committed, from
 * the beginning of a topic of its own) that Avro-decodes each list and sends it as JSON to its user's sockets. No
 * table of latest lists, heartbeats, rate limits, send-buffer caps or metrics: the floor under the gateway.
 *
 * State: a map of user → sockets in memory; nothing survives the process.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { createAvroSerde, createKafka, createSchemaRegistry, errorMessage, topicNames } from '../streams/index.js';

export interface ReferenceArgs {
  readonly brokers: readonly string[];
  readonly registryUrl: string;
  readonly schemasDir: string;
  readonly prefix: string;
  readonly groupId: string;
  readonly secret: string;
}

export type ReferenceMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly error: string };

async function runReference(args: ReferenceArgs): Promise<void> {
  const send = (m: ReferenceMessage) => process.send?.(m);
  const topics = topicNames(args.prefix);
  const serde = await createAvroSerde({ registry: createSchemaRegistry(args.registryUrl), topics, schemasDir: args.schemasDir, keys: ['recommendations'] });
  const secret = new TextEncoder().encode(args.secret);
  const sockets = new Map<string, Set<WebSocket>>();
  const users = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    port: 0, host: '127.0.0.1', path: '/v1/stream', perMessageDeflate: false, maxPayload: 64 * 1024,
    verifyClient: (info, done) => {
      const m = /^Bearer\s+(\S+)$/i.exec(info.req.headers.authorization ?? '');
      if (!m) return done(false, 401);
      jwtVerify(m[1]!, secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] }).then(
        ({ payload }) => { users.set(info.req, payload.sub!); done(true); },
        () => done(false, 401),
      );
    },
  });
  wss.on('connection', (ws, req) => {
    const userId = users.get(req)!;
    ws.on('message', (raw) => {
      let f: { type?: string; id?: string; channel?: string };
      try { f = JSON.parse(raw.toString()) as typeof f; } catch { return; }
      if (f.type === 'subscribe' && f.channel === 'recommendations') {
        let set = sockets.get(userId);
        if (!set) sockets.set(userId, (set = new Set()));
        set.add(ws);
        ws.send(JSON.stringify({ type: 'ack', of: 'subscribe', id: f.id }));
      } else if (f.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: f.id }));
    });
    ws.on('close', () => {
      const set = sockets.get(userId);
      set?.delete(ws);
      if (set?.size === 0) sockets.delete(userId);
    });
  });
  await new Promise((r) => wss.once('listening', r));

  const kafka = createKafka({ brokers: args.brokers, clientId: 'bench-ws-reference', log: (l) => process.stderr.write(`[reference] ${l}\n`) });
  const consumer = kafka.consumer({ groupId: args.groupId, readUncommitted: false });
  consumer.on(consumer.events.GROUP_JOIN, () => send({ type: 'ready', port: (wss.address() as AddressInfo).port }));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    send({ type: 'failed', error: errorMessage(payload.error) });
    process.exit(1);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.name('recommendations')], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const list = await serde.decode('recommendations', message.value);
      const set = sockets.get(list.userId);
      if (!set) return;
      const frame = JSON.stringify({ type: 'recommendations', ...list });
      for (const ws of set) ws.send(frame);
    },
  });
  const stop = () => {
    void (async () => {
      await consumer.disconnect().catch(() => {});
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop); // the parent went away
}

// Runs only when forked as a program (bench/ws-fanout.ts imports this module for its types).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runReference(JSON.parse(process.argv[2] ?? '{}') as ReferenceArgs).catch((err: unknown) => {
    process.send?.({ type: 'failed', error: errorMessage(err) } satisfies ReferenceMessage);
    process.stderr.write(`[reference] ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
