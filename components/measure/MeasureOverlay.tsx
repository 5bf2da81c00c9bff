'use client';

import { useEffect, useRef } from 'react';
import { isSliceFrame, type Plane, streamKey } from '@/lib/protocol';
import { lineLengthUm } from '@/lib/measure/sampleProfile';
import { pixelPitch } from '@/lib/measure/pixelPitch';
import type { ImagePoint, MeasurementKind } from '@/lib/measure/Measurement';
import type { FrameStore } from '@/components/live/FrameStore';
import { type MeasureStore, useMeasureStore } from '@/stores/measureStore';
import type { ViewerStore } from '@/stores/viewerStore';
import { imageToScreen, screenToImage, type SliceViewports } from './SliceViewports';

export interface MeasureOverlayProps {
  run: string;
  plane: Plane;
  frames: FrameStore;
  viewer: ViewerStore;
  measures: MeasureStore;
  viewports: SliceViewports;
}

/** A drag shorter than this (CSS px) draws nothing: it was a click. */
const MIN_DRAG_PX = 3;
const COLOUR = '#4dd0e1';
const SELECTED = '#ffd54f';

/** Formats a length in µm, or mm from 1000 µm, to 3 significant digits. */
export function formatLengthUm(um: number): string {
  return um >= 1000 ? `${+(um / 1000).toPrecision(3)} mm` : `${+um.toPrecision(3)} µm`;
}

/**
 * The run's measurements on one slice plane, drawn in image coordinates over the slice (so they
 * follow pan and zoom), and, while a tool is chosen, the drag that draws a new one. With no tool
 * the overlay lets every pointer event through to the slice (pan, pick, zoom to ROI).
 */
export function MeasureOverlay({
  run,
  plane,
  frames,
  viewer,
  measures,
  viewports,
}: MeasureOverlayProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  const tool = useMeasureStore(measures, (s) => s.tool);

  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    let drag: { kind: MeasurementKind; a: ImagePoint; b: ImagePoint } | null = null;
    let drawn = '';
    let raf = 0;

    const draw = () => {
      raf = requestAnimationFrame(draw);
      const v = viewports.get(plane);
      const { list, selected } = measures.getState();
      const view = viewer.getState().view;
      const dpr = window.devicePixelRatio || 1;
      const key = `${v?.version}|${view}|${selected}|${JSON.stringify(list)}|${JSON.stringify(drag)}|${dpr}`;
      if (key === drawn) return;
      drawn = key;
      if (!v) return;
      canvas.width = Math.max(1, Math.round(v.width * dpr));
      canvas.height = Math.max(1, Math.round(v.height * dpr));
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, v.width, v.height);
      const stored = frames.get(run, streamKey(view, plane))?.frame;
      const pitch = stored && isSliceFrame(stored) ? pixelPitch(plane, stored.header) : null;
      const shapes = list
        .filter((m) => m.plane === plane && m.view === view)
        .map((m) => ({ ...m, selected: m.id === selected }));
      if (drag) shapes.push({ id: '', plane, view, ...drag, selected: true });
      ctx.font = '12px ui-sans-serif, system-ui, sans-serif';
      ctx.lineWidth = 2;
      for (const m of shapes) {
        const p = imageToScreen(v, m.a.col, m.a.row);
        const q = imageToScreen(v, m.b.col, m.b.row);
        ctx.strokeStyle = ctx.fillStyle = m.selected ? SELECTED : COLOUR;
        ctx.beginPath();
        if (m.kind === 'ruler' || m.kind === 'profile') {
          ctx.setLineDash(m.kind === 'profile' ? [6, 3] : []);
          ctx.moveTo(p.x, p.y);
          ctx.lineTo(q.x, q.y);
        } else if (m.kind === 'rectangle') {
          ctx.setLineDash([]);
          ctx.rect(p.x, p.y, q.x - p.x, q.y - p.y);
        } else {
          ctx.setLineDash([]);
          ctx.ellipse(
            (p.x + q.x) / 2,
            (p.y + q.y) / 2,
            Math.abs(q.x - p.x) / 2,
            Math.abs(q.y - p.y) / 2,
            0,
            0,
            2 * Math.PI,
          );
        }
        ctx.stroke();
        ctx.setLineDash([]);
        const label =
          m.kind === 'ruler' && pitch ? formatLengthUm(lineLengthUm(m.a, m.b, pitch)) : m.id;
        if (label) ctx.fillText(label, q.x + 4, q.y - 4);
      }
    };
    raf = requestAnimationFrame(draw);

    const at = (e: PointerEvent): ImagePoint | null => {
      const v = viewports.get(plane);
      if (!v) return null;
      const rect = canvas.getBoundingClientRect();
      return screenToImage(v, e.clientX - rect.left, e.clientY - rect.top);
    };
    let start: { x: number; y: number } | null = null;
    // Native listeners that stop the event before the slice view's own (on the parent) sees it.
    const onDown = (e: PointerEvent) => {
      const kind = measures.getState().tool;
      const p = at(e);
      if (!kind || !p || e.button !== 0) return;
      e.stopPropagation();
      canvas.setPointerCapture(e.pointerId);
      start = { x: e.clientX, y: e.clientY };
      drag = { kind, a: p, b: p };
    };
    const onMove = (e: PointerEvent) => {
      if (!drag) return;
      e.stopPropagation();
      const p = at(e);
      if (p) drag = { ...drag, b: p };
    };
    const onUp = (e: PointerEvent) => {
      if (!drag || !start) return;
      e.stopPropagation();
      const done = drag;
      const moved = Math.hypot(e.clientX - start.x, e.clientY - start.y);
      drag = null;
      start = null;
      if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
      if (moved < MIN_DRAG_PX) return;
      measures
        .getState()
        .add({ kind: done.kind, plane, view: viewer.getState().view, a: done.a, b: done.b });
    };
    canvas.addEventListener('pointerdown', onDown);
    canvas.addEventListener('pointermove', onMove);
    canvas.addEventListener('pointerup', onUp);
    canvas.addEventListener('pointercancel', onUp);
    return () => {
      cancelAnimationFrame(raf);
      canvas.removeEventListener('pointerdown', onDown);
      canvas.removeEventListener('pointermove', onMove);
      canvas.removeEventListener('pointerup', onUp);
      canvas.removeEventListener('pointercancel', onUp);
    };
  }, [run, plane, frames, viewer, measures, viewports]);

  return (
    <canvas
      ref={ref}
      data-testid={`measure-overlay-${plane}`}
      aria-hidden="true"
      className={`absolute inset-0 h-full w-full ${tool ? 'pointer-events-auto cursor-crosshair' : 'pointer-events-none'}`}
      width={1}
      height={1}
    />
  );
}
