// Worker threads do not take tsx's `--import` hook in Node 20, so each worker loads its TypeScript
// entry through tsx's API instead. workerData.entry is the entry's file URL.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
