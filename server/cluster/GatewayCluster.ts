import { createAdapter } from '@socket.io/postgres-adapter';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { z } from 'zod';
import {
  CommandRequest,
  type RunElsewhere,
  type RunSummary,
  SubscribeRequest,
} from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import { authorize } from '@/lib/policy';
import type { RunRegistry } from '../streams/RunRegistry';
import type { ViewerNamespace } from '../streams/viewerNamespace';
import type { GatewayAddress, OwnershipStore, RunOwner } from './OwnershipStore';
import type { RunRouter } from './HaproxyRuntime';
import { runOfRoom } from '../streams/rooms';
import { OwnedRuns, RunMirror } from './RunMirror';
import { REQUEST_ID_HEADER } from '../http/requestId';

export interface GatewayClusterOptions {
  /** This gateway's id and the URL the other gateways reach it at. */
  self: GatewayAddress;
  store: OwnershipStore;
  /** Carries the Socket.IO adapter (control events only: docs/cluster.md). */
  pool: Pool;
  /** Lease length, ms; renewed every third of it. A dead owner's runs are free after at most this. */
  leaseTtlMs?: number;
  /** Where to report what fails (the store or the adapter unreachable); the gateway keeps serving. */
  onError?: (error: Error, what: string) => void;
  /** Called by `close()` once the gateway no longer needs the pool (e.g. `pool.end()`). */
  onClosed?: () => Promise<void>;
  /**
   * Route by lease: told of every run this gateway takes or gives up, so the load balancer sends
   * the run's viewers here (HaproxyRuntime). Without it they follow the balancer's hash.
   */
  router?: RunRouter;
}

/** Every this many lease rounds the routes of all held runs are written again (a restarted balancer). */
const ROUTE_RESYNC_ROUNDS = 5;

/** The owner's answer's command id, for the forwarding gateway's log line (none if it has none). */
function commandIdOf(text: string): { commandId?: string } {
  try {
    const parsed = ForwardedAnswer.safeParse(JSON.parse(text));
    return parsed.success ? { commandId: parsed.data.command.id } : {};
  } catch {
    return {};
  }
}
const ForwardedAnswer = z.object({ command: z.object({ id: z.string().max(200) }) });

/** A forwarded request is never forwarded again (two gateways that disagree cannot ping-pong). */
export const FORWARDED_HEADER = 'x-loupe-forwarded-by';
/** Names the gateway that answered a forwarded request. */
export const SERVED_BY_HEADER = 'x-loupe-served-by';

const COMMANDS_PATH = /^\/api\/runs\/([^/?]+)\/commands(?:\?.*)?$/;
/** How long a forwarded command may take at its owner, ms: the owner waits for the consumer. */
const FORWARD_TIMEOUT_MS = 15_000;

/**
 * Makes a gateway one of several behind a load balancer (docs/cluster.md). Frames stay on the owner
 * (the gateway the run's producer is connected to); this class records that ownership with a lease,
 * tells a viewer that reached another gateway where the run is (`run:elsewhere`, never an empty
 * stream), forwards steering commands to the owner, and gives the viewer engine the Postgres adapter
 * so run updates, command states and facility snapshots reach every gateway's viewers.
 */
export class GatewayCluster {
  readonly self: GatewayAddress;
  private readonly store: OwnershipStore;
  private readonly ttlMs: number;
  private readonly onError: (error: Error, what: string) => void;
  private readonly pool: Pool;
  private readonly onClosed: () => Promise<void>;
  /** Runs this gateway holds the lease of. */
  private readonly held = new Set<string>();
  /** Viewer socket ids already told, per run, that the run is elsewhere (told once). */
  private readonly told = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | null = null;
  private registry: RunRegistry | null = null;
  private viewers: ViewerNamespace | null = null;
  private ticking: Promise<void> | null = null;
  /** The runs the other gateways own, as they last said (for the run lists served here). */
  private readonly mirror: RunMirror;
  private readonly router: RunRouter | null;
  /** The balancer updates, one after another and off the lease round (a slow balancer must not cost a lease). */
  private routing: Promise<void> = Promise.resolve();
  private routingQueued = 0;
  private rounds = 0;

