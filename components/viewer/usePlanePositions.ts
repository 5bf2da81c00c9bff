'use client';

import { useEffect, useMemo } from 'react';
import type { CommandRequestInput, Plane } from '@/lib/protocol';
import { createPlaneStore, type PlaneStore } from '@/stores/planeStore';
import type { ViewerStore } from '@/stores/viewerStore';
import { SlicesCoalescer } from './SlicesCoalescer';

/**
 * The run page's plane positions: a click (the picked voxel) moves every plane through it; for a
 * viewer who may steer, positions become coalesced `set-slices` commands, else they stay local.
 */
export function usePlanePositions(
  store: ViewerStore,
  steer: boolean,
  send: (request: CommandRequestInput) => Promise<unknown>,
  initial?: Partial<Record<Plane, number>>,
): PlaneStore {
  const planes = useMemo(() => {
    const p = createPlaneStore();
    if (initial) p.getState().setPositions(initial);
    return p;
    // The initial positions are read once, when the page opens (from its URL).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => planes.getState().setSteer(steer), [planes, steer]);
  useEffect(
    () =>
      store.subscribe((s, prev) => {
        if (s.selected && s.selected !== prev.selected) planes.getState().moveTo(s.selected);
      }),
    [store, planes],
  );
  useEffect(() => {
    if (!steer) return;
    const coalescer = new SlicesCoalescer((positions) => send({ kind: 'set-slices', positions }));
    const wanted = planes.getState().positions;
    if (Object.keys(wanted).length > 0) coalescer.want(wanted);
    const off = planes.subscribe((s, prev) => {
      if (s.positions !== prev.positions) coalescer.want(s.positions);
    });
    return () => {
      off();
      coalescer.close();
    };
  }, [planes, steer, send]);
  return planes;
}
