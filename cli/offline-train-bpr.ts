import { resolve } from 'node:path';
import { createBpr } from '../models/bpr/index.js';
import { loadInteractionMatrix, resolveInteractionFile } from '../data/index.js';
import { codeVersion, hashFile, recordRun } from '../runs/index.js';
import { BPR_FLAGS, BPR_FLAGS_HELP, bprOptionsFromFlags, epochLogger, formatFlag } from './bpr-flags.js';
import { InputError, type Command } from './command.js';
import { intFlag, parseFlags, requiredFlag } from './flags.js';
import { RUNS_FLAG, RUNS_FLAG_HELP, runStoreFor } from './run-flags.js';
import { makeDirs } from './dirs.js';

const NAME = 'buddies offline train-bpr';

const HELP = `usage: ${NAME} --interactions FILE --format lastfm|triplets --factors F --epochs E --threads T --out DIR [options]

Trains BPR on the users × items interactions (implicit feedback: every pair counts once) and saves the model
to DIR: manifest.json (parameters, data hash, backend, seconds, metrics, code version), user_factors.f32 and
item_factors.f32 (little-endian float32, rows × stride), users.json and items.json (id maps).
Progress (epoch, samples/s, loss, training AUC estimate) goes to stderr; the run is recorded in --runs.

  --interactions FILE  Last.fm user_artists.dat (--format lastfm) or Taste Profile triplets (--format triplets)
  --format F           lastfm | triplets
  --out DIR            model folder (created)
  --checkpoint-every N also save DIR/checkpoints/epoch-NNNN every N epochs
  --warm-start DIR     start from a saved model (users and items matched by id)
${RUNS_FLAG_HELP}
${BPR_FLAGS_HELP}

Exit: 0 ok, 1 unreadable input or output, 2 bad flags.`;

export const offlineTrainBprCommand: Command = {
  summary: 'train BPR on an interactions file and save it with a manifest',
  help: HELP,
  async run(argv, ctx) {
    const v = parseFlags(argv, {
      interactions: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' },
      'checkpoint-every': { type: 'string' }, 'warm-start': { type: 'string' }, ...BPR_FLAGS, ...RUNS_FLAG,
    });
    const log = (m: string): void => void process.stderr.write(`[train-bpr] ${m}\n`);
    const path = requiredFlag('interactions', v.interactions);
    const format = formatFlag(v.format);
    const out = requiredFlag('out', v.out);
    const opts = bprOptionsFromFlags(v, log);
    const every = v['checkpoint-every'] === undefined ? undefined : intFlag('checkpoint-every', v['checkpoint-every'], undefined);
    const startedAt = new Date().toISOString();
    const [m, dataHash] = await Promise.all([loadInteractionMatrix(path, format, log), resolveInteractionFile(path, format).then(hashFile)]);
    const model = await createBpr(opts);
    let warmStart;
    if (v['warm-start']) {
      const prev = await createBpr({ ...opts, backend: 'cpu' });
      await prev.load(v['warm-start']).catch((err: unknown) => {
        throw new InputError(`--warm-start ${v['warm-start']}: ${err instanceof Error ? err.message : String(err)}`);
      });
      warmStart = prev.model;
    }
    const report = await model.fit(m, {
      onEpoch: epochLogger('train-bpr', model.options.epochs),
      ...(warmStart ? { warmStart } : {}),
      ...(every ? { checkpoint: { dir: resolve(out, 'checkpoints'), every } } : {}),
    });
    const last = report.epochs.at(-1);
    const metrics = {
      trainAuc: last?.auc ?? 0,
      trainLoss: last?.loss ?? 0,
      samplesPerSecond: report.epochs.reduce((s, e) => s + e.samples, 0) / Math.max(1e-9, report.epochs.reduce((s, e) => s + e.seconds, 0)),
    };
    const version = await codeVersion();
    try {
      await makeDirs(out, 'choose a writable path for --out');
      await model.save(out, {
        dataPath: path, dataFormat: format, dataHash, seconds: report.seconds, metrics, codeVersion: version ?? null,
        users: m.users.ids.length, items: m.items.ids.length, interactions: m.nnz, warmStart: v['warm-start'] ?? null,
      });
    } catch (err) {
      throw new InputError(`--out ${out}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const run = await recordRun(runStoreFor(v.runs, ctx.config), {
      kind: 'train', command: `offline train-bpr ${argv.join(' ')}`, startedAt, seconds: report.seconds,
      params: { ...model.options, format }, metrics, dataHash, dataPath: path, artifact: resolve(out), backend: model.backend, codeVersion: version ?? null,
    });
    log(`saved ${out} (backend ${model.backend}, ${report.seconds.toFixed(1)}s, train AUC≈${metrics.trainAuc.toFixed(4)}); run ${run.id}`);
    return 0;
  },
};
