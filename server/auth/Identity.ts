import { z } from 'zod';

/** What a caller may do: producers publish; viewers read; scientists steer their runs; staff all. */
export const Role = z.enum(['producer', 'viewer', 'scientist', 'staff']);
export type Role = z.infer<typeof Role>;

/** The authenticated caller of one request or socket. Never carries the token itself. */
export interface Identity {
  subject: string;
  role: Role;
  /** Runs a scientist belongs to (ignored for other roles). */
  runs: readonly string[];
  /** True for a caller without a token, admitted read-only where the gateway allows it. */
  anonymous: boolean;
}

export const ANONYMOUS_VIEWER: Identity = Object.freeze({
  subject: 'anonymous',
  role: 'viewer',
  runs: [],
  anonymous: true,
});
