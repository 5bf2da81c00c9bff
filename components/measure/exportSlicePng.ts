import { EnlargedSlice } from './enlargedSlice';
import { type Colormap, colormapLut, LUT_SIZE } from '@/lib/imaging/colormaps';
import { niceScaleBar } from '@/lib/imaging/planeGeometry';
import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import type { Plane, SliceFrame } from '@/lib/protocol';
import { pixelPitch } from '@/lib/measure/pixelPitch';
import { formatValue } from './MeasurePanel';

/** Band under the image for the caption, the scale bar and the legend, px. */
const BAND = 72;

export interface SlicePngInput {
  frame: SliceFrame;
  plane: Plane;
  window: DisplayWindow;
  colormap: Colormap;
  unit: string;
  caption: string;
}

/**
 * The slice as shown (window and colormap applied on the CPU, the renderer's mapping), at its own
 * resolution enlarged by a whole factor without smoothing, above a band with the caption, a scale
 * bar in µm and the colormap legend with the window's ends in the value unit.
 */
export async function exportSlicePng(input: SlicePngInput): Promise<Blob> {
  const { frame, plane, window, colormap, unit, caption } = input;
  const [rows, cols] = frame.header.shape;
  const lut = colormapLut(colormap);
  const slice = new EnlargedSlice(rows, cols, lut);
  const { factor, width, height } = slice;
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height + BAND;
  const ctx = out.getContext('2d')!;
  slice.paint(ctx, frame.pixels, window);
  ctx.fillText(caption, 8, height + 6, width - 16);

  // Scale bar: at most a quarter of the width, in µm from the pixel pitch.
  const umPerPx = pixelPitch(plane, frame.header).colUm / factor;
  const bar = niceScaleBar((width / 4) * umPerPx);
  if (bar.um > 0) {
    const length = bar.um / umPerPx;
    ctx.fillRect(8, height + 44, length, 4);
    ctx.fillText(bar.label, 8, height + 26);
  }

  // Legend: the colormap from window min to max.
  const legendX = width / 2;
  const legendW = width / 2 - 8;
  for (let i = 0; i < legendW; i++) {
    const k = Math.round((i / Math.max(1, legendW - 1)) * (LUT_SIZE - 1)) * 4;
    ctx.fillStyle = `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
    ctx.fillRect(legendX + i, height + 42, 1, 10);
  }
  ctx.fillStyle = '#e6edf3';
  ctx.fillText(`${formatValue(window.min)}`, legendX, height + 26);
  ctx.textAlign = 'right';
  ctx.fillText(`${formatValue(window.max)} ${unit}`, legendX + legendW, height + 26);
  ctx.textAlign = 'left';

  return new Promise((resolve, reject) =>
    out.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))),
      'image/png',
    ),
  );
}
