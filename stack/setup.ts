import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuddiesConfig } from '../config/index.js';
import { APICURIO_VERSION, CLICKHOUSE_BINARIES, KAFKA_VERSION, stackPaths } from './services.js';

/** A prerequisite that cannot be installed here: the message says exactly what to do. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export interface SetupResult {
  readonly clickhouseBinary: string | undefined;
  readonly installed: readonly string[];
}

type Log = (line: string) => void;

function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): { ok: boolean; out: string } {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', env: opts.env ?? process.env, stdio: opts.quiet === false ? 'inherit' : 'pipe' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function which(cmd: string): string | undefined {
  if (cmd.startsWith('/')) return existsSync(cmd) ? cmd : undefined;
  const r = run('bash', ['-c', `command -v ${cmd}`]);
  return r.ok ? r.out.trim() : undefined;
}

/** Major version of `java` on PATH, or undefined. */
export function javaMajor(): number | undefined {
  const r = run('java', ['-version']);
  if (!r.ok) return undefined;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.out);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major;
}

/** Debian/Ubuntu packages for what is missing; apt-get only when root on such a system. */
function aptInstall(packages: readonly string[], log: Log): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = which('apt-get') !== undefined;
  const hint = `sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`;
  if (!hasApt) {
    throw new SetupError(`missing: ${packages.join(', ')}. This is not a Debian/Ubuntu system: install JDK 17+, Maven 3.8+ and ClickHouse server yourself, or point KAFKA_BROKERS / SCHEMA_REGISTRY_URL / CLICKHOUSE_URL at running services.`);
  }
  if (!isRoot) throw new SetupError(`missing: ${packages.join(', ')}. Run: ${hint}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`setup: apt-get install ${packages.join(' ')}`);
  if (!run('apt-get', ['update', '-qq'], { env }).ok) throw new SetupError(`apt-get update failed. Run: ${hint}`);
  const r = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  if (!r.ok) throw new SetupError(`apt-get install failed:\n${r.out.slice(-2000)}\nRun: ${hint}`);
}

export function findClickhouseBinary(): string | undefined {
  for (const b of CLICKHOUSE_BINARIES) {
    const found = which(b);
    if (found) return found;
  }
  return undefined;
}

/**
 * Installs what the local stack needs and is missing (JDK 17, Maven, clickhouse-server through apt;
 * Kafka jars and Apicurio Registry's bundle from Maven Central into the stack folder). Idempotent:
 * a second call finds everything and does nothing.
 */
export function setupStack(cfg: BuddiesConfig, log: Log): SetupResult {
  const p = stackPaths(cfg);
  const needJava = !cfg.kafka.external || !cfg.registry.external;
  const needClickhouse = !cfg.clickhouse.external;
  const missing: string[] = [];
  if (needJava) {
    const major = javaMajor();
    if (major === undefined || major < 17) missing.push('openjdk-17-jre-headless');
    if (!which('mvn')) missing.push('maven');
  }
  if (needClickhouse && !findClickhouseBinary()) missing.push('clickhouse-server', 'clickhouse-client');
  if (missing.length > 0) aptInstall(missing, log);
  if (missing.includes('clickhouse-server')) {
    // The package may start a system-wide server on 8123/9000 where init systems allow it; the stack runs
    // its own, so stop the one this setup just installed (best effort: absent where nothing was started).
    run('bash', ['-c', 'systemctl stop clickhouse-server 2>/dev/null || service clickhouse-server stop 2>/dev/null || true']);
  }

  if (needJava) {
    mkdirSync(p.root, { recursive: true });
    const pom = join(cfg.rootDir, 'stack', 'pom.xml');
    const mvn = (args: string[]) => {
      const r = run('mvn', ['-q', '-B', '-f', pom, `-Dkafka.version=${KAFKA_VERSION}`, `-Dapicurio.version=${APICURIO_VERSION}`, `-Dstack.dir=${p.root}`, ...args]);
      if (!r.ok) throw new SetupError(`Maven could not resolve the stack's artifacts from Maven Central:\n${r.out.slice(-3000)}`);
    };
    const kafkaMark = join(p.kafkaLibs, '.complete');
    if (!cfg.kafka.external && !(existsSync(kafkaMark) && readFileSync(kafkaMark, 'utf8').trim() === KAFKA_VERSION)) {
      log(`setup: resolving Apache Kafka ${KAFKA_VERSION} from Maven Central into ${p.kafkaLibs}`);
      mvn(['dependency:copy-dependencies', `-DoutputDirectory=${p.kafkaLibs}`, '-DincludeScope=runtime']);
      writeFileSync(kafkaMark, `${KAFKA_VERSION}\n`);
    }
    if (!cfg.registry.external && !existsSync(p.registryJar)) {
      log(`setup: downloading Apicurio Registry ${APICURIO_VERSION} from Maven Central`);
      mvn(['dependency:copy@registry']);
      const tarball = join(p.downloads, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
      mkdirSync(join(p.registryHome, 'app'), { recursive: true });
      const r = run('tar', ['-xzf', tarball, '-C', join(p.registryHome, 'app')]);
      if (!r.ok || !existsSync(p.registryJar)) throw new SetupError(`could not unpack ${tarball}: ${r.out}`);
    }
  }
  return { clickhouseBinary: needClickhouse ? findClickhouseBinary() : undefined, installed: missing };
}