  constructor(options: GatewayClusterOptions) {
    this.self = options.self;
    this.store = options.store;
    this.pool = options.pool;
    this.ttlMs = options.leaseTtlMs ?? 3000;
    this.onClosed = options.onClosed ?? (() => Promise.resolve());
    this.onError = options.onError ?? ((error, what) => console.error(`cluster: ${what}`, error));
    this.mirror = new RunMirror(this.self.id);
    this.router = options.router ?? null;
  }

  /**
   * The run list and run lookup this gateway serves (REST, the `runs` sent on connect): its own
   * runs plus those the other gateways own, so a viewer that reached a non-owner sees a run owned
   * elsewhere with its current state at once, not from the run's next broadcast change.
   */
  runs(registry: RunRegistry): { list(): RunSummary[]; get(id: string): RunSummary | undefined } {
    return {
      list: () => this.mirror.merge(registry.list()),
      get: (id) => {
        const local = registry.get(id);
        return local?.producerConnected ? local : (this.mirror.get(id) ?? local);
      },
    };
  }

  /** The viewer engine's adapter: small control events across gateways, never frames. */
  adapter(): ReturnType<typeof createAdapter> {
    return createAdapter(this.pool, {
      errorHandler: (error) => this.onError(error, 'socket.io adapter'),
    });
  }

