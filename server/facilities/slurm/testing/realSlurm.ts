import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SLURM_API_VERSIONS, type SlurmApiVersion } from '../slurmApi';

/**
 * The real Slurm the integration tests use (scripts/ci/startSlurm.sh: Debian's slurm-wlm 22.05,
 * slurmrestd v0.0.38, JWT auth), and why it cannot be used when it cannot. Outside CI a missing
 * Slurm skips those tests with a message; under CI it fails them.
 */
export const SLURM_URL = process.env.LOUPE_SLURM_URL ?? 'http://127.0.0.1:6820';
export const SLURM_USER = process.env.LOUPE_SLURM_USER ?? 'loupe';
export const SLURM_VERSION = (process.env.LOUPE_SLURM_API_VERSION ?? 'v0.0.38') as SlurmApiVersion;
export const SLURM_OUTPUT_DIR = process.env.LOUPE_SLURM_OUTPUT_DIR ?? '/var/tmp/loupe-slurm-jobs';
export const SLURM_TOKEN_FILE =
  process.env.LOUPE_SLURM_TOKEN_FILE ?? `/run/loupe-slurm/${SLURM_USER}.jwt`;
export const IN_CI = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

/**
 * A JWT for the user: LOUPE_SLURM_TOKEN, one minted by `scontrol token` (root or SlurmUser only), or
 * the one startSlurm.sh wrote (LOUPE_SLURM_TOKEN_FILE).
 */
export function slurmToken(): string | null {
  if (process.env.LOUPE_SLURM_TOKEN) return process.env.LOUPE_SLURM_TOKEN;
  try {
    const out = execFileSync('scontrol', ['token', `username=${SLURM_USER}`, 'lifespan=1800'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const minted = /SLURM_JWT=(\S+)/.exec(out)?.[1];
    if (minted) return minted;
  } catch {
    // Not root nor SlurmUser: use the token startSlurm.sh left for us.
  }
  try {
    return readFileSync(SLURM_TOKEN_FILE, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Why the real Slurm cannot be used, or null when it answers. */
export async function slurmUnavailable(token: string | null): Promise<string | null> {
  if (!SLURM_API_VERSIONS.includes(SLURM_VERSION))
    return `unknown LOUPE_SLURM_API_VERSION ${SLURM_VERSION}`;
  if (!token) return 'no Slurm token (set LOUPE_SLURM_TOKEN, or run as root for scontrol token)';
  try {
    const res = await fetch(`${SLURM_URL}/slurm/${SLURM_VERSION}/ping`, {
      headers: { 'x-slurm-user-name': SLURM_USER, 'x-slurm-user-token': token },
      signal: AbortSignal.timeout(3000),
    });
    return res.ok ? null : `slurmrestd at ${SLURM_URL} answered HTTP ${res.status}`;
  } catch (error) {
    return `slurmrestd at ${SLURM_URL} unreachable (${(error as Error).message})`;
  }
}

/** Runs a Slurm command-line tool and answers its trimmed output. */
export const slurmCli = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
