import { z } from 'zod';
import { COLORMAPS } from '@/lib/imaging/colormaps';
import { MAX_EDGE } from '@/lib/protocol';

/**
 * A run page's view as URL query parameters, short enough to paste: each field is one parameter,
 * decoded and then validated with zod, so a hand-edited or truncated link opens the run with the
 * fields that are still valid and defaults for the rest (never an error page).
 *
 *   v=roi  p=xy:40,xz:12,yz:70  w=0.01,0.125  c=viridis  vm=dvr  tf=0:0,0.2:0,1:0.9
 *   z=xy:2:40.5:61.25  (per plane: zoom relative to fit, then the image pixel at the view's centre)
 *
 * Other parts of the viewer add their own parameters with `defineViewStateParam` (e.g. `m` for
 * measurements): the codec carries them and validates them with the schema given there.
 */

const Position = z.number().int().nonnegative().max(MAX_EDGE);
const Finite = z.number().finite();

/** Zoom limits of a slice view (relative to "fit"): the range its wheel allows. */
export const ZOOM_LIMITS = [0.25, 64] as const;

/**
 * Pan and zoom of one slice view: `zoom` relative to the whole plane fitting the view, and the
 * plane pixel (fractional, in the plane's own pixels) at the view's centre. The same numbers give
 * the same picture in a view of the same size, and the same region in a view of another size.
 */
export const PanZoom = z
  .object({
    zoom: z.number().min(ZOOM_LIMITS[0]).max(ZOOM_LIMITS[1]),
    centerCol: z
      .number()
      .min(-MAX_EDGE)
      .max(2 * MAX_EDGE),
    centerRow: z
      .number()
      .min(-MAX_EDGE)
      .max(2 * MAX_EDGE),
  })
  .strict();
export type PanZoom = z.infer<typeof PanZoom>;

export const ViewStateSchema = z
  .object({
    view: z.enum(['full', 'roi']),
    positions: z
      .object({ xy: Position.optional(), xz: Position.optional(), yz: Position.optional() })
      .strict(),
    window: z
      .object({ min: Finite, max: Finite })
      .strict()
      .refine((w) => w.max > w.min, { message: 'window max must exceed min' }),
    colormap: z.enum(COLORMAPS),
    volumeMode: z.enum(['mip', 'dvr', 'iso']),
    transfer: z
      .array(z.object({ x: z.number().min(0).max(1), opacity: z.number().min(0).max(1) }).strict())
      .min(2)
      .max(16),
    panZoom: z
      .object({ xy: PanZoom.optional(), xz: PanZoom.optional(), yz: PanZoom.optional() })
      .strict(),
  })
  .partial();
export type ViewState = z.infer<typeof ViewStateSchema>;

/** A parameter another module owns: its key, how its value is written, and its schema. */
export interface ViewStateParam<T> {
  key: string;
  schema: z.ZodType<T>;
  format(value: T): string;
  /** Raw text → value to validate; throw or return undefined for text that is not one. */
  parse(text: string): unknown;
}

/** The parameters this codec writes itself; a page rewriting its URL replaces exactly these and the extensions. */
export const BUILT_IN = ['v', 'p', 'w', 'c', 'vm', 'tf', 'z'] as const;
const extensions = new Map<string, ViewStateParam<unknown>>();

/** The keys of the registered extensions. */
export function viewStateExtensionKeys(): string[] {
  return [...extensions.keys()];
}

/** Registers a parameter (once per key; the built-in keys are taken). */
export function defineViewStateParam<T>(param: ViewStateParam<T>): ViewStateParam<T> {
  if ((BUILT_IN as readonly string[]).includes(param.key))
    throw new Error(`view-state parameter "${param.key}" is built in`);
  extensions.set(param.key, param as ViewStateParam<unknown>);
  return param;
}