  /**
   * REST: a command for a run owned by another gateway is forwarded there, with the caller's own
   * credential and idempotency key, so the owner's CommandService records and delivers it exactly
   * once whichever gateway it was posted to. Runs after authentication (this gateway refuses an
   * unauthenticated caller itself) and before the route.
   */
  installRoutes(app: FastifyInstance, registry: RunRegistry): void {
    app.addHook('preHandler', async (request, reply) => {
      if (request.method !== 'POST' || request.headers[FORWARDED_HEADER]) return;
      const match = COMMANDS_PATH.exec(request.url);
      if (!match) return;
      const run = decodeURIComponent(match[1]!);
      if (registry.producerOf(run) !== null) return;
      let owner: RunOwner | null;
      try {
        const lease = await this.store.ownerOf(run);
        // Nobody serves the run right now, between its owner's drain or death and its consumer's
        // registration elsewhere (a rolling restart, a failover: seconds). Accepted here, the
        // command would wait where its consumer may never come, and a gateway that started before
        // the run would not even know it (404); refused, the client retries with its key.
        // Only to a caller who may send this command at all: the others get the gateway's own
        // answer (400, 403) from the route, as they would from any gateway.
        if (
          !lease &&
          mayCommand(request.identity, request.body, run) &&
          (await this.store.knows(run))
        )
          return reply
            .code(503)
            .header('retry-after', '1')
            .send({
              error: `no gateway serves run ${run} right now (its consumer is moving to another); retry with the same Idempotency-Key`,
            });
        owner = lease && lease.gateway !== this.self.id ? lease : null;
      } catch (error) {
        // Without the store this gateway cannot tell who delivers the command: accepting it here
        // could leave it with no consumer, so it is refused, and the client retries with its key.
        this.onError(error as Error, `looking up the owner of ${run} for a command`);
        return reply.code(503).header('retry-after', '2').send({
          error: `the run ownership store is unreachable; retry with the same Idempotency-Key`,
        });
      }
      if (!owner) return;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        [FORWARDED_HEADER]: this.self.id,
        // The owner logs the command under the same request id as this gateway.
        [REQUEST_ID_HEADER]: request.id,
      };
      for (const name of ['authorization', 'idempotency-key'] as const) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      try {
        const answer = await fetch(new URL(request.url, owner.url), {
          method: 'POST',
          headers,
          body: JSON.stringify(request.body ?? {}),
          signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        });
        const replayed = answer.headers.get('idempotent-replayed');
        if (replayed) void reply.header('idempotent-replayed', replayed);
        const text = await answer.text();
        request.log.info(
          {
            event: 'command',
            ...commandIdOf(text),
            run,
            to: owner.gateway,
            status: answer.status,
          },
          'command forwarded',
        );
        return reply
          .code(answer.status)
          .header('content-type', answer.headers.get('content-type') ?? 'application/json')
          .header(SERVED_BY_HEADER, owner.gateway)
          .send(text);
      } catch (error) {
        // The command may or may not have reached the owner: the client retries with the same
        // idempotency key, which the owner answers from its record instead of sending it again.
        this.onError(error as Error, `forwarding a command for ${run} to ${owner.gateway}`);
        return reply.code(502).send({
          error: `run ${run} is served by gateway ${owner.gateway}, which did not answer; retry with the same Idempotency-Key`,
        });
      }
    });
  }

  /** Wires ownership to the gateway's runs and viewers; starts renewing leases. */
  attach(registry: RunRegistry, viewers: ViewerNamespace): void {
    this.registry = registry;
    this.viewers = viewers;
    // A producer registering here makes this gateway claim the run at once (not at the next tick).
    registry.on('registered', () => void this.tick());
    // Its runs' changes reach the other gateways' run lists at once; the round repeats them all.
    registry.on('run', (summary) => {
      if (this.held.has(summary.id))
        this.publish({ complete: false, released: [], runs: [summary] });
    });
    viewers.on('cluster:runs', (message) => {
      const parsed = OwnedRuns.safeParse(message);
      // This gateway's viewers get what changed (local: every gateway does the same for its own).
      if (parsed.success)
        for (const run of this.mirror.offer(parsed.data)) viewers.local.emit('run:update', run);
      else this.onError(new Error(parsed.error.issues[0]?.message), 'a malformed cluster:runs');
    });
    viewers.on('connection', (socket) => {
      // Before the fan-out's handler: a run served elsewhere is refused with where it is.
      socket.use((packet, next) => {
        const [event, body, reply] = packet as unknown[];
        if (event !== 'run:subscribe' || typeof reply !== 'function') return next();
        const request = SubscribeRequest.safeParse(body);
        if (!request.success || registry.producerOf(request.data.run) !== null) return next();
        void this.remoteOwner(request.data.run).then((owner) => {
          if (!owner) return next();
          const notice = this.elsewhere(request.data.run, owner);
          socket.emit('run:elsewhere', notice);
          (reply as (answer: { ok: false; error: string }) => void)({
            ok: false,
            error: notice.message,
          });
        });
      });
      socket.on('disconnect', () => {
        for (const set of this.told.values()) set.delete(socket.id);
      });
    });
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.ttlMs / 3)));
  }

  /** Runs whose lease this gateway holds now. */
  heldRuns(): string[] {
    return [...this.held];
  }

  /** Stops renewing and gives every lease up (a drain: the next owner need not wait for expiry). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await Promise.all(
      [...this.held].map((run) => this.store.release(run, this.self.id).catch(() => undefined)),
    );
    // The balancer forgets the routes here, so the run's next connections are hashed at once.
    for (const run of this.held) this.routeLater(run, 'unroute');
    await this.routing;
    this.publish({ complete: true, released: [...this.held], runs: [] });
    this.held.clear();
  }

  /** After the gateway closed (its adapter is done with the pool): releases and closes the store. */
  async close(): Promise<void> {
    await this.release();
    await this.store.close();
    await this.onClosed();
  }

  /**
   * One round: claim or renew every run whose producer is connected here, release those whose
   * producer left, and tell this gateway's viewers of runs now owned elsewhere where to go.
   */
  private tick(): Promise<void> {
    this.ticking ??= this.round()
      .catch((error: Error) => this.onError(error, 'lease round'))
      .finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async round(): Promise<void> {
    const registry = this.registry;
    if (!registry || !this.timer) return;
    const local = registry
      .list()
      .filter((r) => r.producerConnected)
      .map((r) => r.id);
    const before = new Set(this.held);
    const renewed = new Set(await this.store.renew([...this.held], this.self, this.ttlMs));
    for (const run of local) {
      if (renewed.has(run)) continue;
      // Not held yet (a producer just arrived), or lost: claim. A dead owner's lease must expire
      // first; meanwhile this gateway already serves the producer's frames to its own viewers.
      const owner = await this.store.claim(run, this.self, this.ttlMs);
      if (owner.gateway === this.self.id) renewed.add(run);
    }
    const released: string[] = [];
    for (const run of this.held) {
      if (local.includes(run)) continue;
      // The producer left: give the run up so the gateway it reconnects to takes it at once.
      await this.store.release(run, this.self.id);
      renewed.delete(run);
      released.push(run);
    }
    this.held.clear();
    for (const run of renewed) if (local.includes(run)) this.held.add(run);
    const resync = ++this.rounds % ROUTE_RESYNC_ROUNDS === 0 && this.routingQueued === 0;
    for (const run of this.held) if (resync || !before.has(run)) this.routeLater(run, 'route');
    for (const run of released) this.routeLater(run, 'unroute');
    const runs = [...this.held].map((id) => registry.get(id)).filter((r) => r !== undefined);
    this.publish({ complete: true, released, runs });
    await this.redirectViewers(registry);
  }

  /** Queues a balancer update; a failure is reported and healed by the next resync. */
  private routeLater(run: string, op: 'route' | 'unroute'): void {
    const router = this.router;
    if (!router) return;
    this.routingQueued++;
    this.routing = this.routing
      .then(() => router[op](run, this.self.id))
      .catch((error: Error) =>
        this.onError(
          error,
          `${op === 'route' ? 'routing' : 'unrouting'} ${run} at the load balancer`,
        ),
      )
      .finally(() => this.routingQueued--);
  }

  /** Tells the other gateways which runs this one owns (through the adapter; lost while it is down). */
  private publish(message: Omit<OwnedRuns, 'gateway' | 'ttlMs'>): void {
    const full: OwnedRuns = { gateway: this.self.id, ttlMs: this.ttlMs, ...message };
    try {
      this.viewers?.serverSideEmit('cluster:runs', full);
    } catch (error) {
      this.onError(error as Error, 'publishing the runs owned here');
    }
  }

  /** Viewers here following a run whose producer is connected to another gateway are told so. */
  private async redirectViewers(registry: RunRegistry): Promise<void> {
    const viewers = this.viewers;
    if (!viewers) return;
    for (const [room, members] of viewers.adapter.rooms) {
      const run = runOfRoom(room);
      if (run === null) continue;
      if (registry.producerOf(run) !== null) {
        this.told.delete(run);
        continue;
      }
      const owner = await this.remoteOwner(run);
      if (!owner) continue;
      let told = this.told.get(run);
      if (!told) this.told.set(run, (told = new Set()));
      const notice = this.elsewhere(run, owner);
      for (const id of members) {
        if (told.has(id)) continue;
        told.add(id);
        viewers.sockets.get(id)?.emit('run:elsewhere', notice);
      }
    }
  }

  /** The run's live owner when it is another gateway; null when it is this one, nobody, or unknown. */
  private async remoteOwnerOrThrow(run: string): Promise<RunOwner | null> {
    const owner = await this.store.ownerOf(run);
    return owner && owner.gateway !== this.self.id ? owner : null;
  }

  private async remoteOwner(run: string): Promise<RunOwner | null> {
    try {
      return await this.remoteOwnerOrThrow(run);
    } catch (error) {
      // The store unreachable: serve what this gateway has rather than refuse everyone.
      this.onError(error as Error, `looking up the owner of ${run}`);
      return null;
    }
  }

  private elsewhere(run: string, owner: RunOwner): RunElsewhere {
    return {
      run,
      gateway: owner.gateway,
      url: owner.url,
      message: `run ${run} is served by gateway ${owner.gateway} (${owner.url}), not by ${this.self.id}: connect there, or through the load balancer with ?run=${run}`,
    };
  }
}

/** Whether `identity` may send the command `body` asks for on `run` (false if it is no command). */
function mayCommand(identity: Identity, body: unknown, run: string): boolean {
  const parsed = CommandRequest.safeParse(body);
  return (
    parsed.success &&
    authorize(identity, { kind: 'command', command: parsed.data.kind, run }).allowed
  );
}
