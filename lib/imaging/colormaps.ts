import { interpolateInferno, interpolateMagma, interpolateViridis } from 'd3-scale-chromatic';

/** Colormaps a scientist can pick; the order is the keyboard shortcut order (1…5). */
export const COLORMAPS = ['grey', 'viridis', 'magma', 'inferno', 'inverted'] as const;
export type Colormap = (typeof COLORMAPS)[number];

export const COLORMAP_LABELS: Record<Colormap, string> = {
  grey: 'Grey',
  viridis: 'Viridis',
  magma: 'Magma',
  inferno: 'Inferno',
  inverted: 'Inverted grey',
};

/** Entries in a lookup table: one per 8-bit display level, which is all a monitor shows. */
export const LUT_SIZE = 256;

const INTERPOLATORS: Record<Colormap, (t: number) => string | [number, number, number]> = {
  grey: (t) => [t * 255, t * 255, t * 255],
  inverted: (t) => [(1 - t) * 255, (1 - t) * 255, (1 - t) * 255],
  viridis: interpolateViridis,
  magma: interpolateMagma,
  inferno: interpolateInferno,
};

/** Parses the colours d3-scale-chromatic returns: `#rrggbb` or `rgb(r, g, b)`. */
export function parseColour(colour: string): [number, number, number] {
  if (colour.startsWith('#') && colour.length === 7) {
    const n = Number.parseInt(colour.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const match = /rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)/.exec(colour);
  if (!match) throw new Error(`not a colour: ${colour}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

const cache = new Map<Colormap, Uint8Array>();

/** RGBA lookup table of LUT_SIZE entries, from black end (t = 0) to bright end (t = 1). */
export function colormapLut(name: Colormap): Uint8Array {
  const hit = cache.get(name);
  if (hit) return hit;
  const lut = new Uint8Array(LUT_SIZE * 4);
  const interpolate = INTERPOLATORS[name];
  for (let i = 0; i < LUT_SIZE; i++) {
    const c = interpolate(i / (LUT_SIZE - 1));
    const [r, g, b] = typeof c === 'string' ? parseColour(c) : c;
    lut.set([Math.round(r), Math.round(g), Math.round(b), 255], i * 4);
  }
  cache.set(name, lut);
  return lut;
}

/** CSS linear-gradient of a colormap, for swatches and the histogram's colour bar. */
export function colormapGradient(name: Colormap, stops = 8): string {
  const lut = colormapLut(name);
  const parts: string[] = [];
  for (let i = 0; i < stops; i++) {
    const k = Math.round((i / (stops - 1)) * (LUT_SIZE - 1)) * 4;
    parts.push(
      `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]}) ${((i / (stops - 1)) * 100).toFixed(0)}%`,
    );
  }
  return `linear-gradient(to right, ${parts.join(', ')})`;
}
