import type { Locator } from '@playwright/test';
import { PNG } from 'pngjs';

/** Grey levels (0-255) of an element as the compositor drew it, whatever its canvas context. */
export async function greyPixels(
  locator: Locator,
): Promise<{ width: number; height: number; grey: Uint8Array }> {
  const png = PNG.sync.read(await locator.screenshot());
  const grey = new Uint8Array(png.width * png.height);
  for (let i = 0; i < grey.length; i++) {
    grey[i] = Math.round((png.data[i * 4]! + png.data[i * 4 + 1]! + png.data[i * 4 + 2]!) / 3);
  }
  return { width: png.width, height: png.height, grey };
}

/** Standard deviation of the grey levels: near 0 for a blank (uniform) image. */
export function spread(grey: Uint8Array): number {
  let sum = 0;
  let sq = 0;
  for (const v of grey) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / grey.length;
  return Math.sqrt(Math.max(0, sq / grey.length - mean * mean));
}

/** Share of pixels whose grey level differs by more than `tolerance` between two captures. */
export function changedShare(a: Uint8Array, b: Uint8Array, tolerance = 8): number {
  if (a.length !== b.length) return 1;
  let changed = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > tolerance) changed++;
  return changed / a.length;
}

/**
 * How grainy an image is, whatever its brightness and contrast: the mean absolute difference
 * between horizontal and vertical neighbours, over the spread of the grey levels. A low-pass
 * filter (Paganin phase retrieval) lowers it; noise raises it; near 0 for a smooth gradient.
 */
export function roughness(image: { width: number; height: number; grey: Uint8Array }): number {
  const { width, height, grey } = image;
  let sum = 0;
  let n = 0;
  for (let y = 0; y + 1 < height; y++)
    for (let x = 0; x + 1 < width; x++) {
      const v = grey[y * width + x]!;
      sum += Math.abs(v - grey[y * width + x + 1]!) + Math.abs(v - grey[(y + 1) * width + x]!);
      n += 2;
    }
  const s = spread(grey);
  return s > 0 ? sum / n / s : 0;
}
