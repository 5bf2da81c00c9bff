import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FacilityId, SystemId } from '@/lib/protocol';
import { SLURM_API_VERSIONS } from '../slurm/slurmApi';

/**
 * The sites file (`LOUPE_SITES`, JSON or YAML): each site, its systems, the sources that report on
 * them, the credentials each source presents, and the job profile a resubmitted job uses.
 * docs/sites.md explains every field; docs/sites.example.yaml is a complete example.
 */

const HttpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'an http(s) URL');

/** How a source's bearer token is obtained. Secrets live in files, never in the sites file. */
export const CredentialsConfig = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  /** A token in an environment variable (read at each request). */
  z.object({ kind: z.literal('env'), variable: z.string().regex(/^[A-Z_][A-Z0-9_]*$/) }).strict(),
  /** A token file that something else keeps fresh; re-read when it changes. */
  z.object({ kind: z.literal('file'), path: z.string().min(1) }).strict(),
  /** OAuth2 client credentials with private_key_jwt (NERSC SF API clients from Iris). */
  z
    .object({
      kind: z.literal('oauth-client-credentials'),
      tokenUrl: HttpUrl,
      issuer: z.string().min(1).optional(),
      clientId: z.string().min(1),
      privateKeyFile: z.string().min(1),
      alg: z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']).optional(),
      kid: z.string().min(1).optional(),
      scope: z.string().min(1).optional(),
      assertionAudience: z.enum(['token-endpoint', 'issuer']).optional(),
    })
    .strict(),
  /** A refresh token (Globus Auth), exchanged for access tokens as they expire. */
  z
    .object({
      kind: z.literal('refresh-token'),
      tokenUrl: HttpUrl,
      issuer: z.string().min(1).optional(),
      clientId: z.string().min(1),
      clientSecretFile: z.string().min(1).optional(),
      refreshTokenFile: z.string().min(1),
      scope: z.string().min(1).optional(),
    })
    .strict(),
]);
export type CredentialsConfig = z.infer<typeof CredentialsConfig>;

/** Which figures of a system a source may set. The first enabled source that has one wins. */
export const Figure = z.enum(['status', 'windows', 'queue', 'nodes', 'jobs']);
export type Figure = z.infer<typeof Figure>;

const sourceBase = {
  /** Unique within the site, e.g. `sfapi`, `iri`. */
  id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/),
  /** A source can be turned off without deleting it. */
  enabled: z.boolean().default(true),
  /** The base the adapter appends its documented paths to. */
  baseUrl: HttpUrl,
  credentials: CredentialsConfig.default({ kind: 'none' }),
  /** Our system id → the resource's name (or id) at this source. */
  systems: z.record(SystemId, z.string().min(1)),
  /** What this source is authoritative for; the kind's default when omitted. */
  provides: z.array(Figure).min(1).optional(),
  /** Each request is abandoned after this long (ms); a poll never hangs. */
  timeoutMs: z.number().int().min(100).max(60_000).default(5000),
};

export const SourceConfig = z.discriminatedUnion('kind', [
  z
    .object({
      ...sourceBase,
      kind: z.literal('nersc-sfapi'),
      /** Minutes east of UTC of squeue's zone-less times (NERSC: −480 / −420). */
      slurmUtcOffsetMin: z.number().int().min(-720).max(840).default(0),
    })
    .strict(),
  z
    .object({
      ...sourceBase,
      kind: z.literal('iri'),
      /** Which IRI facility API the site serves: /api/v1 or /api/v2. */
      apiVersion: z.enum(['v1', 'v2']),
    })
    .strict(),
  z.object({ ...sourceBase, kind: z.literal('alcf-activity') }).strict(),
  z.object({ ...sourceBase, kind: z.literal('olcf-s3m') }).strict(),
  /**
   * slurmrestd (the beamline's own cluster, or S3M's Slurm proxy). `systems` maps each system to
   * its partitions at the cluster, comma-separated, or `*` for all of them.
   */
  z
    .object({
      ...sourceBase,
      kind: z.literal('slurm'),
      /** slurmrestd's OpenAPI plugin version: v0.0.38 (Debian 12's 22.05), v0.0.42–44 (S3M). */
      apiVersion: z.enum(SLURM_API_VERSIONS),
      /** The Slurm user the JWT was issued to (X-SLURM-USER-NAME); jobs run as this user. */
      user: z.string().min(1),
      /** The partition jobs go to when the job profile names no queue; else the system's first. */
      partition: z.string().min(1).optional(),
      /**
       * What each executable a job profile may name runs at this cluster, as an argv prefix (the
       * profile's arguments follow), e.g. `loupe-recon: [/usr/bin/node, --import, tsx,
       * /opt/loupe/consumers/recon/main.ts, --gateway, https://loupe.example]`. An executable
       * not listed is refused; none listed: the cluster is read, never submitted to.
       */
      commands: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
      /** Jobs own their nodes (sbatch --exclusive). */
      exclusive: z.boolean().default(false),
    })
    .strict(),
]);
export type SourceConfig = z.infer<typeof SourceConfig>;
export type SourceKind = SourceConfig['kind'];

