import { codeVersion } from './provenance.js';
import type { NewRun, RunRecord, RunStore } from './store.js';

/**
 * Records a finished run in `store`: the one way commands record runs. `seconds` defaults to the time since
 * `startedAt`, `codeVersion` to the git commit of the working directory (left out outside a checkout).
 */
export async function recordRun(store: RunStore, run: Omit<NewRun, 'seconds' | 'codeVersion'> & { readonly seconds?: number; readonly codeVersion?: string | null }): Promise<RunRecord> {
  const version = run.codeVersion === undefined ? await codeVersion() : (run.codeVersion ?? undefined);
  const { codeVersion: _given, ...rest } = run;
  return store.record({
    ...rest,
    seconds: run.seconds ?? (Date.now() - Date.parse(run.startedAt)) / 1000,
    ...(version ? { codeVersion: version } : {}),
  });
}
