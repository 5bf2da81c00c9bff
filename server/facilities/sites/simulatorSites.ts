import type { SimulatorUrls } from '../simulator/startFacilitySimulator';
import { defaultSites, type SitesFile } from './SitesConfig';

/**
 * The default sites pointed at the facility simulator: the same sources, kinds and versions as
 * at the real hosts, the simulator's base URLs, and `token` for every job API.
 */
export function simulatorSites(urls: SimulatorUrls, token: string): SitesFile {
  const sites = defaultSites(
    {
      nerscSfApi: urls.nerscSfApi,
      iriNersc: urls.iri.NERSC,
      iriAlcf: urls.iri.ALCF,
      iriOlcf: urls.iri.OLCF,
      alcfStatus: urls.alcfActivity,
      olcfS3m: urls.olcfS3m,
    },
    {
      LOUPE_NERSC_TOKEN: token,
      LOUPE_IRI_NERSC_TOKEN: token,
      LOUPE_IRI_ALCF_TOKEN: token,
      LOUPE_IRI_OLCF_TOKEN: token,
    },
  );
  // IRI v2 refuses a job without a project; the simulator's is the beamline's demo allocation.
  for (const site of sites.sites)
    for (const s of site.systems) s.jobProfile.account ??= 'loupe-demo';
  return sites;
}

/** The env the default sites read their tokens from, for the simulator's token. */
export function simulatorTokenEnv(token: string): Record<string, string> {
  return {
    LOUPE_NERSC_TOKEN: token,
    LOUPE_IRI_NERSC_TOKEN: token,
    LOUPE_IRI_ALCF_TOKEN: token,
    LOUPE_IRI_OLCF_TOKEN: token,
  };
}
