import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandRecord, SystemSnapshot, WaitEstimate } from '@/lib/protocol';

/** Stream kinds as labels: the protocol's four names, anything else (a malformed header) is 'unknown'. */
const STREAMS = new Set(['xy', 'xz', 'yz', 'volume']);
export function streamLabel(stream: unknown): string {
  return typeof stream === 'string' && STREAMS.has(stream) ? stream : 'unknown';
}

/** What the gateway lets the metrics read at scrape time (no work on the hot path for these). */
export interface MetricsSources {
  connections(): { viewer: number; producer: number };
  /** Frames sent and not yet acknowledged, one entry per connected viewer. */
  inFlightPerViewer(): number[];
  facilities?(): SystemSnapshot[];
  /** Wait estimates of the default reconstruction job (DEFAULT_RECON_JOB), one per system. */
  waitEstimates?(): WaitEstimate[];
  now?(): number;
}

/**
 * Loupe's Prometheus metrics, one registry per gateway (tests run several gateways in one process).
 * Hot-path calls only increment counters or observe a histogram; gauges are computed at scrape.
 * Labels are bounded: stream kind, role, command kind and state, system id.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;

  readonly framesReceived = new Counter({
    name: 'loupe_frames_received_total',
    help: 'Frames accepted from producers',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly framesRejected = new Counter({
    name: 'loupe_frames_rejected_total',
    help: 'Frames refused from producers (malformed, out of sequence, unknown or foreign run)',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'loupe_frame_received_bytes_total',
    help: 'Pixel bytes of accepted frames',
    registers: [this.registry],
  });
  readonly framesSent = new Counter({
    name: 'loupe_frames_sent_total',
    help: 'Frames handed to viewer sockets',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly framesReplaced = new Counter({
    name: 'loupe_frames_replaced_total',
    help: 'Frames never sent to a viewer because a newer frame of the same slot replaced them',
    labelNames: ['stream'] as const,
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: 'loupe_frame_sent_bytes_total',
    help: 'Pixel bytes handed to viewer sockets',
    registers: [this.registry],
  });
  readonly publishToAck = new Histogram({
    name: 'loupe_frame_publish_to_ack_seconds',
    help: 'From a frame accepted by the gateway to its acknowledgement by a viewer',
    labelNames: ['stream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly facilityPoll = new Histogram({
    name: 'loupe_facility_poll_duration_seconds',
    help: 'Duration of one facility source poll, by source and outcome',
    labelNames: ['source', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'loupe_commands_total',
    help: 'Steering commands by kind and state reached (pending, then their outcome)',
    labelNames: ['kind', 'state'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client calls collect() with the gauge as `this`; the sources are read through a getter.
    const sources = (): MetricsSources | null => this.sources;
    new Gauge({
      name: 'loupe_connections',
      help: 'Open Socket.IO connections by role',
      labelNames: ['role'] as const,
      registers: [this.registry],
      collect() {
        const c = sources()?.connections() ?? { viewer: 0, producer: 0 };
        this.set({ role: 'viewer' }, c.viewer);
        this.set({ role: 'producer' }, c.producer);
      },
    });
    new Gauge({
      name: 'loupe_frames_in_flight',
      help: 'Frames sent to viewers and not yet acknowledged, summed over viewers',
      registers: [this.registry],
      collect() {
        this.set((sources()?.inFlightPerViewer() ?? []).reduce((a, b) => a + b, 0));
      },
    });
    new Gauge({
      name: 'loupe_viewer_frames_in_flight_max',
      help: 'Most frames unacknowledged by any one viewer',
      registers: [this.registry],
      collect() {
        this.set(Math.max(0, ...(sources()?.inFlightPerViewer() ?? [])));
      },
    });
    new Gauge({
      name: 'loupe_facility_reading_age_seconds',
      help: 'Age of the reading behind each system snapshot',
      labelNames: ['system'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = sources()?.now?.() ?? Date.now();
        for (const s of sources()?.facilities?.() ?? [])
          this.set({ system: s.system }, Math.max(0, (now - s.readAt) / 1000));
      },
    });
    new Gauge({
      // Prometheus wants base units: node-seconds (node-hours × 3600), so promtool's lint passes.
      name: 'loupe_facility_queued_node_seconds',
      help: 'Queued work per system (node-seconds: node-hours x 3600), the input of the wait estimates',
      labelNames: ['system'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of sources()?.facilities?.() ?? [])
          if (s.queue.queuedNodeHours !== null)
            this.set({ system: s.system }, s.queue.queuedNodeHours * 3600);
      },
    });
    // Both wait gauges read one set of estimates per scrape (prom-client collects them in turn).
    let estimates: { at: number; list: WaitEstimate[] } | null = null;
    const waits = (): WaitEstimate[] => {
      const at = Date.now();
      if (!estimates || at - estimates.at > 1000)
        estimates = { at, list: sources()?.waitEstimates?.() ?? [] };
      return estimates.list;
    };
    // A median/bound pair, not a `quantile` label: promtool reserves that label for summaries.
    new Gauge({
      name: 'loupe_facility_wait_median_seconds',
      help: 'Median predicted queue wait of the default reconstruction job (8 nodes, 1 h) per system',
      labelNames: ['system'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const e of waits()) if (e.method !== 'none') this.set({ system: e.system }, e.median);
      },
    });
    new Gauge({
      name: 'loupe_facility_wait_bound95_seconds',
      help: 'Upper bound (95%) on the queue wait of the default reconstruction job per system, when measured',
      labelNames: ['system'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        // A placeholder bound (too few observations) is no estimate: left out, not guessed.
        for (const e of waits())
          if (e.method !== 'none' && !e.placeholderBound) this.set({ system: e.system }, e.bound95);
      },
    });
    new Gauge({
      name: 'loupe_facility_wait_observations',
      help: 'Observed waits behind the wait estimate of each system',
      labelNames: ['system'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const e of waits()) this.set({ system: e.system }, e.observations);
      },
    });
  }

  /** Called once by the gateway when what the gauges read exists. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  frameReceived(stream: string, bytes: number): void {
    this.framesReceived.inc({ stream: streamLabel(stream) });
    this.bytesReceived.inc(bytes);
  }

  frameRejected(stream: unknown): void {
    this.framesRejected.inc({ stream: streamLabel(stream) });
  }

  frameSent(stream: string, bytes: number): void {
    this.framesSent.inc({ stream: streamLabel(stream) });
    this.bytesSent.inc(bytes);
  }

  frameReplaced(stream: string): void {
    this.framesReplaced.inc({ stream: streamLabel(stream) });
  }

  /** A viewer acknowledged a frame the gateway accepted at `acceptedAt` (ms). */
  frameAcknowledged(stream: string, acceptedAt: number, now: number): void {
    this.publishToAck.observe(
      { stream: streamLabel(stream) },
      Math.max(0, now - acceptedAt) / 1000,
    );
  }

  facilityPolled(source: string, seconds: number, ok: boolean): void {
    this.facilityPoll.observe({ source, outcome: ok ? 'success' : 'failure' }, seconds);
  }

  commandState(command: Pick<CommandRecord, 'kind' | 'state'>): void {
    this.commands.inc({ kind: command.kind, state: command.state });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The scrape token from LOUPE_METRICS_TOKEN_FILE (trimmed), or null: then /metrics is not served. */
export function metricsTokenFromFile(path: string | undefined): string | null {
  if (!path) return null;
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 16)
    throw new Error(`${path}: the metrics token must be at least 16 characters`);
  return token;
}

/**
 * GET /metrics with `Authorization: Bearer <token>`. Secure by default: without a configured token
 * the route answers 404 like any unknown path; a missing or wrong token gets 401 and no data.
 */
export function metricsRoute(
  app: FastifyInstance,
  metrics: GatewayMetrics,
  token: string | null,
): void {
  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
  app.get('/metrics', { config: { public: true } }, async (request, reply) => {
    if (!expected) return reply.code(404).send({ error: 'not found' });
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'a valid scrape token is required' });
    return reply.type(metrics.registry.contentType).send(await metrics.text());
  });
}
