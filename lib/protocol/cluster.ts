import { z } from 'zod';

/**
 * Gateway → viewer: the run this viewer asked for (or follows) is served by another gateway of the
 * cluster, its owner (the gateway its producer is connected to). This gateway sends no frames of
 * that run: the viewer should connect to `url`, or reconnect through the load balancer with the run
 * in its handshake query (`?run=`), which routes it to the owner. Sent instead of an empty stream,
 * so a misrouted viewer is never silently blank.
 */
export const RunElsewhere = z
  .object({
    run: z.string().min(1).max(200),
    /** The owning gateway's id (LOUPE_GATEWAY_ID). */
    gateway: z.string().min(1).max(200),
    /** Where that gateway takes connections, as it advertises itself (LOUPE_ADVERTISE_URL). */
    url: z.string().url().max(500),
    message: z.string().max(500),
  })
  .strict();
export type RunElsewhere = z.infer<typeof RunElsewhere>;

/** Handshake query key that carries the run, so a load balancer can route by it (docs/cluster.md). */
export const RUN_QUERY_KEY = 'run';
