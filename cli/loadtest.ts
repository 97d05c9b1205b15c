import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { benchmarkWsFanout, wsFanoutMarkdown, wsFanoutTable } from '../bench/ws-fanout.js';
import { ensureOpenFiles, LoadAborted, runWsLoad, wsLoadTable, type WsLoadResult } from '../bench/ws-load.js';
import { connectStreams, createTypedProducer, requireTopics } from '../streams/index.js';
import { InputError, UsageError, wantsHelp, type Command, type CommandContext } from './command.js';
import { choiceListFlag, intFlag, parseFlags, parseFlagsAndArgs } from './flags.js';
import { gatewayAccess, gatewayReachable } from './gateway-access.js';
import { INTERRUPTED, runInterruptible } from './progress.js';
import { makeDirs } from './dirs.js';

/** Loopback source ports are the bound on clients (net.ipv4.ip_local_port_range is 28,232 wide by default). */
const MAX_CLIENTS = 25_000;

const OVERVIEW = `usage: buddies loadtest <ws|fanout> [options]

  ws      load on a running gateway: N clients, refreshes at a rate; push latency, memory per connection
  fanout  the benchmark: starts the gateway and a bare ws + kafkajs reference, each in a process and on topics
          of its own, and puts the same load on each in turn (bench/results/ws-fanout.md)

'buddies loadtest ws --help' and 'buddies loadtest fanout --help' print their options.
`;

const FANOUT_HELP = `usage: buddies loadtest fanout [--clients N] [--seconds S] [--rate R] [--systems gateway,reference]
                              [--concurrency C] [--json] [--out FILE]

The WebSocket fan-out benchmark on the running stack (bench/ws-fanout.ts). Starts 'node bin/buddies.js gateway'
(the compiled CLI: npm run build) with a random HS256 secret, on a free port and topics of its own, puts the load
of 'buddies loadtest ws' on it, stops it; then does the same with the reference (bench/ws-fanout-reference.ts:
a bare ws server, jose on the upgrade, one kafkajs consumer sending each decoded list to its user's sockets:
the floor under the gateway). The two never run at once; topics are deleted at the end and on Ctrl-C.
Progress on stderr; a Markdown table on stdout (or --json).

  --clients N      concurrent clients per system (default 10000)
  --seconds S      refresh window per system (default 30)
  --rate R         refreshed lists produced per second (default 1000)
  --systems LIST   gateway, reference or both (default gateway,reference)
  --concurrency C  connects in flight at once (default 200)
  --json           print the result as JSON
  --out FILE       also write the result as Markdown (bench/results/ws-fanout.md)
`;

const HELP = `usage: buddies loadtest ws --clients N --duration D [--rate R] [--url U] [options]

Load on a running gateway (buddies gateway), as apps would put it: N concurrent clients on loopback, each with a
token of its own (signed with BUDDIES_JWT_SECRET, else the local development secret), connect over WebSocket
and subscribe to their recommendations; then, for --duration, refreshed lists for them (10 items each, round
robin over the connected clients) are produced to the recommendations topic of the configured prefix
(BUDDIES_TOPIC_PREFIX: the gateway's) at --rate lists per second, each stamped generatedAt just before it is
handed to the producer. Reports the connect rate, push latency p50/p95/p99/max (generatedAt to receipt), lists
produced and pushes received per second, lists never pushed, memory per connection (the gateway process's RSS
after connecting minus before, / N; and this process's), CPU of both, and errors by code; from the gateway's
/metrics, its own view: push latency from the Kafka write to the socket, event-loop delay, GC time. Raises this
process's open-file limit to what N needs (prlimit), or says what to run. Progress on stderr; a Markdown table
on stdout (or with --json one JSON object). Bounded: at most ${MAX_CLIENTS.toLocaleString('en')} clients and an hour; stops itself
after --duration and --drain, Ctrl-C stops it early and closes every connection.

  --clients N      concurrent clients, 1..${MAX_CLIENTS} (required)
  --duration D     refresh window after every client connected: 30, 30s, 5m (required)
  --rate R         refreshed lists produced per second (default 1000)
  --url U          the gateway's stream URL (default ws://127.0.0.1:$BUDDIES_GATEWAY_PORT/v1/stream)
  --concurrency C  connects in flight at once (default 200)
  --drain S        seconds lists may take to arrive after the window (default 10)
  --server-pid P   the gateway's process id, for its memory and CPU (default: the process listening on
                   the URL's port, when it is this user's and on this machine)
  --json           print the result as JSON
`;

