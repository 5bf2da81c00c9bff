import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { type Identity, Role, type TokenVerifier } from './Identity';

export const LocalUser = z.object({
  name: z.string().min(1).max(64),
  role: Role,
  token: z.string().min(16),
  /**
   * scientist: the runs they steer. producer: the runs it may publish — `*` for any run no other
   * producer identity owns; none listed publishes nothing.
   */
  runs: z.array(z.string()).default([]),
});
export type LocalUser = z.infer<typeof LocalUser>;

export const UsersFile = z.object({ users: z.array(LocalUser) });
export type UsersFile = z.infer<typeof UsersFile>;

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The embedded default's identity source: a local JSON file of users and their bearer tokens.
 * Tokens are compared by SHA-256 digest in constant time, so lookup time does not leak a prefix.
 */
export class LocalUsers implements TokenVerifier {
  private readonly entries: { digest: Buffer; user: LocalUser }[];

  constructor(file: UsersFile) {
    this.entries = file.users.map((user) => ({ digest: digest(user.token), user }));
  }

  static fromFile(path: string): LocalUsers {
    const parsed = UsersFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`users file ${path} is invalid: ${parsed.error.message}`);
    return new LocalUsers(parsed.data);
  }

  async verify(token: string): Promise<Identity | null> {
    return this.verifySync(token);
  }

  verifySync(token: string): Identity | null {
    const presented = digest(token);
    let found: LocalUser | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented)) found = entry.user;
    }
    return found
      ? {
          subject: found.name,
          role: found.role,
          runs: found.runs,
          anonymous: false,
          source: 'local',
        }
      : null;
  }

  list(): readonly LocalUser[] {
    return this.entries.map((e) => e.user);
  }
}

/** Writes a users file with fresh random tokens for the embedded default, if none exists yet. */
export function ensureDefaultUsersFile(path: string): UsersFile {
  if (existsSync(path)) {
    const existing = UsersFile.parse(JSON.parse(readFileSync(path, 'utf8')));
    // Producers now publish only the runs they list; the demo consumer this function once wrote
    // with no runs gets its own run, so an older clone's demo keeps streaming.
    const demo = existing.users.find(
      (u) => u.name === 'demo-consumer' && u.role === 'producer' && u.runs.length === 0,
    );
    if (!demo) return existing;
    demo.runs = ['demo'];
    writeFileSync(path, JSON.stringify(existing, null, 2) + '\n', { mode: 0o600 });
    return existing;
  }
  const token = () => randomBytes(24).toString('base64url');
  const file: UsersFile = {
    users: [
      { name: 'demo-consumer', role: 'producer', token: token(), runs: ['demo'] },
      { name: 'ada', role: 'scientist', token: token(), runs: ['demo'] },
      // A second scientist of the demo, so one hand on the controls can be tried from two tabs.
      { name: 'kai', role: 'scientist', token: token(), runs: ['demo'] },
      { name: 'sam', role: 'staff', token: token(), runs: [] },
      { name: 'remote', role: 'viewer', token: token(), runs: [] },
    ],
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return file;
}
