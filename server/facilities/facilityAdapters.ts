import type { FacilityAdapter } from './adapters/FacilityAdapter';
import { AlcfActivityAdapter } from './adapters/AlcfActivityAdapter';
import { IriAdapter } from './adapters/IriAdapter';
import { NerscSfApiAdapter } from './adapters/NerscSfApiAdapter';
import { OlcfS3mAdapter } from './adapters/OlcfS3mAdapter';

/** Where each source lives; the real services or the simulator's `urls`. */
export interface FacilityEndpoints {
  nerscSfApi: string;
  iri: { NERSC: string; ALCF: string; OLCF: string };
  alcfActivity: string;
  olcfS3m: string;
}

export interface FacilityCredentials {
  /** NERSC SF API access token (queue of perlmutter). */
  nersc?: string | (() => string | null) | null;
  /** IRI job API tokens per facility. */
  iri?: Partial<Record<'NERSC' | 'ALCF' | 'OLCF', string | (() => string | null) | null>>;
}

/** The real services' base URLs. */
export const REAL_ENDPOINTS: FacilityEndpoints = {
  nerscSfApi: 'https://api.nersc.gov/api/v1.2',
  iri: {
    NERSC: 'https://api.iri.nersc.gov',
    ALCF: 'https://api.iri.alcf.anl.gov',
    OLCF: 'https://api.iri.olcf.ornl.gov',
  },
  alcfActivity: 'https://status.alcf.anl.gov',
  olcfS3m: 'https://s3m.olcf.ornl.gov',
};

/**
 * The adapters for perlmutter, polaris, aurora and frontier, in order of precedence for status:
 * NERSC SF API and IRI for status and windows, ALCF's feed for its queues, S3M for Frontier.
 */
export function facilityAdapters(
  endpoints: FacilityEndpoints,
  credentials: FacilityCredentials = {},
  timeoutMs = 5000,
): FacilityAdapter[] {
  return [
    new NerscSfApiAdapter({
      baseUrl: endpoints.nerscSfApi,
      token: credentials.nersc ?? null,
      systems: [{ system: 'perlmutter', name: 'Perlmutter', totalNodes: 1792 }],
      timeoutMs,
    }),
    new IriAdapter({
      baseUrl: endpoints.iri.ALCF,
      facility: 'ALCF',
      systems: [
        { system: 'polaris', name: 'Polaris' },
        { system: 'aurora', name: 'Aurora' },
      ],
      token: credentials.iri?.ALCF ?? null,
      timeoutMs,
    }),
    new IriAdapter({
      baseUrl: endpoints.iri.NERSC,
      facility: 'NERSC',
      systems: [{ system: 'perlmutter', name: 'Perlmutter' }],
      token: credentials.iri?.NERSC ?? null,
      timeoutMs,
    }),
    new OlcfS3mAdapter({
      baseUrl: endpoints.olcfS3m,
      systems: [{ system: 'frontier', name: 'Frontier' }],
      timeoutMs,
    }),
    new IriAdapter({
      baseUrl: endpoints.iri.OLCF,
      facility: 'OLCF',
      systems: [{ system: 'frontier', name: 'Frontier' }],
      token: credentials.iri?.OLCF ?? null,
      timeoutMs,
    }),
    new AlcfActivityAdapter({
      baseUrl: endpoints.alcfActivity,
      systems: [
        { system: 'polaris', name: 'Polaris', totalNodes: 560 },
        { system: 'aurora', name: 'Aurora', totalNodes: 10_624 },
      ],
      timeoutMs,
    }),
  ];
}