/** What a resubmitted job needs at this system. Paths are at the site; `{run}` is replaced. */
export const JobProfile = z
  .object({
    /** Project/account charged (IRI v2 answers 400 without one). */
    account: z.string().min(1).optional(),
    /** Queue, partition or QOS. */
    queue: z.string().min(1).optional(),
    /** Scheduler-specific attributes, e.g. NERSC `constraint: gpu`, ALCF `filesystems: home:eagle`. */
    customAttributes: z.record(z.string(), z.string()).default({}),
    executable: z.string().min(1).default('loupe-recon'),
    arguments: z.array(z.string()).default(['--run', '{run}']),
    directory: z.string().min(1).optional(),
    stdoutPath: z.string().min(1).optional(),
    stderrPath: z.string().min(1).optional(),
    environment: z.record(z.string(), z.string()).default({}),
    /** Seconds from job start to the first reconstructed slice. */
    startupS: z.number().nonnegative().optional(),
    /** Sustained bytes per second from the beamline to this site. */
    transferBytesPerS: z.number().positive().optional(),
  })
  .strict();
export type JobProfile = z.infer<typeof JobProfile>;

export const SystemConfig = z
  .object({
    id: SystemId,
    name: z.string().min(1),
    /** Compute nodes, when no source publishes it (IRI v2 `configured_node_count` does). */
    totalNodes: z.number().int().positive().optional(),
    jobProfile: JobProfile.default(JobProfile.parse({})),
  })
  .strict();
export type SystemConfig = z.infer<typeof SystemConfig>;

export const SiteConfig = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/),
    facility: FacilityId,
    systems: z.array(SystemConfig).min(1),
    /** In order of precedence. */
    sources: z.array(SourceConfig),
  })
  .strict()
  .superRefine((site, ctx) => {
    const systems = new Set(site.systems.map((s) => s.id));
    const ids = new Set<string>();
    site.sources.forEach((src, i) => {
      if (ids.has(src.id))
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'id'],
          message: `duplicate source ${src.id}`,
        });
      ids.add(src.id);
      for (const sys of Object.keys(src.systems))
        if (!systems.has(sys))
          ctx.addIssue({
            code: 'custom',
            path: ['sources', i, 'systems', sys],
            message: `${sys} is not a system of site ${site.id}`,
          });
    });
  });
export type SiteConfig = z.infer<typeof SiteConfig>;

export const SitesFile = z
  .object({ sites: z.array(SiteConfig).min(1) })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.sites.forEach((site, i) =>
      site.systems.forEach((s, j) => {
        if (seen.has(s.id))
          ctx.addIssue({
            code: 'custom',
            path: ['sites', i, 'systems', j, 'id'],
            message: `system ${s.id} appears twice`,
          });
        seen.add(s.id);
      }),
    );
  });
export type SitesFile = z.infer<typeof SitesFile>;

/** Parses and validates a sites file's text (YAML is a superset of JSON, so both parse). */
export function parseSites(text: string, where = 'sites file'): SitesFile {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new Error(`${where}: not YAML or JSON: ${(error as Error).message}`);
  }
  const parsed = SitesFile.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .slice(0, 10)
      .map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${where} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads `path` (LOUPE_SITES); throws with every problem found, so a bad file stops the start. */
export function loadSitesFile(path: string): SitesFile {
  return parseSites(readFileSync(path, 'utf8'), path);
}

/** The published hosts (issue 10: what public material names, nothing invented). */
export const PUBLISHED_URLS = {
  nerscSfApi: 'https://api.nersc.gov/api/v1.2',
  iriNersc: 'https://api.iri.nersc.gov',
  iriAlcf: 'https://api.alcf.anl.gov',
  iriOlcf: 'https://amsc-open.s3m.olcf.ornl.gov',
  alcfStatus: 'https://status.alcf.anl.gov',
  olcfS3m: 'https://s3m.olcf.ornl.gov',
} as const;

export type BaseUrls = { -readonly [K in keyof typeof PUBLISHED_URLS]: string };

/** Base URLs from LOUPE_NERSC_SFAPI_URL, LOUPE_IRI_{NERSC,ALCF,OLCF}_URL, LOUPE_ALCF_STATUS_URL, LOUPE_OLCF_S3M_URL. */
export function baseUrlsFromEnv(env: Record<string, string | undefined>): BaseUrls {
  const pick = (name: string, fallback: string) => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    if (!HttpUrl.safeParse(v).success) throw new Error(`${name} must be an http(s) URL, got ${v}`);
    return v;
  };
  return {
    nerscSfApi: pick('LOUPE_NERSC_SFAPI_URL', PUBLISHED_URLS.nerscSfApi),
    iriNersc: pick('LOUPE_IRI_NERSC_URL', PUBLISHED_URLS.iriNersc),
    iriAlcf: pick('LOUPE_IRI_ALCF_URL', PUBLISHED_URLS.iriAlcf),
    iriOlcf: pick('LOUPE_IRI_OLCF_URL', PUBLISHED_URLS.iriOlcf),
    alcfStatus: pick('LOUPE_ALCF_STATUS_URL', PUBLISHED_URLS.alcfStatus),
    olcfS3m: pick('LOUPE_OLCF_S3M_URL', PUBLISHED_URLS.olcfS3m),
  };
}

