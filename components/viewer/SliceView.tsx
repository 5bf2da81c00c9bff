'use client';

import { type ReactNode, useEffect, useRef } from 'react';
import {
  holdsSlice,
  type Plane,
  type Region,
  type SliceFrame,
  type SliceHeader,
  streamKey,
} from '@/lib/protocol';
import { colormapLut } from '@/lib/imaging/colormaps';
import {
  AXIS_NAMES,
  niceScaleBar,
  PLANE_AXES,
  pixelSizeUm,
  pixelToVoxel,
  rectangleToRegion,
  voxelToPixel,
} from '@/lib/imaging/planeGeometry';
import { testIds } from '@/lib/testIds';
import type { ViewerStore } from '@/stores/viewerStore';
import type { DisplayReporter } from '@/components/live/DisplayReporter';
import type { FrameStore, LatestFrame } from '@/components/live/FrameStore';
import type { PlaneStore } from '@/stores/planeStore';
import type { DrawStats } from './DrawStats';
import { localSlice } from './localSlice';
import { SharedSliceCanvas } from './SharedSliceCanvas';
import type { PlaneCover, SliceRenderer, SliceViewport } from './SliceRenderer';
import type { SliceViewports } from '@/components/measure/SliceViewports';
import { ZOOM_LIMITS } from '@/lib/viewState/viewStateCodec';

export interface SliceViewProps {
  run: string;
  plane: Plane;
  frames: FrameStore;
  store: ViewerStore;
  stats: DrawStats;
  /** Called with the volume region of a rectangle shift-dragged on the full view (zoom to ROI). */
  onRegion?: (region: Region) => void;
  /** Where this view publishes its pan and zoom, for overlays drawn in image coordinates. */
  viewports?: SliceViewports;
  /** Drawn over the image (measurements), inside the pointer area. */
  children?: ReactNode;
  /** Plane positions: click, modifier+wheel, PageUp/PageDown and [ ] move them. */
  planes?: PlaneStore;
  /** Told this view's size and visible region, so the gateway sends the level of detail it needs. */
  display?: DisplayReporter;
}

/** Screen movement (CSS px) below which a press-and-release counts as a click, not a pan. */
const CLICK_SLOP_PX = 4;
/** Zoom factor per wheel delta unit: one notch (~100) zooms by ~16 %. */
const WHEEL_ZOOM_PER_UNIT = 0.0015;
/** Crosshair colour per plane normal axis (x, y, z), the convention of most 3-D viewers. */
const AXIS_COLOURS = ['#ff6b6b', '#5ee07a', '#5aa9ff'] as const;

/**
 * One live orthogonal slice, drawn with WebGL2 (window/level and colormap on the GPU), with pan,
 * zoom, a crosshair through the picked voxel, a scale bar and a readout of the value under the
 * cursor. It reads frames and display state every animation frame, never through React state.
 */
