import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FacilityAdapter } from '../adapters/FacilityAdapter';
import { facilityAdapters } from '../facilityAdapters';
import { SlurmAdapter } from '../slurm/SlurmAdapter';
import { baseUrlsFromEnv, defaultSites, parseSites, PUBLISHED_URLS } from './SitesConfig';

const example = readFileSync(new URL('../../../docs/sites.example.yaml', import.meta.url), 'utf8');

describe('sites file', () => {
  it('parses the documented example and builds its enabled sources in order', () => {
    const sites = parseSites(example);
    expect(sites.sites.map((s) => s.id)).toEqual(['nersc', 'alcf', 'olcf', 'aps']);
    const built = facilityAdapters(sites);
    // OLCF's IRI source is `enabled: false`: kept in the file, not polled.
    expect(built.sources.map((s) => s.label)).toEqual([
      'NERSC SF API',
      'NERSC IRI v2',
      'ALCF IRI v1',
      'ALCF activity feed',
      'OLCF S3M',
      'APS Slurm v0.0.38',
    ]);
    expect(built.jobProfiles.get('perlmutter')).toMatchObject({
      account: 'm1234',
      customAttributes: { constraint: 'gpu' },
      stdoutPath: '/pscratch/sd/l/loupe/{run}/recon.out',
    });
    expect(built.totalNodes.get('aurora')).toBe(10_624);
  });

  it('reads JSON too, and lists every problem of a bad file', () => {
    const json = JSON.stringify({
      sites: [
        {
          id: 'x',
          facility: 'NERSC',
          systems: [{ id: 'pm', name: 'PM' }],
          sources: [
            { id: 'a', kind: 'iri', apiVersion: 'v3', baseUrl: 'https://h', systems: { pm: 'c' } },
            { id: 'b', kind: 'olcf-s3m', baseUrl: 'ftp://h', systems: { nope: 'n' } },
          ],
        },
      ],
    });
    expect(() => parseSites(json, 'sites.json')).toThrow(/sites\.json is invalid/);
    const message = (() => {
      try {
        parseSites(json);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/sources\.0\.apiVersion/);
    expect(message).toMatch(/sources\.1\.baseUrl/);
    expect(() => parseSites(json.replace('v3', 'v2').replace('ftp:', 'https:'))).toThrow(
      /nope is not a system of site x/,
    );
    expect(() => parseSites('sites: [ {')).toThrow(/not YAML or JSON/);
  });

  it('defaults to the four systems at the published hosts, each base overridable from the env', () => {
    const urls = baseUrlsFromEnv({ LOUPE_IRI_ALCF_URL: 'http://127.0.0.1:9/alcf' });
    expect(urls).toEqual({ ...PUBLISHED_URLS, iriAlcf: 'http://127.0.0.1:9/alcf' });
    const sites = defaultSites(urls);
    const iri = sites.sites.flatMap((s) => s.sources).filter((s) => s.kind === 'iri');
    expect(iri.map((s) => [s.baseUrl, 'apiVersion' in s && s.apiVersion, s.systems])).toEqual([
      ['https://api.iri.nersc.gov', 'v2', { perlmutter: 'compute' }],
      ['http://127.0.0.1:9/alcf', 'v1', { polaris: 'polaris', aurora: 'aurora' }],
      ['https://amsc-open.s3m.olcf.ornl.gov', 'v1', { frontier: 'frontier' }],
    ]);
    // None of the invented IRI hosts of the first version.
    expect(JSON.stringify(sites)).not.toMatch(/api\.iri\.(alcf|olcf)/);
    expect(() => baseUrlsFromEnv({ LOUPE_OLCF_S3M_URL: 'not a url' })).toThrow(
      /LOUPE_OLCF_S3M_URL/,
    );
  });

  it('builds a slurm source of the documented example: partitions, default partition, commands', () => {
    const built = facilityAdapters(parseSites(example));
    const slurm = built.sources.find((s) => s.adapter.source === 'slurm')!.adapter;
    expect(slurm).toBeInstanceOf(SlurmAdapter);
    expect(slurm.systems).toEqual([
      { system: 'beamline-cluster', name: 'Beamline cluster', facility: 'APS' },
    ]);
    expect(built.jobProfiles.get('beamline-cluster')).toMatchObject({
      queue: 'recon',
      customAttributes: { qos: 'normal', constraint: 'gpu' },
    });
    const bad = (patch: Record<string, unknown>) =>
      parseSites(
        JSON.stringify({
          sites: [
            {
              id: 'aps',
              facility: 'APS',
              systems: [{ id: 'bc', name: 'BC' }],
              sources: [
                {
                  id: 's',
                  kind: 'slurm',
                  baseUrl: 'http://127.0.0.1:6820',
                  apiVersion: 'v0.0.38',
                  user: 'loupe',
                  systems: { bc: '*' },
                  ...patch,
                },
              ],
            },
          ],
        }),
      );
    expect(() => bad({})).not.toThrow();
    // v0.0.39–41 are versions this build does not speak.
    expect(() => bad({ apiVersion: 'v0.0.40' })).toThrow(/apiVersion/);
    expect(() => bad({ user: undefined })).toThrow(/user/);
    expect(() => bad({ commands: { 'loupe-recon': [] } })).toThrow(/commands/);
  });

  it('lets a build plug in its own adapter for a kind', () => {
    const file = `
sites:
  - id: aps
    facility: NERSC
    systems: [{ id: local, name: Beamline cluster, totalNodes: 4 }]
    sources:
      - id: slurm
        kind: slurm
        baseUrl: http://127.0.0.1:6820
        apiVersion: v0.0.38
        user: loupe
        partition: recon
        credentials: { kind: file, path: /run/loupe/slurm.jwt }
        systems: { local: recon }
`;
    const sites = parseSites(file);
    const seen: unknown[] = [];
    const built = facilityAdapters(sites, {
      kinds: {
        slurm: (src, ctx) => {
          seen.push([src.apiVersion, src.partition, src.user, ctx.systems[0]]);
          return {
            id: 'slurm',
            source: 'slurm',
            systems: ctx.systems,
            read: async () => [],
          } satisfies FacilityAdapter;
        },
      },
    });
    expect(built.sources[0]).toMatchObject({ label: 'NERSC Slurm v0.0.38' });
    expect(seen).toEqual([
      [
        'v0.0.38',
        'recon',
        'loupe',
        {
          system: 'local',
          name: 'Beamline cluster',
          facility: 'NERSC',
          resource: 'recon',
          totalNodes: 4,
        },
      ],
    ]);
  });
});
