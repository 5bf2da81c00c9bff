'use client';

import dynamic from 'next/dynamic';

/**
 * The run's charts with recharts loaded after the page, not in front of its first slice: the
 * figures are sampled every half second anyway, so a moment without them costs nothing.
 */
export const LazyRunMetricsPanel = dynamic(
  () => import('./RunMetricsPanel').then((m) => m.RunMetricsPanel),
  { ssr: false, loading: () => <p className="text-xs text-muted">loading charts…</p> },
);
