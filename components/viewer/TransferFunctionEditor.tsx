'use client';

import { useRef } from 'react';
import { colormapGradient } from '@/lib/imaging/colormaps';
import type { TransferPoint } from '@/lib/imaging/transferFunction';
import { useViewerStore, type ViewerStore } from '@/stores/viewerStore';

const WIDTH = 320;
const HEIGHT = 72;
/** Radius of a control point's grab area, in SVG units. */
const HANDLE_R = 6;

/**
 * The DVR transfer function: opacity against normalised value over the colormap. Drag a point to
 * move it, double-click the background to add one, double-click a point to remove it.
 */
export function TransferFunctionEditor({ store }: { store: ViewerStore }) {
  const { points, colormap } = useViewerStore(store, (s) => ({
    points: s.transfer,
    colormap: s.colormap,
  }));
  const svgRef = useRef<SVGSVGElement>(null);
  const toPoint = (e: { clientX: number; clientY: number }): TransferPoint => {
    const rect = svgRef.current!.getBoundingClientRect();
    return {
      x: Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width)),
      opacity: Math.min(1, Math.max(0, 1 - (e.clientY - rect.top) / rect.height)),
    };
  };
  const set = (next: TransferPoint[]) => store.getState().setTransfer(next);
  const startDrag = (index: number) => (e: React.PointerEvent<SVGCircleElement>) => {
    e.stopPropagation();
    const target = e.currentTarget;
    target.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => {
      const current = store.getState().transfer;
      set(current.map((p, i) => (i === index ? toPoint(ev) : p)));
    };
    const up = () => {
      target.removeEventListener('pointermove', move);
      target.removeEventListener('pointerup', up);
    };
    target.addEventListener('pointermove', move);
    target.addEventListener('pointerup', up);
  };
  const line = points.map((p) => `${p.x * WIDTH},${(1 - p.opacity) * HEIGHT}`).join(' ');
  return (
    <div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        className="h-[72px] w-full rounded border border-edge"
        style={{ backgroundImage: colormapGradient(colormap) }}
        onDoubleClick={(e) => set([...points, toPoint(e)])}
        role="img"
        aria-label="transfer function: opacity against value"
      >
        <rect width={WIDTH} height={HEIGHT} fill="rgba(13,17,23,0.55)" />
        <polyline
          points={`0,${HEIGHT} ${line} ${WIDTH},${HEIGHT}`}
          fill="rgba(255,255,255,0.18)"
          stroke="white"
          strokeWidth={1.5}
          vectorEffect="non-scaling-stroke"
        />
        {points.map((p, i) => (
          <circle
            key={i}
            cx={p.x * WIDTH}
            cy={(1 - p.opacity) * HEIGHT}
            r={HANDLE_R}
            fill="#0d1117"
            stroke="white"
            strokeWidth={1.5}
            vectorEffect="non-scaling-stroke"
            className="cursor-move"
            onPointerDown={startDrag(i)}
            onDoubleClick={(e) => {
              e.stopPropagation();
              if (points.length > 2) set(points.filter((_, j) => j !== i));
            }}
          />
        ))}
      </svg>
      <p className="mt-0.5 text-[11px] text-muted">
        drag points · double-click to add or remove · x = value in the window, y = opacity
      </p>
    </div>
  );
}
