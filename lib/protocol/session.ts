import { z } from 'zod';

/** What a caller may do: producers publish; viewers read; scientists steer their runs; staff all. */
export const Role = z.enum(['producer', 'viewer', 'scientist', 'staff']);
export type Role = z.infer<typeof Role>;

/**
 * Where an identity came from; a share link reads only the runs it names, and a job token (minted
 * by the gateway for a resubmitted job) publishes only the run it was minted for.
 */
export const IdentitySource = z.enum(['local', 'oidc', 'share', 'job', 'anonymous']);
export type IdentitySource = z.infer<typeof IdentitySource>;

/**
 * `GET /api/session`: who the gateway takes the caller to be. The browser decides what to offer
 * with lib/policy.ts on this; the gateway decides again on every request and message.
 */
export const SessionAnswer = z.strictObject({
  subject: z.string().min(1).max(200),
  role: Role,
  /** The runs a scientist belongs to, or a share link opens; empty for staff and plain viewers. */
  runs: z.array(z.string().max(200)).max(10_000),
  anonymous: z.boolean(),
  source: IdentitySource,
});
export type SessionAnswer = z.infer<typeof SessionAnswer>;

/**
 * `GET /api/dev/users` (embedded default only, loopback only): the local users file's people with
 * their tokens, for the one-click sign-in page. Producers are never listed.
 */
export const DevUsersAnswer = z.strictObject({
  users: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(200),
        role: Role.exclude(['producer']),
        token: z.string().min(1).max(4096),
        runs: z.array(z.string().max(200)).max(10_000),
      }),
    )
    .max(10_000),
});
export type DevUsersAnswer = z.infer<typeof DevUsersAnswer>;
