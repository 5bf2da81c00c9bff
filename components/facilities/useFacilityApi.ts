'use client';

import { useMemo } from 'react';
import { useLiveClient } from '@/components/live/LiveClientProvider';
import { useFacilitiesStore } from '@/stores/StoreProvider';
import { FacilityApi } from './FacilityApi';

/** The tab's FacilityApi, bound to its LiveClient and facilities store. */
export function useFacilityApi(): FacilityApi {
  const live = useLiveClient();
  const store = useFacilitiesStore();
  return useMemo(() => new FacilityApi(live, store), [live, store]);
}
