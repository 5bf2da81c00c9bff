'use client';

import { useEffect, useRef } from 'react';

/** What the run page asks of the steering panel when a job ended: resubmit, shaped like it. */
export interface OpenResubmit {
  run: string;
  system?: string;
  walltimeMin?: number;
}

const EVENT = 'loupe:open-resubmit';

/**
 * The narrow port between the run page (which shows how a job ended) and the steering panel
 * (which owns the resubmit form): a window event, so neither imports the other's state.
 */
export function openResubmit(request: OpenResubmit): void {
  window.dispatchEvent(new CustomEvent<OpenResubmit>(EVENT, { detail: request }));
}

/** Calls `handler` when the resubmit form of `run` is asked to open. */
export function useOpenResubmit(run: string, handler: (request: OpenResubmit) => void): void {
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    const listener = (e: Event) => {
      const request = (e as CustomEvent<OpenResubmit>).detail;
      if (request.run === run) latest.current(request);
    };
    window.addEventListener(EVENT, listener);
    return () => window.removeEventListener(EVENT, listener);
  }, [run]);
}
