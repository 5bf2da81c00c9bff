import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type AngleSet, backproject, type GridTask } from './backproject';
import type { WorkerReply, WorkerRequest } from './backprojectWorker';
import type { FilteredStore } from './FilteredStore';

interface Job {
  id: number;
  request: Extract<WorkerRequest, { type: 'task' }>;
  resolve: (r: { out: Float32Array; updates: number }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

const BOOTSTRAP_URL = new URL('./workerBootstrap.mjs', import.meta.url);
const WORKER_URL = new URL('./backprojectWorker.ts', import.meta.url);

/**
 * A fixed set of worker threads doing back-projection over shared filtered-projection stores.
 * `size` 0 runs everything on the calling thread (tests, tiny jobs). Each worker takes one job at a
 * time from a FIFO queue, so a slice split in `size` chunks keeps every core busy.
 */
export class BackprojectionPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly stores = new Map<number, FilteredStore>();
  private nextJob = 1;
  private closed = false;
  /** Voxel-angle updates done since construction. */
  updates = 0;

  constructor(size: number = availableParallelism()) {
    this.size = size;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  attach(store: FilteredStore): void {
    this.stores.set(store.id, store);
    for (const slot of this.slots)
      this.post(slot.worker, {
        type: 'store',
        id: store.id,
        buffer: store.buffer,
        layout: store.layout,
      });
  }

  detach(store: FilteredStore): void {
    this.stores.delete(store.id);
    for (const slot of this.slots) this.post(slot.worker, { type: 'drop', id: store.id });
  }

  /**
   * Back-projects the whole task, split into chunks of lines across the workers; resolves with the
   * output [depth][rows][cols].
   */
  async reconstruct(
    store: FilteredStore,
    angles: AngleSet,
    task: GridTask,
    chunks = Math.max(1, this.size),
  ): Promise<Float32Array> {
    const lines = task.depth * task.rows;
    const out = new Float32Array(lines * task.cols);
    if (this.size === 0) {
      this.updates += backproject(store.data, store.layout, angles, task, out);
      return out;
    }
    if (!this.stores.has(store.id)) this.attach(store);
    const n = Math.min(chunks, lines);
    const parts: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const from = Math.floor((i * lines) / n);
      const to = Math.floor(((i + 1) * lines) / n);
      parts.push(
        this.submit({ type: 'task', id: 0, store: store.id, angles, task, from, to }).then(
          ({ out: part, updates }) => {
            out.set(part, from * task.cols);
            this.updates += updates;
          },
        ),
      );
    }
    await Promise.all(parts);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('pool closed'));
    for (const slot of this.slots) slot.job?.reject(new Error('pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private submit(
    request: Extract<WorkerRequest, { type: 'task' }>,
  ): Promise<{ out: Float32Array; updates: number }> {
    if (this.closed) return Promise.reject(new Error('pool closed'));
    return new Promise((resolve, reject) => {
      const id = this.nextJob++;
      this.queue.push({ id, request: { ...request, id }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      this.post(slot.worker, job.request);
    }
  }

  private post(worker: Worker, message: WorkerRequest): void {
    worker.postMessage(message);
  }

  private spawn(): Slot {
    const worker = new Worker(BOOTSTRAP_URL, { workerData: { entry: WORKER_URL.href } });
    const slot: Slot = { worker, job: null };
    worker.on('message', (reply: WorkerReply) => {
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      slot.job = null;
      if (reply.type === 'done') job.resolve({ out: reply.out, updates: reply.updates });
      else job.reject(new Error(`back-projection failed: ${reply.message}`));
      this.pump();
    });
    // A crashed worker fails its job and is replaced, with every store re-attached.
    worker.on('error', (error) => {
      slot.job?.reject(error);
      slot.job = null;
      if (this.closed) return;
      const index = this.slots.indexOf(slot);
      const fresh = this.spawn();
      this.slots[index] = fresh;
      for (const store of this.stores.values())
        this.post(fresh.worker, {
          type: 'store',
          id: store.id,
          buffer: store.buffer,
          layout: store.layout,
        });
      this.pump();
    });
    return slot;
  }
}
