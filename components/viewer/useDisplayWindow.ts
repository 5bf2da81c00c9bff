'use client';

import { useEffect } from 'react';
import { PLANES, streamKey } from '@/lib/protocol';
import { computeHistogram, windowFromHistogram } from '@/lib/imaging/histogram';
import type { ViewerStore } from '@/stores/viewerStore';
import type { FrameStore } from '@/components/live/FrameStore';

/** How often we look for the first frame to take a window from, ms. */
const FIRST_FRAME_POLL_MS = 250;
/** Bins for auto-contrast: fine enough that a 16-bit window lands within 0.03 % of the percentile. */
const AUTO_BINS = 4096;

/**
 * Keeps the display window: the producer's stated range (else auto-contrast) on the first frame,
 * and auto-contrast from the newest slice's histogram whenever asked — on demand, never per frame,
 * so the image does not breathe while a scientist reads it.
 */
export function useDisplayWindow(run: string, frames: FrameStore, store: ViewerStore): void {
  useEffect(() => {
    const newest = () => PLANES.map((p) => frames.get(run, streamKey('full', p))).find(Boolean);
    const auto = () => {
      const latest = newest();
      if (!latest) return false;
      const h = computeHistogram(latest.frame.pixels, AUTO_BINS);
      store.getState().setWindow(windowFromHistogram(h), 'auto');
      return true;
    };
    const timer = setInterval(() => {
      if (store.getState().window) return;
      const latest = newest();
      if (!latest) return;
      const range = latest.frame.header.range;
      if (range && range[1] > range[0])
        store.getState().setWindow({ min: range[0], max: range[1] }, 'producer');
      else auto();
    }, FIRST_FRAME_POLL_MS);
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.autoEpoch !== prev.autoEpoch) auto();
    });
    return () => {
      clearInterval(timer);
      unsubscribe();
    };
  }, [run, frames, store]);
}
