import { describe, expect, it } from 'vitest';
import type { SystemSnapshot, WaitEstimate } from '@/lib/protocol';
import { recommend } from './recommend';

const NOW = Date.UTC(2025, 0, 8, 12);
const H = 3_600_000;
const snap = (system: string, over: Partial<SystemSnapshot> = {}): SystemSnapshot => ({
  system,
  name: system[0]!.toUpperCase() + system.slice(1),
  facility: 'ALCF',
  source: 'iri',
  status: 'up',
  since: NOW - 10 * H,
  nextWindow: null,
  queue: { running: 10, queued: 5, queuedNodeHours: 100, freeNodes: 4, totalNodes: 560 },
  readAt: NOW,
  stale: false,
  staleReason: null,
  ...over,
});
const est = (system: string, median: number): WaitEstimate => ({
  system,
  median,
  bound95: median * 4,
  observations: 30,
  method: 'knn-qbets',
});

describe('recommend', () => {
  const request = { nodes: 8, walltime: 3600, dataBytes: 100e9 };

  it('ranks by transfer + wait + start-up and says why', () => {
    const r = recommend(
      request,
      [snap('polaris'), snap('aurora'), snap('perlmutter', { facility: 'NERSC' })],
      new Map([
        ['polaris', est('polaris', 1800)],
        ['aurora', est('aurora', 600)],
        ['perlmutter', est('perlmutter', 600)],
      ]),
      { now: NOW, bandwidthBytesPerS: { ALCF: 1e9, NERSC: 0.05e9 } },
    );
    expect(r.ranked.map((x) => x.system)).toEqual(['aurora', 'polaris', 'perlmutter']);
    expect(r.recommended).toBe('aurora');
    expect(r.ranked[0]!.expectedFirstResultS).toBeCloseTo(100 + 600 + 120);
    expect(r.ranked[2]!.transferS).toBeCloseTo(2000);
    expect(r.ranked[0]!.reasons.join(' ')).toMatch(/median wait 10 min/);
    expect(r.excluded).toEqual([]);
  });

  it('excludes down, maintenance, unknown and windows overlapping the job, with reasons', () => {
    const r = recommend(
      request,
      [
        snap('polaris', {
          nextWindow: { start: NOW + 2 * H, end: NOW + 10 * H, description: 'Monday PM' },
        }),
        snap('aurora', { status: 'down' }),
        snap('frontier', {
          status: 'maintenance',
          nextWindow: { start: NOW - H, end: NOW + H, description: 'PM' },
        }),
        snap('perlmutter', { status: 'unknown', stale: true, staleReason: 'HTTP 503' }),
        snap('theta', {
          nextWindow: { start: NOW + 48 * H, end: NOW + 50 * H, description: 'later' },
        }),
      ],
      new Map([
        ['polaris', est('polaris', 3600)],
        ['aurora', est('aurora', 60)],
        ['frontier', est('frontier', 60)],
        ['perlmutter', est('perlmutter', 60)],
        ['theta', est('theta', 3600)],
      ]),
      { now: NOW },
    );
    expect(r.recommended).toBe('theta');
    const why = Object.fromEntries(r.excluded.map((e) => [e.system, e.reasons.join(' ')]));
    expect(why.polaris).toMatch(/overlaps the job/);
    expect(why.aurora).toMatch(/is down/);
    expect(why.frontier).toMatch(/maintenance/);
    expect(why.perlmutter).toMatch(/unknown: HTTP 503/);
  });

  it('breaks a tie of equal medians by the measured bound, then by free nodes, and labels placeholders', () => {
    const tie = { nodes: 1, walltime: 3600, dataBytes: 0 };
    const placeholder: WaitEstimate = {
      ...est('polaris', 60),
      bound95: 86_400,
      observations: 37,
      placeholderBound: true,
    };
    const r = recommend(
      tie,
      [
        snap('polaris', { queue: { ...snap('x').queue, freeNodes: 300 } }),
        snap('aurora', { queue: { ...snap('x').queue, freeNodes: 10 } }),
        snap('sophia', { queue: { ...snap('x').queue, freeNodes: 50 } }),
        snap('crux', { queue: { ...snap('x').queue, freeNodes: 90 } }),
      ],
      new Map([
        ['polaris', placeholder],
        ['aurora', { ...est('aurora', 60), bound95: 600 }],
        ['sophia', { ...est('sophia', 60), bound95: 3600 }],
        ['crux', { ...est('crux', 60), bound95: 3600 }],
      ]),
      { now: NOW },
    );
    // Aurora: tightest bound; crux before sophia: same bound, more free nodes; polaris: no bound yet.
    expect(r.ranked.map((x) => x.system)).toEqual(['aurora', 'crux', 'sophia', 'polaris']);
    expect(r.ranked[0]!.reasons[0]).toMatch(
      /first: as soon as crux, with a tighter 95% bound \(10 min vs 60 min\)/,
    );
    expect(r.ranked[2]!.reasons[0]).toMatch(/as soon as aurora/);
    expect(r.ranked.map((x) => x.reasons[0]).join(' ')).not.toMatch(/0 s sooner/);
    expect(r.ranked[3]!.reasons.join(' ')).toMatch(
      /no 95% bound yet: 37 observed waits are too few/,
    );
    expect(r.ranked[3]!.reasons.join(' ')).not.toMatch(/from 37 observed waits/);
  });
});
