'use client';

import { useEffect, useMemo } from 'react';
import type { RunState } from '@/lib/protocol';
import type { LiveClient } from '@/components/live/LiveClient';
import type { ViewerStore } from '@/stores/viewerStore';
import { RecordingApi } from './RecordingApi';
import { SUMMARY_REFRESH_MS, TimelineController } from './TimelineController';

/** The live indicator and the live edge follow the stream this often, ms. */
const LIVE_TICK_MS = 250;

/**
 * The run page's timeline: a controller whose `frames` the viewers read instead of the live
 * store. A finished or failed run has no live stream: its recording is replayed from the start.
 */
export function useTimeline(
  live: LiveClient,
  run: string,
  viewer: ViewerStore,
  state: RunState | undefined,
): TimelineController {
  const controller = useMemo(
    () =>
      new TimelineController(new RecordingApi((p, i) => live.api(p, i), run), live.frames, viewer),
    [live, run, viewer],
  );
  useEffect(() => {
    void controller.refresh();
    const summary = setInterval(() => void controller.refresh(), SUMMARY_REFRESH_MS);
    const edge = setInterval(() => controller.noteLive(), LIVE_TICK_MS);
    return () => {
      clearInterval(summary);
      clearInterval(edge);
      controller.dispose();
    };
  }, [controller]);

  const ended = state === 'finished' || state === 'failed';
  useEffect(() => {
    controller.finished = ended;
    if (!ended) return;
    // Opening a run that has ended plays its recording at 1× from the start.
    let cancelled = false;
    void controller.refresh().then(() => {
      if (!cancelled && controller.store.getState().mode === 'live') controller.play(1);
    });
    return () => {
      cancelled = true;
    };
  }, [controller, ended]);
  return controller;
}
