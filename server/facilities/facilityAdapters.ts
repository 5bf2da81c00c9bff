import type { FacilityId, FacilitySource } from '@/lib/protocol';
import type { FacilityAdapter } from './adapters/FacilityAdapter';
import { AlcfActivityAdapter } from './adapters/AlcfActivityAdapter';
import { IriAdapter } from './adapters/IriAdapter';
import { NerscSfApiAdapter } from './adapters/NerscSfApiAdapter';
import { OlcfS3mAdapter } from './adapters/OlcfS3mAdapter';
import { slurmSourceKind } from './slurm/slurmSite';
import {
  ClientCredentialsTokenProvider,
  FileTokenProvider,
  RefreshTokenProvider,
  type TokenSource,
} from './credentials/TokenProvider';
import type {
  CredentialsConfig,
  Figure,
  JobProfile,
  SiteConfig,
  SitesFile,
  SourceConfig,
  SourceKind,
} from './sites/SitesConfig';

/** One configured system a source reports on: our id, its name there, what the file says of it. */
export interface SourceSystem {
  system: string;
  name: string;
  facility: FacilityId;
  /** The resource's name (or id) at this source. */
  resource: string;
  /** From the sites file; a source that publishes node counts overrides it. */
  totalNodes: number | null;
}

/** What a source kind's factory is given besides its own configuration. */
export interface SourceContext {
  site: SiteConfig;
  systems: SourceSystem[];
  /** The bearer token its credentials produce (refreshed, re-read), or null. */
  token: TokenSource;
}

/**
 * A source kind: turns one validated `sources[]` entry of the sites file into an adapter. To add a
 * kind (e.g. `slurm`), add its zod schema to SourceConfig and its factory to SOURCE_KINDS.
 */
export type SourceFactory<K extends SourceKind> = (
  source: Extract<SourceConfig, { kind: K }>,
  context: SourceContext,
) => FacilityAdapter;
export type SourceKinds = { [K in SourceKind]?: SourceFactory<K> };

/** An adapter with what the sites file says about it. */
export interface ConfiguredSource {
  adapter: FacilityAdapter;
  /** How the card names it, e.g. "NERSC SF API", "ALCF IRI v1". */
  label: string;
  /** Figures it is authoritative for; sources earlier in the site win. */
  provides: readonly Figure[];
}

export const DEFAULT_PROVIDES: Record<FacilitySource, readonly Figure[]> = {
  'nersc-sfapi': ['status', 'windows', 'queue'],
  iri: ['status', 'windows', 'nodes', 'jobs'],
  'alcf-activity': ['status', 'windows', 'queue'],
  'olcf-s3m': ['status', 'windows'],
  slurm: ['status', 'windows', 'queue', 'nodes', 'jobs'],
};

export function sourceLabel(facility: FacilityId, source: SourceConfig | FacilitySource): string {
  const kind = typeof source === 'string' ? source : source.kind;
  const version =
    typeof source === 'string' ? '' : 'apiVersion' in source ? ` ${source.apiVersion}` : '';
  const names: Record<FacilitySource, string> = {
    'nersc-sfapi': 'SF API',
    iri: 'IRI',
    'alcf-activity': 'activity feed',
    'olcf-s3m': 'S3M',
    slurm: 'Slurm',
  };
  return `${facility} ${names[kind]}${version}`;
}

/** A Slurm cluster's adapter as a configured source (the env-configured or simulated cluster). */
export function slurmSource(adapter: FacilityAdapter & { version?: string }): ConfiguredSource {
  const facility = adapter.systems[0]?.facility ?? 'APS';
  return { adapter, label: sourceLabel(facility, 'slurm'), provides: DEFAULT_PROVIDES.slurm };
}

/** The built-in kinds; `slurm` is server/facilities/slurm/slurmSite.ts's. */
export const SOURCE_KINDS: SourceKinds = {
  'nersc-sfapi': (src, ctx) =>
    new NerscSfApiAdapter({
      baseUrl: src.baseUrl,
      token: ctx.token,
      systems: ctx.systems,
      timeoutMs: src.timeoutMs,
      slurmUtcOffsetMin: src.slurmUtcOffsetMin,
    }),
  iri: (src, ctx) =>
    new IriAdapter({
      baseUrl: src.baseUrl,
      apiVersion: src.apiVersion,
      facility: ctx.site.facility,
      systems: ctx.systems,
      token: ctx.token,
      timeoutMs: src.timeoutMs,
    }),
  'alcf-activity': (src, ctx) =>
    new AlcfActivityAdapter({
      baseUrl: src.baseUrl,
      systems: ctx.systems,
      timeoutMs: src.timeoutMs,
    }),
  'olcf-s3m': (src, ctx) =>
    new OlcfS3mAdapter({ baseUrl: src.baseUrl, systems: ctx.systems, timeoutMs: src.timeoutMs }),
  slurm: (src, ctx) => slurmSourceKind(src, ctx),
};

/** The token a source's credentials produce. */
export function tokenFor(
  credentials: CredentialsConfig,
  env: Record<string, string | undefined> = process.env,
): TokenSource {
  switch (credentials.kind) {
    case 'none':
      return null;
    case 'env':
      return () => env[credentials.variable] || null;
    case 'file':
      return new FileTokenProvider(credentials.path);
    case 'oauth-client-credentials':
      return new ClientCredentialsTokenProvider(credentials);
    case 'refresh-token':
      return new RefreshTokenProvider(credentials);
  }
}

export interface BuiltFacilities {
  sources: ConfiguredSource[];
  /** The job profile of every configured system. */
  jobProfiles: Map<string, JobProfile>;
  /** Configured node counts, for systems whose sources publish none. */
  totalNodes: Map<string, number>;
}

/** Adapters for every enabled source of every site, in the file's order of precedence. */
export function facilityAdapters(
  sites: SitesFile,
  options: { kinds?: SourceKinds; env?: Record<string, string | undefined> } = {},
): BuiltFacilities {
  const kinds = { ...SOURCE_KINDS, ...options.kinds };
  const sources: ConfiguredSource[] = [];
  const jobProfiles = new Map<string, JobProfile>();
  const totalNodes = new Map<string, number>();
  for (const site of sites.sites) {
    for (const s of site.systems) {
      jobProfiles.set(s.id, s.jobProfile);
      if (s.totalNodes !== undefined) totalNodes.set(s.id, s.totalNodes);
    }
    for (const src of site.sources) {
      if (!src.enabled) continue;
      const factory = kinds[src.kind] as SourceFactory<typeof src.kind> | undefined;
      if (!factory)
        throw new Error(
          `site ${site.id}, source ${src.id}: no adapter for kind ${src.kind} in this build`,
        );
      const systems: SourceSystem[] = Object.entries(src.systems).map(([system, resource]) => {
        const conf = site.systems.find((s) => s.id === system)!;
        return {
          system,
          name: conf.name,
          facility: site.facility,
          resource,
          totalNodes: conf.totalNodes ?? null,
        };
      });
      if (systems.length === 0) continue;
      sources.push({
        adapter: factory(src as never, {
          site,
          systems,
          token: tokenFor(src.credentials, options.env),
        }),
        label: sourceLabel(site.facility, src),
        provides: src.provides ?? DEFAULT_PROVIDES[src.kind],
      });
    }
  }
  return { sources, jobProfiles, totalNodes };
}
