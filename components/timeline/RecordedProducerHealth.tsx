'use client';

import { useEffect, useRef, useState } from 'react';
import type { RecordedProducerMetrics } from '@/lib/protocol';
import { testIds } from '@/lib/testIds';
import { useTimelineStore } from '@/stores/timelineStore';
import type { TimelineController } from './TimelineController';

/**
 * While the timeline shows a past moment (scrubbed, frozen or replayed), the producer's health as
 * it reported it then, from the recording: the live figures of the metrics panel describe now.
 * At most one request is in flight; a moment that moved meanwhile is asked for next.
 */
export function RecordedProducerHealth({ controller }: { controller: TimelineController }) {
  const mode = useTimelineStore(controller.store, (s) => s.mode);
  const shownAt = useTimelineStore(controller.store, (s) => s.shownAt);
  const [found, setFound] = useState<{
    at: number;
    metrics: RecordedProducerMetrics | null;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The moment to read next (null: live), and whether a read is under way. */
  const wanted = useRef<number | null>(null);
  const busy = useRef(false);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    wanted.current = mode === 'live' ? null : shownAt;
    if (wanted.current === null || busy.current) return;
    busy.current = true;
    void (async () => {
      try {
        while (mounted.current && wanted.current !== null) {
          const t = wanted.current;
          let metrics: RecordedProducerMetrics | null;
          try {
            metrics = await controller.api.producerMetricsAt(t);
          } catch (e) {
            if (mounted.current) setError((e as Error).message);
            return;
          }
          if (!mounted.current) return;
          setFound({ at: t, metrics });
          setError(null);
          if (wanted.current === t) return;
        }
      } finally {
        busy.current = false;
      }
    })();
  }, [controller, mode, shownAt]);

  if (mode === 'live' || shownAt === null) return null;
  const m = found?.metrics ?? null;
  const s = m?.sample;
  return (
    <section
      data-testid={testIds.recordedProducer}
      data-state={error ? 'error' : !found ? 'loading' : s ? 'found' : 'none'}
      className="mb-3 rounded border border-edge px-2 py-1 text-xs"
    >
      <h3 className="text-muted">
        Producer at the moment shown
        {m ? ` (reported ${new Date(m.receivedAt).toLocaleTimeString()})` : ''}
      </h3>
      {error ? (
        <p role="alert" className="text-bad">
          {error}
        </p>
      ) : !found ? (
        <p className="text-muted">reading the recording…</p>
      ) : !s ? (
        <p className="text-muted">no report from the producer within 10 s before this moment</p>
      ) : (
        <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5">
          {(
            [
              ['projections / s', s.projectionsPerSecond.toFixed(0)],
              ['slices / s', s.slicesPerSecond.toFixed(1)],
              ['angular coverage', `${s.coverageDeg.toFixed(0)}°`],
              ['cycle', `${s.cycleMs.toFixed(0)} ms`],
              ['lag behind detector', `${s.lagMs.toFixed(0)} ms`],
              ['paused', s.paused ? 'yes' : 'no'],
            ] as const
          ).map(([k, value]) => (
            <div key={k} className="contents">
              <dt className="text-muted">{k}</dt>
              <dd className="font-mono">{value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
