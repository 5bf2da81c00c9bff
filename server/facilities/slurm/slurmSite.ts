import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { FacilityId } from '@/lib/protocol';
import { resolveToken } from '../credentials/TokenProvider';
import type { SourceFactory } from '../facilityAdapters';
import { SlurmAdapter, type SlurmJobProfile } from './SlurmAdapter';
import { SLURM_API_VERSIONS } from './slurmApi';
import type { SlurmToken } from './SlurmRestClient';

/** The executable name the resubmitter puts in its job specs (FacilityResubmitter). */
export const RECON_EXECUTABLE = 'loupe-recon';

/**
 * The job profile that runs Loupe's reference reconstruction consumer on a Slurm node from a
 * checkout of this repository: `node --import tsx consumers/recon/main.ts --gateway URL` plus the
 * spec's arguments (`--run ID`). The producer token, minted per run by the resubmitter, travels
 * in the job's environment (LOUPE_PRODUCER_TOKEN), never in the script or argv, where
 * `scontrol write batch_script` and `ps` show it.
 */
export function reconConsumerProfile(o: {
  /** The repository checkout on the compute node (readable by the job user). */
  repoDir: string;
  gatewayUrl: string;
  /** Writable by the job user: stdout/stderr and captures. */
  outputDir: string;
  node?: string;
  partition?: string;
  account?: string;
}): SlurmJobProfile {
  const node = o.node ?? process.execPath;
  return {
    directory: o.repoDir,
    stdout: `${o.outputDir}/loupe-%j.out`,
    stderr: `${o.outputDir}/loupe-%j.err`,
    ...(o.account && { account: o.account }),
    exclusive: true,
    commands: {
      [RECON_EXECUTABLE]: [
        node,
        '--import',
        'tsx',
        resolve(o.repoDir, 'consumers/recon/main.ts'),
        '--gateway',
        o.gatewayUrl,
        '--captures',
        `${o.outputDir}/captures`,
        // Two back-projection threads: a share of a node, not the whole machine.
        '--workers',
        '2',
      ],
    },
    environment: {
      PATH: `${resolve(node, '..')}:/usr/local/bin:/usr/bin:/bin`,
      HOME: o.outputDir,
    },
  };
}

const SlurmEnv = z.object({
  LOUPE_SLURM_URL: z.string().url(),
  LOUPE_SLURM_USER: z.string().min(1),
  LOUPE_SLURM_API_VERSION: z.enum(SLURM_API_VERSIONS).default('v0.0.38'),
  LOUPE_SLURM_SYSTEM: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/)
    .default('beamline-cluster'),
  LOUPE_SLURM_NAME: z.string().min(1).default('Beamline cluster'),
  LOUPE_SLURM_PARTITION: z.string().min(1).optional(),
  LOUPE_SLURM_ACCOUNT: z.string().min(1).optional(),
  LOUPE_SLURM_REPO_DIR: z.string().min(1).optional(),
  LOUPE_SLURM_OUTPUT_DIR: z.string().min(1).default('/var/tmp/loupe-slurm-jobs'),
});

/**
 * The beamline cluster from the environment (until the sites file carries it): LOUPE_SLURM_URL,
 * LOUPE_SLURM_USER and LOUPE_SLURM_TOKEN (a JWT) or LOUPE_SLURM_TOKEN_FILE (re-read on every
 * request, so a rotated token is picked up). Null when LOUPE_SLURM_URL is unset.
 */
export function slurmSiteFromEnv(
  env: NodeJS.ProcessEnv,
  o: { gatewayUrl: string; facility?: FacilityId },
): SlurmAdapter | null {
  if (!env.LOUPE_SLURM_URL) return null;
  const e = SlurmEnv.parse(env);
  const file = env.LOUPE_SLURM_TOKEN_FILE;
  const token: SlurmToken = file
    ? () => readFileSync(file, 'utf8').trim() || null
    : (env.LOUPE_SLURM_TOKEN ?? '');
  if (!file && !env.LOUPE_SLURM_TOKEN)
    throw new Error('LOUPE_SLURM_TOKEN or LOUPE_SLURM_TOKEN_FILE is required with LOUPE_SLURM_URL');
  return new SlurmAdapter({
    facility: o.facility ?? 'APS',
    systems: [
      {
        system: e.LOUPE_SLURM_SYSTEM,
        name: e.LOUPE_SLURM_NAME,
        ...(e.LOUPE_SLURM_PARTITION && { partitions: [e.LOUPE_SLURM_PARTITION] }),
      },
    ],
    client: {
      baseUrl: e.LOUPE_SLURM_URL,
      version: e.LOUPE_SLURM_API_VERSION,
      user: e.LOUPE_SLURM_USER,
      token,
    },
    job: reconConsumerProfile({
      repoDir: e.LOUPE_SLURM_REPO_DIR ?? process.cwd(),
      gatewayUrl: o.gatewayUrl,
      outputDir: e.LOUPE_SLURM_OUTPUT_DIR,
      ...(e.LOUPE_SLURM_ACCOUNT && { account: e.LOUPE_SLURM_ACCOUNT }),
    }),
    report: (message) => console.warn(message),
  });
}

/**
 * The sites file's `slurm` source kind: a SlurmAdapter for the source's systems, each reading
 * the partitions its `systems` entry names (`*`: all), its JWT from the source's credentials
 * (a `file` is re-read when it changes, so `scontrol token` output can be rotated under it), and
 * jobs run as the source's `commands` say; the system's job profile supplies directory,
 * stdout/stderr, account, queue, `qos`/`constraint` and environment at each submission.
 */
export const slurmSourceKind: SourceFactory<'slurm'> = (src, ctx) =>
  new SlurmAdapter({
    facility: ctx.site.facility,
    systems: ctx.systems.map((s) => ({
      system: s.system,
      name: s.name,
      ...(s.resource.trim() !== '*' && {
        partitions: s.resource
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      }),
    })),
    client: {
      baseUrl: src.baseUrl,
      version: src.apiVersion,
      user: src.user,
      token: () => resolveToken(ctx.token),
      timeoutMs: src.timeoutMs,
    },
    job: {
      // Overridden by the job profile's `directory`; /tmp exists on every node.
      directory: '/tmp',
      commands: src.commands,
      exclusive: src.exclusive,
      ...(src.partition && { partition: src.partition }),
    },
    report: (message) => console.warn(message),
  });
