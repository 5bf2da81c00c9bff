/** What the soak's child processes and the orchestrator tell each other over IPC. */

/** A gateway (or baseline server) process, once a second. */
export interface ServerSample {
  at: number;
  rss: number;
  heapUsed: number;
  fds: number;
  /** Event-loop delay over the last second, ms (Loupe gateway only; NaN for the baseline). */
  lagP50: number;
  lagP99: number;
  lagMax: number;
  /** CPU time used over the last second, as a share of one core. */
  cpu: number;
  /** Viewer sockets connected now. */
  viewers: number;
}

/** A viewer swarm process's account, periodic and final. */
export interface SwarmReport {
  connected: number;
  received: number;
  receivedBytes: number;
  /** Accounting samples checked, and those that did not add up (first few described). */
  samples: number;
  violations: number;
  violationExamples: string[];
  older: number;
  missed: number;
  /** Disconnects the viewers did not ask for, with reasons. */
  disconnects: { reason: string; count: number }[];
  /** publish → receive latency since the previous report, sparse [ms, count]. */
  latency: [number, number][];
  /** Gateway counters summed over the swarm's viewers (latest sample of each). */
  counters: {
    produced: number;
    delivered: number;
    replaced: number;
    rejected: number;
    pending: number;
  };
}

export type ToParent =
  | { type: 'ready'; port?: number; connected?: number }
  | { type: 'server'; sample: ServerSample }
  | { type: 'swarm'; report: SwarmReport; final: boolean };

export type ToChild = { type: 'report' } | { type: 'stop' };