function tokenFromEnv(
  env: Record<string, string | undefined>,
  variable: string,
): CredentialsConfig {
  return env[variable] ? { kind: 'env', variable } : { kind: 'none' };
}

/**
 * Today's four systems at the given base URLs, when no sites file is given. The IRI resource names
 * are the facilities' (NERSC names Perlmutter's IRI resource `compute`). Tokens from
 * LOUPE_NERSC_TOKEN and LOUPE_IRI_{NERSC,ALCF,OLCF}_TOKEN when set.
 */
export function defaultSites(
  urls: BaseUrls,
  env: Record<string, string | undefined> = {},
  iriVersions: { NERSC: 'v1' | 'v2'; ALCF: 'v1' | 'v2'; OLCF: 'v1' | 'v2' } = {
    NERSC: 'v2',
    ALCF: 'v1',
    OLCF: 'v1',
  },
  iriResources: { perlmutter: string; polaris: string; aurora: string; frontier: string } = {
    perlmutter: 'compute',
    polaris: 'polaris',
    aurora: 'aurora',
    frontier: 'frontier',
  },
): SitesFile {
  return SitesFile.parse({
    sites: [
      {
        id: 'nersc',
        facility: 'NERSC',
        systems: [
          {
            id: 'perlmutter',
            name: 'Perlmutter',
            totalNodes: 1792,
            jobProfile: { queue: 'regular', customAttributes: { constraint: 'gpu' } },
          },
        ],
        sources: [
          {
            id: 'sfapi',
            kind: 'nersc-sfapi',
            baseUrl: urls.nerscSfApi,
            credentials: tokenFromEnv(env, 'LOUPE_NERSC_TOKEN'),
            systems: { perlmutter: 'perlmutter' },
            provides: ['status', 'windows', 'queue'],
          },
          {
            id: 'iri',
            kind: 'iri',
            apiVersion: iriVersions.NERSC,
            baseUrl: urls.iriNersc,
            credentials: tokenFromEnv(env, 'LOUPE_IRI_NERSC_TOKEN'),
            systems: { perlmutter: iriResources.perlmutter },
            provides: ['status', 'windows', 'nodes', 'jobs'],
          },
        ],
      },
      {
        id: 'alcf',
        facility: 'ALCF',
        systems: [
          { id: 'polaris', name: 'Polaris', totalNodes: 560, jobProfile: { queue: 'prod' } },
          { id: 'aurora', name: 'Aurora', totalNodes: 10_624, jobProfile: { queue: 'prod' } },
        ],
        sources: [
          {
            id: 'iri',
            kind: 'iri',
            apiVersion: iriVersions.ALCF,
            baseUrl: urls.iriAlcf,
            credentials: tokenFromEnv(env, 'LOUPE_IRI_ALCF_TOKEN'),
            systems: { polaris: iriResources.polaris, aurora: iriResources.aurora },
            provides: ['status', 'windows', 'nodes', 'jobs'],
          },
          {
            id: 'activity',
            kind: 'alcf-activity',
            baseUrl: urls.alcfStatus,
            systems: { polaris: 'polaris', aurora: 'aurora' },
            provides: ['status', 'windows', 'queue'],
          },
        ],
      },
      {
        id: 'olcf',
        facility: 'OLCF',
        systems: [{ id: 'frontier', name: 'Frontier', totalNodes: 9408, jobProfile: {} }],
        sources: [
          {
            id: 's3m',
            kind: 'olcf-s3m',
            baseUrl: urls.olcfS3m,
            systems: { frontier: 'frontier' },
            provides: ['status', 'windows'],
          },
          {
            id: 'iri',
            kind: 'iri',
            apiVersion: iriVersions.OLCF,
            baseUrl: urls.iriOlcf,
            credentials: tokenFromEnv(env, 'LOUPE_IRI_OLCF_TOKEN'),
            systems: { frontier: iriResources.frontier },
            provides: ['status', 'windows', 'nodes', 'jobs'],
          },
        ],
      },
    ],
  });
}

/** The sites the gateway uses: LOUPE_SITES when set, else the defaults at the env's base URLs. */
export function sitesFromEnv(env: Record<string, string | undefined> = process.env): SitesFile {
  if (env.LOUPE_SITES) return loadSitesFile(env.LOUPE_SITES);
  return defaultSites(baseUrlsFromEnv(env), env);
}
