import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import {
  APICURIO_VERSION, KAFKA_VERSION, SECURE_PORT_OFFSET, formatStatus, secureServices, secureStackDown, secureStackStatus, secureStackUp, stackDown, stackServices, stackStatus, stackUp,
  type ServiceName,
} from '../stack/index.js';
import { UsageError, type Command } from './command.js';
import { parseFlagsAndArgs } from './flags.js';
import { makeDirs } from './dirs.js';

const HELP = `usage: buddies stack <up|down|status|logs|setup> [service...] [options]

Runs the local stack: Apache Kafka ${KAFKA_VERSION} (KRaft, single node), Apicurio Registry ${APICURIO_VERSION} (Confluent API at
/apis/ccompat/v7) and ClickHouse, with data, logs and pid files under .stack/ (BUDDIES_STACK_DIR).
Services named by KAFKA_BROKERS, SCHEMA_REGISTRY_URL or CLICKHOUSE_URL are external: checked, never started.

  up       install what is missing (apt, Maven Central), start what is not running, wait until each answers
           (idempotent: a second run changes nothing)
  down     stop what 'up' started
  status   each service, its health (up, starting, down), pid and address; exit 1 unless all are up
  logs     the last lines of each service's log      [-n LINES] [--follow]
  setup    only install and download (no start)

services: kafka, clickhouse, registry (default: all)

  --secure   act on the secure stack instead (up, down, status, logs): beside the default one, under .stack/secure/ and on
             the default ports + ${SECURE_PORT_OFFSET} (Kafka 9192, ClickHouse 8223). Kafka has only a TLS + SCRAM-SHA-512 listener and
             the standard authorizer; one SCRAM user per service (processors, trainer, gateway, importer, simulator)
             with ACLs on its own topics and groups; ClickHouse has a writer with a password and a read-only analyst.
             Certificates and passwords are generated once into files (mode 600); their paths are printed, never
             the passwords. 'up' also creates the topics, the ACLs, the warehouse schema and the analyst's tables,
             and writes .stack/secure/env/<service>.env (run a service: env $(cat FILE) buddies ...).
             The schema registry is the default stack's. See docs/security.md.
`;

const SERVICES: readonly ServiceName[] = ['kafka', 'clickhouse', 'registry'];

function pickServices(names: string[]): ServiceName[] | undefined {
  if (names.length === 0) return undefined;
  for (const n of names) if (!SERVICES.includes(n as ServiceName)) throw new UsageError(`unknown service '${n}' (expected ${SERVICES.join(', ')})`);
  return names as ServiceName[];
}

export const stackCommand: Command = {
  summary: 'run the local Kafka, schema registry and ClickHouse (up, down, status, logs)',
  help: HELP,
  async run(argv, ctx) {
    const { values, positionals } = parseFlagsAndArgs(argv, {
      n: { type: 'string', short: 'n', default: '40' }, follow: { type: 'boolean', short: 'f', default: false }, secure: { type: 'boolean', default: false },
    });
    const [action, ...rest] = positionals;
    const only = pickServices(rest);
    const cfg = ctx.config;
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (action === 'up') await makeDirs(cfg.stackDir, 'set BUDDIES_STACK_DIR to a writable folder');
    if (values.secure && action !== 'logs') {
      if (only) throw new UsageError('--secure acts on the whole secure stack: name no services');
      switch (action) {
        case 'up': {
          const info = await secureStackUp(cfg, log);
          process.stdout.write(`${formatStatus(info.services)}\n`);
          process.stdout.write(`CA certificate: ${info.caFile}\npassword files (mode 600): ${info.passwordFiles.join(' ')}\n`);
          for (const [user, file] of info.envFiles) process.stdout.write(`${user.padEnd(10)} env $(cat ${file}) buddies ...\n`);
          return 0;
        }
        case 'down':
          await secureStackDown(cfg, log);
          return 0;
        case 'status': {
          const rows = await secureStackStatus(cfg);
          process.stdout.write(`${formatStatus(rows)}\n`);
          return rows.every((r) => r.health === 'up') ? 0 : 1;
        }
        default:
          throw new UsageError(action === undefined ? 'missing action: up, down, status or logs' : `--secure works with up, down, status and logs, not '${action}'`);
      }
    }
    switch (action) {
      case 'up': {
        const rows = await stackUp(cfg, log, only);
        process.stdout.write(`${formatStatus(rows)}\n`);
        return 0;
      }
      case 'down':
        await stackDown(cfg, log, only);
        return 0;
      case 'status': {
        const rows = await stackStatus(cfg, only);
        process.stdout.write(`${formatStatus(rows)}\n`);
        return rows.every((r) => r.health === 'up') ? 0 : 1;
      }
      case 'setup': {
        const { setupStack } = await import('../stack/setup.js');
        setupStack(cfg, log);
        log('setup: everything the stack needs is installed');
        return 0;
      }
      case 'logs': {
        const lines = Number(values.n);
        if (!Number.isInteger(lines) || lines < 0) throw new UsageError(`-n ${values.n} is not a line count`);
        const files = (values.secure ? secureServices(cfg) : stackServices(cfg)).filter((s) => !only || only.includes(s.name)).filter((s) => !s.external).map((s) => s.logFile);
        if (values.follow) {
          const tail = spawn('tail', ['-n', String(lines), '-F', ...files], { stdio: 'inherit' });
          return new Promise((resolve) => tail.on('exit', (code) => resolve(code ?? 0)));
        }
        for (const f of files) {
          process.stdout.write(`==> ${f} <==\n`);
          if (existsSync(f)) {
            const all = readFileSync(f, 'utf8').split('\n');
            process.stdout.write(`${all.slice(Math.max(0, all.length - lines - 1)).join('\n')}\n`);
          } else process.stdout.write('(no log yet)\n');
        }
        return 0;
      }
      case undefined:
        throw new UsageError('missing action: up, down, status, logs or setup');
      default:
        throw new UsageError(`unknown action '${action}'`);
    }
  },
};
