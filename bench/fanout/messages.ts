/** What the bench's child processes tell the orchestrator over IPC. */
export type ChildMessage =
  | { type: 'ready'; port?: number }
  | { type: 'rss'; rss: number }
  | { type: 'result'; result: ViewerResult };

/** One viewer's account of the measurement window. */
export interface ViewerResult {
  id: number;
  stalled: boolean;
  frames: number;
  bytes: number;
  /** Publish → receive, ms, per frame received in the window. */
  latencies: number[];
  /** Frames received after resuming from the stall, and the age of the oldest of them (ms). */
  afterResume: number;
  oldestAfterResume: number;
  /** Of those, frames more than a second old: what the viewer had to wade through first. */
  staleAfterResume: number;
  disconnected: string | null;
  /** First and last frame arrival in the window, ms epoch. */
  first: number;
  last: number;
}

/** Orchestrator → viewer: measurement window boundaries, resume, report. */
export type ParentMessage =
  { type: 'measure'; from: number; to: number } | { type: 'resumed' } | { type: 'report' };

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))
  ]!;
}
