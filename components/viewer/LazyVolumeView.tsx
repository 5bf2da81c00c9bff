'use client';

import dynamic from 'next/dynamic';
import { useEffect, useState } from 'react';
import { PLANES } from '@/lib/protocol';
import type { VolumeViewProps } from './VolumeView';

/** How often the placeholder checks whether a slice has been drawn, ms. */
const POLL_MS = 200;
/** Mount the 3-D view anyway after this long without a slice (no frames yet), ms. */
const MOUNT_ANYWAY_MS = 8000;

const VolumeView = dynamic(() => import('./VolumeView').then((m) => m.VolumeView), {
  ssr: false,
  loading: () => <VolumePlaceholder />,
});

function VolumePlaceholder() {
  return (
    <figure className="flex flex-col gap-1" aria-busy="true">
      <figcaption className="text-xs font-mono font-semibold uppercase text-white">3-D</figcaption>
      <div className="aspect-square w-full rounded border border-edge bg-black" />
      <span className="h-4 font-mono text-xs text-muted">loading the 3-D view…</span>
    </figure>
  );
}

/**
 * The 3-D view, loaded (three.js and react-three-fiber, the page's largest scripts) and mounted
 * only once the slices have drawn: compiling its ray-marching shader and opening its context took
 * seconds of main thread on a software GPU, in front of the first slice.
 */
export function LazyVolumeView(props: VolumeViewProps) {
  const [ready, setReady] = useState(false);
  const { stats } = props;
  useEffect(() => {
    if (ready) return;
    const started = performance.now();
    const timer = setInterval(() => {
      const drawn = PLANES.some((p) => stats.lastDrawn(p) >= 0);
      if (drawn || performance.now() - started > MOUNT_ANYWAY_MS) setReady(true);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [ready, stats]);
  return ready ? <VolumeView {...props} /> : <VolumePlaceholder />;
}