/** Shortest decimal that reads back as the same float32-or-better value (no rounding to integers). */
function num(v: number): string {
  return String(Number(v.toPrecision(7)));
}

const numbers = (text: string) => text.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));

export function encodeViewState(
  state: ViewState,
  extras: Record<string, unknown> = {},
): URLSearchParams {
  const q = new URLSearchParams();
  if (state.view) q.set('v', state.view);
  if (state.positions) {
    const p = Object.entries(state.positions)
      .filter(([, v]) => v !== undefined)
      .map(([plane, v]) => `${plane}:${v}`);
    if (p.length > 0) q.set('p', p.join(','));
  }
  if (state.window) q.set('w', `${num(state.window.min)},${num(state.window.max)}`);
  if (state.colormap) q.set('c', state.colormap);
  if (state.volumeMode) q.set('vm', state.volumeMode);
  if (state.transfer)
    q.set('tf', state.transfer.map((t) => `${num(t.x)}:${num(t.opacity)}`).join(','));
  if (state.panZoom) {
    const z = Object.entries(state.panZoom)
      .filter((e): e is [string, PanZoom] => e[1] !== undefined)
      // Exact (shortest round-trip) numbers: a rounded centre can move a screen pixel's sample
      // across a texel edge, and a copied link is to draw the same pixels.
      .map(([plane, v]) => `${plane}:${v.zoom}:${v.centerCol}:${v.centerRow}`);
    if (z.length > 0) q.set('z', z.join(','));
  }
  for (const [key, value] of Object.entries(extras)) {
    const param = extensions.get(key);
    if (param && value !== undefined) q.set(key, param.format(value));
  }
  return q;
}

/** Decodes what is valid; `errors` names each parameter that was dropped and why. */
export function decodeViewState(query: URLSearchParams | string): {
  state: ViewState;
  extras: Record<string, unknown>;
  errors: string[];
} {
  const q = typeof query === 'string' ? new URLSearchParams(query) : query;
  const errors: string[] = [];
  const raw: Record<string, unknown> = {};
  const v = q.get('v');
  if (v !== null) raw.view = v;
  const p = q.get('p');
  if (p !== null) {
    const positions: Record<string, number> = {};
    for (const part of p.split(',')) {
      const [plane, value] = part.split(':');
      if (plane) positions[plane] = Number(value);
    }
    raw.positions = positions;
  }
  const w = q.get('w');
  if (w !== null) {
    const [min, max] = numbers(w);
    raw.window = { min, max };
  }
  const c = q.get('c');
  if (c !== null) raw.colormap = c;
  const vm = q.get('vm');
  if (vm !== null) raw.volumeMode = vm;
  const tf = q.get('tf');
  if (tf !== null)
    raw.transfer = tf.split(',').map((pair) => {
      const [x, opacity] = pair.split(':').map(Number);
      return { x, opacity };
    });
  const zq = q.get('z');
  if (zq !== null) {
    const panZoom: Record<string, unknown> = {};
    for (const part of zq.split(',')) {
      const [plane, ...rest] = part.split(':');
      const [zoom, centerCol, centerRow] = rest.map((t) => (t.trim() === '' ? NaN : Number(t)));
      if (plane) panZoom[plane] = { zoom, centerCol, centerRow };
    }
    raw.panZoom = panZoom;
  }
  // Field by field, so one bad field costs only itself.
  const state: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    const one = ViewStateSchema.safeParse({ [field]: value });
    if (one.success) Object.assign(state, one.data);
    else errors.push(`${field}: ${one.error.issues[0]?.message ?? 'invalid'}`);
  }
  const extras: Record<string, unknown> = {};
  for (const [key, param] of extensions) {
    const text = q.get(key);
    if (text === null) continue;
    let value: unknown;
    try {
      value = param.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = param.schema.safeParse(value);
    if (parsed.success) extras[key] = parsed.data;
    else errors.push(`${key}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return { state: state as ViewState, extras, errors };
}
