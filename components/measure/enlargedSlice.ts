import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import { colorizeSlice } from '@/lib/export/colorizeSlice';

/** An exported slice is at least this wide (px): small slices are enlarged by whole pixels. */
const MIN_WIDTH = 512;

/**
 * One slice as the viewer shows it, enlarged by a whole factor for export (the PNG of the measure
 * panel, each frame of a clip): `paint` colours the pixels with the window and colormap and draws
 * them at the top left of `ctx` on the dark background, with the caption's text style set.
 */
export class EnlargedSlice {
  readonly factor: number;
  readonly width: number;
  readonly height: number;
  private readonly source: HTMLCanvasElement;
  private readonly sctx: CanvasRenderingContext2D;
  private readonly image: ImageData;

  constructor(
    readonly rows: number,
    readonly cols: number,
    private readonly lut: Uint8Array,
  ) {
    this.factor = Math.max(1, Math.ceil(MIN_WIDTH / cols));
    this.width = cols * this.factor;
    this.height = rows * this.factor;
    this.source = document.createElement('canvas');
    this.source.width = cols;
    this.source.height = rows;
    this.sctx = this.source.getContext('2d')!;
    this.image = new ImageData(cols, rows);
  }

  paint(ctx: CanvasRenderingContext2D, pixels: ArrayLike<number>, window: DisplayWindow): void {
    colorizeSlice(pixels, window, this.lut, this.image.data);
    this.sctx.putImageData(this.image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = '#0d1117';
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.drawImage(this.source, 0, 0, this.width, this.height);
    ctx.fillStyle = '#e6edf3';
    ctx.font = '13px ui-sans-serif, system-ui, sans-serif';
    ctx.textBaseline = 'top';
  }
}