function duration(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError('--duration D is required (e.g. 30s)');
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--duration ${raw}: expected e.g. 30, 30s, 5m`);
  const ms = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's'] ?? 1000);
  if (ms < 1000 || ms > 3_600_000) throw new UsageError(`--duration ${raw}: between 1 s and 1 h`);
  return ms;
}

export const loadtestCommand: Command = {
  summary: 'WebSocket load on the gateway (N clients: push latency, memory per connection) and the fan-out benchmark',
  help: HELP,
  handlesHelp: true,
  async run(argv, ctx) {
    const sub = argv[0];
    if (sub === 'fanout') return fanout(argv.slice(1), ctx);
    if (sub !== 'ws') {
      if (sub === undefined || wantsHelp(argv)) {
        (sub === undefined ? process.stderr : process.stdout).write(OVERVIEW);
        return sub === undefined ? 2 : 0;
      }
      throw new UsageError(`unknown loadtest '${sub}': ws or fanout`);
    }
    if (wantsHelp(argv)) {
      process.stdout.write(HELP);
      return 0;
    }
    const { values, positionals } = parseFlagsAndArgs(argv, {
      clients: { type: 'string' }, duration: { type: 'string' }, rate: { type: 'string' }, url: { type: 'string' },
      concurrency: { type: 'string' }, drain: { type: 'string' }, 'server-pid': { type: 'string' }, json: { type: 'boolean', default: false },
    });
    if (positionals[0] !== 'ws' || positionals.length !== 1) throw new UsageError(`expected 'buddies loadtest ws ...'${positionals[0] ? `, got '${positionals.join(' ')}'` : ''}`);
    const clients = intFlag('clients', values.clients, undefined, 1, MAX_CLIENTS);
    const durationMs = duration(values.duration);
    const rate = intFlag('rate', values.rate, 1000, 1, 100_000);
    const concurrency = intFlag('concurrency', values.concurrency, 200, 1, 5000);
    const drainMs = intFlag('drain', values.drain, 10, 1, 600) * 1000;
    const serverPid = values['server-pid'] === undefined ? undefined : intFlag('server-pid', values['server-pid'], undefined, 1);
    const access = gatewayAccess(ctx.config, values.url);
    const log = (line: string) => process.stderr.write(`loadtest: ${line}\n`);

    const fd = ensureOpenFiles(clients + 512);
    if (fd) throw new InputError(fd);
    if (!(await gatewayReachable(access.httpUrl))) {
      throw new InputError(`no gateway answers at ${access.httpUrl}/healthz: start one with 'buddies gateway' (same BUDDIES_TOPIC_PREFIX), or pass --url`);
    }
    const { kafka, serde, topics } = await connectStreams(ctx.config, { role: 'loadtest', keys: ['recommendations'] });
    await requireTopics(kafka, topics, ['recommendations']);
    const producer = createTypedProducer({ kafka, serde });
    await producer.connect();
    log(`${clients} clients → ${access.url}, then ${rate} lists/s to ${topics.name('recommendations')} for ${durationMs / 1000} s`);
    let r: WsLoadResult | typeof INTERRUPTED;
    try {
      r = await runInterruptible(log, 'closing the connections', (err) => err instanceof LoadAborted, (signal) => runWsLoad({
        url: access.url, clients, durationMs, rate, token: (u) => access.token(u), producer, connectConcurrency: concurrency, drainMs, serverPid, metricsUrl: `${access.httpUrl}/metrics`, log, signal,
      }));
    } finally {
      await producer.disconnect();
    }
    if (r === INTERRUPTED) return 130;
    if (r.connected === 0) throw new InputError(`no client could connect to ${access.url} (${Object.entries(r.connectErrors).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      process.stdout.write(`${wsLoadTable([{ system: 'gateway', r }])}\n`);
      const p = r.serverPush;
      if (p) process.stdout.write(`the gateway's own view (its /metrics): ${p.count} pushes, p50 ≤ ${p.p50LeMs} ms, p99 ≤ ${p.p99LeMs} ms (Kafka write → socket), ${(100 * p.under100ms).toFixed(1)}% under 100 ms, ${p.coalesced} coalesced; event-loop delay p99 ${p.loopDelayP99Ms.toFixed(0)} ms, max ${p.loopDelayMaxMs.toFixed(0)} ms; ${p.gcSeconds.toFixed(2)} s in GC\n`);
      if (r.serverPid === undefined) process.stdout.write('(the gateway process was not found on this machine: no server memory or CPU; pass --server-pid)\n');
    }
    return r.foreignLists > 0 ? 1 : 0;
  },
};

async function fanout(argv: string[], ctx: CommandContext): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(FANOUT_HELP);
    return 0;
  }
  const values = parseFlags(argv, {
    clients: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' }, systems: { type: 'string' },
    concurrency: { type: 'string' }, json: { type: 'boolean', default: false }, out: { type: 'string' },
  });
  const clients = intFlag('clients', values.clients, 10_000, 1, MAX_CLIENTS);
  const seconds = intFlag('seconds', values.seconds, 30, 1, 3600);
  const rate = intFlag('rate', values.rate, 1000, 1, 100_000);
  const concurrency = intFlag('concurrency', values.concurrency, 200, 1, 5000);
  const systems = choiceListFlag('systems', values.systems, ['gateway', 'reference'] as const, ['gateway', 'reference']);
  const fd = ensureOpenFiles(clients + 512);
  if (fd) throw new InputError(fd);
  const log = (line: string) => process.stderr.write(`[loadtest fanout] ${line}\n`);
  if (values.out) await makeDirs(dirname(values.out), 'choose a writable path for --out'); // before minutes of work
  const opts = { config: ctx.config, clients, seconds, rate, concurrency, systems, log };
  const r = await runInterruptible(log, "the servers, connections and topics of this run", (err) => err instanceof LoadAborted, (signal) => benchmarkWsFanout({ ...opts, signal }));
  if (r === INTERRUPTED) return 130;
  if (values.out) {
    await writeFile(values.out, wsFanoutMarkdown(r, opts, `buddies loadtest fanout ${argv.join(' ')}`.trim())).catch((err: unknown) => {
      throw new InputError(`--out ${values.out}: ${err instanceof Error ? err.message : String(err)}`);
    });
    log(`wrote ${values.out}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${wsFanoutTable(r)}\n`);
  return r.runs.some((x) => x.r.foreignLists > 0) ? 1 : 0;
}
