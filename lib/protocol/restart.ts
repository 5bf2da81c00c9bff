import { z } from 'zod';

/**
 * Gateway → viewer and producer, sent once just before a gateway that is shutting down on purpose
 * (SIGTERM, redeploy) closes the connection. It is not a final disconnect: the client should
 * reconnect after a jittered delay around `retryAfterMs`, authenticate again and take a fresh
 * snapshot. Commands still open are kept on disk and offered again after the restart.
 */
export const GatewayRestarting = z
  .object({
    reason: z.string().max(500),
    /** When the gateway expects to take connections again, ms from now (0–60 s). */
    retryAfterMs: z.number().int().min(0).max(60_000),
  })
  .strict();
export type GatewayRestarting = z.infer<typeof GatewayRestarting>;
