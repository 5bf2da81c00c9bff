'use client';

import { useEffect, useState } from 'react';
import { PLANES, streamKey } from '@/lib/protocol';
import type { FrameStore } from '@/components/live/FrameStore';

/** How often the newest header is read for its unit: it changes only with the producer. */
const META_POLL_MS = 500;

export interface ValueMeta {
  unit?: string;
  description?: string;
  range?: [number, number];
}

/** The value unit, description and range of a run's newest full-view slice (frame header). */
export function useValueMeta(run: string, frames: FrameStore): ValueMeta {
  const [meta, setMeta] = useState<ValueMeta>({});
  useEffect(() => {
    const read = () => {
      const h = PLANES.map((p) => frames.get(run, streamKey('full', p))).find(Boolean)?.frame
        .header;
      if (!h) return;
      setMeta((m) =>
        m.unit === h.unit &&
        m.description === h.description &&
        m.range?.[0] === h.range?.[0] &&
        m.range?.[1] === h.range?.[1]
          ? m
          : {
              ...(h.unit && { unit: h.unit }),
              ...(h.description && { description: h.description }),
              ...(h.range && { range: h.range }),
            },
      );
    };
    read();
    const timer = setInterval(read, META_POLL_MS);
    return () => clearInterval(timer);
  }, [run, frames]);
  return meta;
}
