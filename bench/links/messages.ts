/** What bench/links's child processes tell the orchestrator over IPC. */
export type LinkChildMessage =
  { type: 'ready'; port?: number } | { type: 'result'; result: LinkResult };

/** One viewer's account of its measurement window. */
export interface LinkResult {
  label: string;
  /** Frames received per second, per plane (xy, xz, yz). */
  perPlaneHz: [number, number, number];
  /** Publication (gateway acceptance) → arrival at the viewer, ms, of every frame in the window. */
  ages: number[];
  /** Bytes the proxy forwarded to the viewer during the window (server → client). */
  wireBytes: number;
  /** Frames received by level of detail (0 full resolution … 3 ⅛). */
  byLevel: [number, number, number, number];
  /** The gateway's own account of the link, the last one received. */
  estimateBytesPerSecond: number | null;
  disconnected: string | null;
}

/** Orchestrator → viewer: the window to measure, then report. */
export type LinkParentMessage = { type: 'measure'; from: number; to: number } | { type: 'report' };