export function SliceView({
  run,
  plane,
  frames,
  store,
  stats,
  onRegion,
  viewports,
  children,
  planes,
  display,
}: SliceViewProps) {
  const onRegionRef = useRef(onRegion);
  onRegionRef.current = onRegion;
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const readoutRef = useRef<HTMLSpanElement>(null);
  const positionRef = useRef<HTMLSpanElement>(null);
  const errorRef = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    const wrap = wrapRef.current;
    const canvas = canvasRef.current;
    const overlay = overlayRef.current;
    const ctx = overlay?.getContext('2d');
    const screen = canvas?.getContext('2d', { alpha: false });
    if (!wrap || !canvas || !overlay || !ctx || !screen) return;
    let shared: SharedSliceCanvas;
    let renderer: SliceRenderer;
    try {
      shared = SharedSliceCanvas.get();
      renderer = shared.renderer();
    } catch (error) {
      if (errorRef.current) errorRef.current.textContent = (error as Error).message;
      return;
    }
    let key = streamKey(store.getState().view, plane);
    /** Rectangle being shift-dragged, in image pixels. */
    let rubber: { from: { col: number; row: number }; to: { col: number; row: number } } | null =
      null;
    const axes = PLANE_AXES[plane];
    const viewport: SliceViewport = { centerCol: 0, centerRow: 0, zoom: 1 };
    /** The drawn frame's header in plane coordinates: a reduced frame's shape is its full shape. */
    let header: SliceHeader | null = null;
    let pixels: ArrayLike<number> | null = null;
    /** Where a reduced or cropped frame's pixels lie on the plane; null for an exact, whole frame. */
    let cover: PlaneCover | null = null;
    let reported = '';
    let drawnVersion = -1;
    let drawnColormap: string | null = null;
    let viewEpoch = -1;
    let viewDirty = true;
    /** Whether the view shows the plane as fitted, not panned or zoomed by the user or a link. */
    let fitted = true;
    let raf = 0;
    /** The preview-volume plane drawn for a local position, and what it was built from. */
    let local: { from: string; latest: LatestFrame & { frame: SliceFrame } } | null = null;
    let localVersion = -1;
    let shownPosition = '';
    let firstMarked = false;
    let last = { window: null as unknown, selected: null as unknown, width: 0, height: 0 };

    const dpr = () => window.devicePixelRatio || 1;
    const fit = () => {
      if (!header) return;
      const [rows, cols] = header.shape;
      // A link's pan and zoom stand in for "fit" until the user moves the view.
      const asked = viewports?.requestedFor(plane, header.view);
      viewport.centerCol = asked?.centerCol ?? cols / 2;
      viewport.centerRow = asked?.centerRow ?? rows / 2;
      viewport.zoom = asked?.zoom ?? 1;
      fitted = !asked;
      viewDirty = true;
    };
    /** The user panned or zoomed: no longer fitted, and a link's request is spent. */
    const moved = () => {
      fitted = false;
      viewports?.dropRequest(plane);
      viewDirty = true;
    };
    /** Device pixels per image pixel. */
    const scale = () => renderer.fitScale(canvas.width, canvas.height) * viewport.zoom;
    /** Image pixel (fractional) under a pointer event. */
    const toImage = (e: { clientX: number; clientY: number }) => {
      const rect = canvas.getBoundingClientRect();
      const sx = (e.clientX - rect.left) * dpr();
      const sy = (e.clientY - rect.top) * dpr();
      return {
        col: (sx - canvas.width / 2) / scale() + viewport.centerCol,
        row: (sy - canvas.height / 2) / scale() + viewport.centerRow,
        sx,
        sy,
      };
    };

    const drawOverlay = () => {
      ctx.clearRect(0, 0, overlay.width, overlay.height);
      if (!header) return;
      const s = scale();
      const toScreen = (col: number, row: number) => ({
        x: (col - viewport.centerCol) * s + overlay.width / 2,
        y: (row - viewport.centerRow) * s + overlay.height / 2,
      });
      const selected = store.getState().selected;
      const shape = header.shape;
      // The zoomed region, where one is being reconstructed, outlined on the full view.
      const roi =
        header.view === 'full'
          ? frames.get(run, streamKey('roi', plane))?.frame.header.region
          : undefined;
      const box = (
        a: { col: number; row: number },
        b: { col: number; row: number },
        colour: string,
      ) => {
        const p = toScreen(a.col, a.row);
        const q = toScreen(b.col, b.row);
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2 * dpr();
        ctx.strokeRect(p.x, p.y, q.x - p.x, q.y - p.y);
      };
      if (roi && header.volumeShape) {
        const spans = [roi.x, roi.y, roi.z];
        const [c0, c1] = spans[axes.col]!;
        const [r0, r1] = spans[axes.row]!;
        const perCol = shape[1] / header.volumeShape[axes.col]!;
        const perRow = shape[0] / header.volumeShape[axes.row]!;
        box(
          { col: c0 * perCol, row: r0 * perRow },
          { col: c1 * perCol, row: r1 * perRow },
          '#f2cc60',
        );
      }
      if (rubber) box(rubber.from, rubber.to, '#58a6ff');
      if (selected) {
        const p = voxelToPixel(plane, selected, shape, header.volumeShape);
        const at = toScreen(p.col, p.row);
        ctx.lineWidth = Math.max(1, dpr());
        ctx.setLineDash([6 * dpr(), 4 * dpr()]);
        // The vertical line is where the plane normal to the column axis cuts this one, and so on.
        ctx.strokeStyle = AXIS_COLOURS[axes.col];
        ctx.beginPath();
        ctx.moveTo(at.x, 0);
        ctx.lineTo(at.x, overlay.height);
        ctx.stroke();
        ctx.strokeStyle = AXIS_COLOURS[axes.row];
        ctx.beginPath();
        ctx.moveTo(0, at.y);
        ctx.lineTo(overlay.width, at.y);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      // Scale bar: at most a quarter of the canvas wide, in physical units from the voxel size.
      const um = pixelSizeUm(plane, header.voxelSize, shape[1], header.volumeShape);
      const bar = niceScaleBar((overlay.width / 4 / s) * um);
      if (bar.um > 0) {
        const length = (bar.um / um) * s;
        const margin = 12 * dpr();
        const y = overlay.height - margin;
        ctx.fillStyle = 'rgba(0,0,0,0.55)';
        ctx.fillRect(margin - 6 * dpr(), y - 22 * dpr(), length + 12 * dpr(), 28 * dpr());
        ctx.fillStyle = '#ffffff';
        ctx.fillRect(margin, y - 4 * dpr(), length, 3 * dpr());
        ctx.font = `${12 * dpr()}px ui-sans-serif, system-ui, sans-serif`;
        ctx.textBaseline = 'bottom';
        ctx.fillText(bar.label, margin, y - 7 * dpr());
      }
    };

    const frame = () => {
      raf = requestAnimationFrame(frame);
      if (renderer.gl.isContextLost()) {
        // The GPU process restarted: every view moves to a fresh shared context and re-uploads.
        shared = SharedSliceCanvas.get();
        renderer = shared.renderer();
        drawnVersion = -1;
        drawnColormap = null;
      }
      const width = Math.max(1, Math.round(canvas.clientWidth * dpr()));
      const height = Math.max(1, Math.round(canvas.clientHeight * dpr()));
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = overlay.width = width;
        canvas.height = overlay.height = height;
      }
      const state = store.getState();
      const wanted = streamKey(state.view, plane);
      if (wanted !== key) {
        key = wanted;
        drawnVersion = -1;
        header = null;
        pixels = null;
      }
      const stored = frames.get(run, key);
      const live = stored && holdsSlice(stored) ? stored : undefined;
      let latest = live;
      const lh = live?.frame.header;
      const nav = planes?.getState();
      if (nav && lh?.view === 'full' && lh.position !== undefined && lh.volumeShape)
        nav.noteLive(plane, lh.position, lh.volumeShape[axes.normal]);
      // Without steering rights a position is this page's own: the preview volume's nearest plane.
      const wantedLocal =
        nav && !nav.steer && lh?.view === 'full' ? nav.positions[plane] : undefined;
      const volume = wantedLocal !== undefined ? frames.volume(run, 'full') : undefined;
      if (volume && lh && wantedLocal !== undefined) {
        const from = `${volume.version}|${wantedLocal}`;
        if (local?.from !== from)
          local = { from, latest: localSlice(volume, plane, wantedLocal, lh, localVersion--) };
        latest = local.latest;
      } else local = null;
      const asked = nav?.steer ? nav.positions[plane] : undefined;
      const position = `${latest?.frame.header.position ?? ''}|${local ? 'local' : ''}|${asked ?? ''}`;
      if (latest && position !== shownPosition) {
        shownPosition = position;
        showPosition(latest.frame.header, !!local, asked);
      }
      let changed = viewDirty;
      if (latest && latest.version !== drawnVersion) {
        const received = latest.frame.header;
        const [rows, cols] = received.shape;
        const lod = received.lod;
        cover = lod
          ? {
              rows: lod.fullShape[0],
              cols: lod.fullShape[1],
              origin: { row: lod.origin[0], col: lod.origin[1] },
              extent: { rows: lod.extent[0], cols: lod.extent[1] },
              step: 2 ** lod.level,
            }
          : null;
        const h: SliceHeader = lod ? { ...received, shape: [...lod.fullShape] } : received;
        const reshaped = !header || header.shape.join() !== h.shape.join();
        renderer.setImage(latest.frame.pixels, received.dtype, cols, rows, cover);
        header = h;
        pixels = latest.frame.pixels;
        if (reshaped) fit();
        drawnVersion = latest.version;
        changed = true;
      }
      if (state.viewEpoch !== viewEpoch) {
        // A reset or a view toggle after the first one seen: back to fit, whatever a link said.
        if (viewEpoch !== -1) viewports?.dropRequest(plane);
        viewEpoch = state.viewEpoch;
        fit();
        changed = true;
      }
      if (state.colormap !== drawnColormap) {
        renderer.setLut(colormapLut(state.colormap));
        drawnColormap = state.colormap;
        changed = true;
      }
      changed ||= state.window !== last.window || state.selected !== last.selected;
      changed ||= width !== last.width || height !== last.height;
      if (display && header && !local) {
        // The plane region on the canvas, in full-resolution pixels, for the gateway's level choice.
        const s = scale();
        const halfCols = width / 2 / s;
        const halfRows = height / 2 / s;
        const zoomed = viewport.zoom > 1;
        const view = {
          key,
          width,
          height,
          ...(zoomed && {
            rows: [viewport.centerRow - halfRows, viewport.centerRow + halfRows] as [
              number,
              number,
            ],
            cols: [viewport.centerCol - halfCols, viewport.centerCol + halfCols] as [
              number,
              number,
            ],
          }),
        };
        const text = JSON.stringify(view);
        if (text !== reported) {
          reported = text;
          display.view(run, view);
        }
      }
      if (!changed || !state.window || !renderer.hasImage) return;
      shared.present(renderer, state.window, viewport, screen);
      drawOverlay();
      viewports?.publish(plane, {
        centerCol: viewport.centerCol,
        centerRow: viewport.centerRow,
        scale: scale() / dpr(),
        width: canvas.clientWidth,
        height: canvas.clientHeight,
        zoom: viewport.zoom,
        fitted,
        view: header?.view ?? state.view,
      });
      // Time to first drawn slice, read by e2e traces (performance.getEntriesByName).
      if (!firstMarked && latest) {
        firstMarked = true;
        performance.mark(`loupe:first-slice:${plane}`);
      }
      if (latest && !local && latest.version !== stats.lastDrawn(plane))
        stats.recordDraw(plane, latest);
      viewDirty = false;
      last = { window: state.window, selected: state.selected, width, height };
    };
    /** Position in voxels and µm; `isLocal` marks a preview plane, `asked` a pending set-slices. */
    const showPosition = (h: SliceHeader, isLocal: boolean, asked: number | undefined) => {
      const el = positionRef.current;
      if (!el) return;
      const n = h.volumeShape?.[axes.normal];
      const p = h.position;
      // The voxel's centre along the normal, from the volume's origin.
      const um = p === undefined ? null : (p + 0.5) * h.voxelSize[axes.normal];
      const pending = asked !== undefined && asked !== p ? ` → ${asked}` : '';
      el.textContent =
        `${AXIS_NAMES[axes.normal]} ${p ?? '—'}${n ? ` / ${n}` : ''} vx` +
        (um === null ? '' : ` · ${um.toFixed(1)} µm`) +
        pending +
        (isLocal ? ' · local preview' : '');
      el.dataset.local = isLocal ? 'true' : 'false';
      el.title = isLocal
        ? 'You cannot steer this run: this is the nearest plane of the preview volume, on this page only'
        : 'Where the consumer reconstructs this plane';
    };
    raf = requestAnimationFrame(frame);

    // Pointer: drag pans, a click picks the voxel, the wheel zooms about the cursor.
    let press: {
      x: number;
      y: number;
      col: number;
      row: number;
      dragging: boolean;
      drawing: boolean;
    } | null = null;
    const readout = (e: PointerEvent | null) => {
      const el = readoutRef.current;
      if (!el) return;
      if (!e || !header || !pixels) return void (el.textContent = '');
      const { col, row } = toImage(e);
      const [rows, cols] = header.shape;
      const c = Math.floor(col);
      const r = Math.floor(row);
      if (c < 0 || r < 0 || c >= cols || r >= rows) return void (el.textContent = '');
      // A reduced frame: the texel covering this plane pixel, a mean of step × step pixels.
      const tc = cover ? Math.floor((c - cover.origin.col) / cover.step) : c;
      const tr = cover ? Math.floor((r - cover.origin.row) / cover.step) : r;
      const texCols = cover ? Math.ceil(cover.extent.cols / cover.step) : cols;
      const texRows = cover ? Math.ceil(cover.extent.rows / cover.step) : rows;
      if (tc < 0 || tr < 0 || tc >= texCols || tr >= texRows) {
        el.textContent = 'not received at this zoom';
        el.dataset.exact = 'false';
        return;
      }
      const v = pixels[tr * texCols + tc]!;
      const exact = !cover || cover.step === 1;
      const [x, y, z] = pixelToVoxel(
        plane,
        c,
        r,
        header.position ?? 0,
        [rows, cols],
        header.volumeShape,
      );
      const value = Number.isInteger(v) ? String(v) : v.toPrecision(5);
      const quality = exact ? 'exact' : `reduced: mean of ${cover!.step}×${cover!.step}`;
      el.textContent = `x ${x}  y ${y}  z ${z}  = ${value}${header.unit ? ` ${header.unit}` : ''} · ${quality}`;
      el.dataset.exact = exact ? 'true' : 'false';
      el.title = `${header.description ?? ''}${exact ? '' : ' (this slow-link view is a reduced level: zoom in for exact pixels)'}`;
    };
    const onDown = (e: PointerEvent) => {
      if (e.button !== 0) return;
      wrap.focus({ preventScroll: true });
      const { col, row } = toImage(e);
      // Shift-drag on the full view draws a region to zoom into (when the caller may steer).
      const drawing = e.shiftKey && !!onRegionRef.current && header?.view === 'full';
      press = { x: e.clientX, y: e.clientY, col, row, dragging: false, drawing };
      wrap.setPointerCapture(e.pointerId);
    };
    const onMove = (e: PointerEvent) => {
      readout(e);
      if (!press) return;
      const dx = e.clientX - press.x;
      const dy = e.clientY - press.y;
      if (!press.dragging && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
      press.dragging = true;
      const { col, row } = toImage(e);
      if (press.drawing) {
        rubber = { from: { col: press.col, row: press.row }, to: { col, row } };
        viewDirty = true;
        return;
      }
      // Keep the image point grabbed at press time under the cursor.
      viewport.centerCol += press.col - col;
      viewport.centerRow += press.row - row;
      moved();
    };
    const onUp = (e: PointerEvent) => {
      if (!press) return;
      const wasDrag = press.dragging;
      const drew = press.drawing && rubber;
      press = null;
      if (wrap.hasPointerCapture(e.pointerId)) wrap.releasePointerCapture(e.pointerId);
      if (drew && rubber && header?.volumeShape) {
        const region = rectangleToRegion(
          plane,
          [rubber.from, rubber.to],
          header.position ?? 0,
          header.shape,
          header.volumeShape,
        );
        rubber = null;
        viewDirty = true;
        if (region) onRegionRef.current?.(region);
        return;
      }
      if (wasDrag || !header) return;
      const { col, row } = toImage(e);
      const [rows, cols] = header.shape;
      if (col < 0 || row < 0 || col >= cols || row >= rows) return;
      const position = header.position ?? store.getState().selected?.[axes.normal] ?? 0;
      store
        .getState()
        .select(
          pixelToVoxel(
            plane,
            Math.floor(col),
            Math.floor(row),
            position,
            [rows, cols],
            header.volumeShape,
          ),
        );
    };
    const onWheel = (e: WheelEvent) => {
      if (!header) return;
      e.preventDefault();
      // Ctrl/Alt + wheel steps through the volume (Shift: ten voxels); plain wheel zooms.
      if ((e.ctrlKey || e.altKey) && planes) {
        const d = e.deltaY || e.deltaX;
        if (d !== 0) planes.getState().step(plane, (e.shiftKey ? 10 : 1) * Math.sign(d));
        return;
      }
      const before = toImage(e);
      const zoom = Math.min(
        ZOOM_LIMITS[1],
        Math.max(ZOOM_LIMITS[0], viewport.zoom * Math.exp(-e.deltaY * WHEEL_ZOOM_PER_UNIT)),
      );
      viewport.zoom = zoom;
      // Keep the image point under the cursor fixed while zooming.
      viewport.centerCol = before.col - (before.sx - canvas.width / 2) / scale();
      viewport.centerRow = before.row - (before.sy - canvas.height / 2) / scale();
      moved();
    };
    const onLeave = () => readout(null);
    const onKey = (e: KeyboardEvent) => {
      if (!planes || e.ctrlKey || e.metaKey || e.altKey) return;
      const up = e.key === 'PageUp' || e.code === 'BracketRight';
      const down = e.key === 'PageDown' || e.code === 'BracketLeft';
      if (!up && !down) return;
      e.preventDefault();
      planes.getState().step(plane, (up ? 1 : -1) * (e.shiftKey ? 10 : 1));
    };
    wrap.addEventListener('keydown', onKey);
    wrap.addEventListener('pointerdown', onDown);
    wrap.addEventListener('pointermove', onMove);
    wrap.addEventListener('pointerup', onUp);
    wrap.addEventListener('pointercancel', onUp);
    wrap.addEventListener('pointerleave', onLeave);
    wrap.addEventListener('wheel', onWheel, { passive: false });
    return () => {
      cancelAnimationFrame(raf);
      wrap.removeEventListener('pointerdown', onDown);
      wrap.removeEventListener('pointermove', onMove);
      wrap.removeEventListener('pointerup', onUp);
      wrap.removeEventListener('pointercancel', onUp);
      wrap.removeEventListener('pointerleave', onLeave);
      wrap.removeEventListener('wheel', onWheel);
      wrap.removeEventListener('keydown', onKey);
      display?.drop(run, key);
      renderer.dispose();
    };
  }, [run, plane, frames, store, stats, viewports, planes, display]);

  return (
    <figure className="flex flex-col gap-1">
      <figcaption className="flex items-center justify-between text-xs text-muted">
        <span className="font-mono font-semibold uppercase text-white">{plane}</span>
        <span ref={positionRef} className="font-mono" data-testid={testIds.slicePosition(plane)} />
      </figcaption>
      <div
        ref={wrapRef}
        tabIndex={0}
        role="group"
        aria-label={`${plane} slice: PageUp/PageDown or [ ] step ${AXIS_NAMES[PLANE_AXES[plane].normal]} by one voxel, Shift by ten`}
        data-testid={`slice-view-${plane}`}
        className="relative aspect-square w-full cursor-crosshair touch-none select-none overflow-hidden rounded border border-edge bg-black"
      >
        <canvas
          ref={canvasRef}
          data-testid={testIds.sliceCanvas(plane)}
          className="absolute inset-0 h-full w-full"
          width={1}
          height={1}
        />
        <canvas
          ref={overlayRef}
          className="pointer-events-none absolute inset-0 h-full w-full"
          width={1}
          height={1}
        />
        {children}
        <p ref={errorRef} className="absolute inset-x-2 top-2 text-sm text-bad" role="alert" />
      </div>
      <span
        ref={readoutRef}
        className="h-4 font-mono text-xs text-muted"
        data-testid={testIds.sliceReadout(plane)}
        aria-live="off"
      />
    </figure>
  );
}
