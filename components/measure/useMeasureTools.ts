'use client';

import { useMemo } from 'react';
import { createMeasureStore } from '@/stores/measureStore';
import { SliceViewports } from './SliceViewports';

/** A run page's measurement state and the slice views' published viewports, made once per page. */
export function useMeasureTools() {
  return useMemo(() => ({ measures: createMeasureStore(), viewports: new SliceViewports() }), []);
}
