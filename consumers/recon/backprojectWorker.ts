import { parentPort } from 'node:worker_threads';
import { type AngleSet, backproject, type GridTask, type StoreLayout } from './backproject';

/** Messages the pool sends; see BackprojectionPool. */
export type WorkerRequest =
  | { type: 'store'; id: number; buffer: SharedArrayBuffer; layout: StoreLayout }
  | { type: 'drop'; id: number }
  | {
      type: 'task';
      id: number;
      store: number;
      angles: AngleSet;
      task: GridTask;
      from: number;
      to: number;
    };

export type WorkerReply =
  | { type: 'done'; id: number; out: Float32Array; updates: number }
  | { type: 'failed'; id: number; message: string };

const stores = new Map<number, { data: Float32Array; layout: StoreLayout }>();
const port = parentPort;
if (!port) throw new Error('backprojectWorker runs as a worker thread');

port.on('message', (message: WorkerRequest) => {
  switch (message.type) {
    case 'store':
      stores.set(message.id, { data: new Float32Array(message.buffer), layout: message.layout });
      return;
    case 'drop':
      stores.delete(message.id);
      return;
    case 'task': {
      const store = stores.get(message.store);
      if (!store) {
        port.postMessage({
          type: 'failed',
          id: message.id,
          message: `unknown store ${message.store}`,
        } satisfies WorkerReply);
        return;
      }
      try {
        const out = new Float32Array((message.to - message.from) * message.task.cols);
        const updates = backproject(
          store.data,
          store.layout,
          message.angles,
          message.task,
          out,
          message.from,
          message.to,
        );
        port.postMessage({ type: 'done', id: message.id, out, updates } satisfies WorkerReply, [
          out.buffer,
        ]);
      } catch (error) {
        port.postMessage({
          type: 'failed',
          id: message.id,
          message: String((error as Error)?.stack ?? error),
        } satisfies WorkerReply);
      }
    }
  }
});
