'use client';

import { useEffect, useRef } from 'react';
import { type Plane, streamKey } from '@/lib/protocol';
import { type DisplayWindow, toGreyRgba } from '@/lib/imaging/windowLevel';
import { testIds } from '@/lib/testIds';
import type { FrameStore } from '@/components/live/FrameStore';
import type { DrawStats } from './DrawStats';

export interface SliceViewProps {
  run: string;
  plane: Plane;
  frames: FrameStore;
  /** Read every animation frame, so dragging the window does not re-render React. */
  windowRef: { current: DisplayWindow | null };
  stats: DrawStats;
}

/**
 * One live orthogonal slice: draws the newest frame of its stream when a new one arrived or the
 * window changed. Pixels never pass through React state.
 */
export function SliceView({ run, plane, frames, windowRef, stats }: SliceViewProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    let drawnVersion = -1;
    let drawnWindow: DisplayWindow | null = null;
    let image: ImageData | null = null;
    let raf = 0;
    const key = streamKey('full', plane);
    const draw = () => {
      raf = requestAnimationFrame(draw);
      const latest = frames.get(run, key);
      const window = windowRef.current;
      if (!latest || !window) return;
      if (latest.version === drawnVersion && window === drawnWindow) return;
      const [rows, cols] = latest.frame.header.shape as [number, number];
      if (canvas.width !== cols || canvas.height !== rows || !image) {
        canvas.width = cols;
        canvas.height = rows;
        image = ctx.createImageData(cols, rows);
      }
      toGreyRgba(latest.frame.pixels, window, image.data);
      ctx.putImageData(image, 0, 0);
      if (latest.version !== drawnVersion) stats.recordDraw(plane, latest.frame.header.publishedAt);
      drawnVersion = latest.version;
      drawnWindow = window;
    };
    raf = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(raf);
  }, [run, plane, frames, windowRef, stats]);

  return (
    <figure className="flex flex-col gap-1">
      <figcaption className="flex items-center justify-between text-xs text-muted">
        <span className="font-mono uppercase">{plane}</span>
      </figcaption>
      <canvas
        ref={canvasRef}
        data-testid={testIds.sliceCanvas(plane)}
        className="aspect-square w-full rounded border border-edge bg-black [image-rendering:pixelated]"
        width={1}
        height={1}
      />
    </figure>
  );
}
