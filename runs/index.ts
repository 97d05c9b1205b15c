export { createJsonlRunStore, createMemoryRunStore, newRunId, RunStoreError } from './store.js';
export type { NewRun, RunListFilter, RunRecord, RunStore } from './store.js';
export { codeVersion, hashFile } from './provenance.js';
export { recordRun } from './record.js';
