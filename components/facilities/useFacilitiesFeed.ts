'use client';

import { useEffect } from 'react';
import { useFacilitiesStore } from '@/stores/StoreProvider';
import { useFacilityApi } from './useFacilityApi';

/** Incidents and default-job estimates follow snapshot changes, but no more often than this. */
const FOLLOW_MS = 5000;
/** Decisions have no socket event: another staff member's choice shows within this. */
const DECISIONS_MS = 10_000;

/**
 * Keeps what the socket does not push (incidents, default-job waits, site decisions) current
 * while a facilities view is mounted.
 */
export function useFacilitiesFeed(): void {
  const api = useFacilityApi();
  const store = useFacilitiesStore();
  useEffect(() => {
    let last = 0;
    let pending: ReturnType<typeof setTimeout> | null = null;
    const follow = () => {
      last = Date.now();
      void api.refresh().then(() => api.refreshDefaultEstimate());
    };
    follow();
    void api.loadDecisions();
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.systems === prev.systems || pending) return;
      pending = setTimeout(
        () => {
          pending = null;
          follow();
        },
        Math.max(0, last + FOLLOW_MS - Date.now()),
      );
    });
    const decisions = setInterval(() => void api.loadDecisions(), DECISIONS_MS);
    return () => {
      unsubscribe();
      clearInterval(decisions);
      if (pending) clearTimeout(pending);
    };
  }, [api, store]);
}
