'use client';

import { useNow } from '@/components/runs/useNow';
import { useFacilities } from '@/stores/StoreProvider';

/**
 * Now on the gateway's clock (epoch ms), refreshed every `intervalMs`. Facility times are the
 * gateway's (the simulator may run ahead of real time), so countdowns are taken against this.
 */
export function useFacilityNow(intervalMs = 1000): number {
  const offset = useFacilities((s) => s.clockOffsetMs);
  return useNow(intervalMs) + (offset ?? 0);
}
