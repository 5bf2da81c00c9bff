import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import { SliceRenderer, type SliceViewport, sliceContext } from './SliceRenderer';

/**
 * The one WebGL2 context every slice view of the tab draws with. Browsers cap live contexts (16 in
 * Chromium, and each costs a compositor surface and a driver context), and opening one and
 * compiling its shaders was paid per view and again on every client-side navigation between
 * runs. Here the context lives on an offscreen canvas kept for the tab's life (module scope
 * survives App Router navigation), its programs are compiled once, and each view draws into the
 * lower-left area of its buffer and copies that area to its own 2-D canvas in the same task.
 */
export class SharedSliceCanvas {
  private static current: SharedSliceCanvas | null = null;
  readonly gl: WebGL2RenderingContext;
  private readonly canvas: HTMLCanvasElement | OffscreenCanvas;

  private constructor() {
    this.canvas =
      typeof OffscreenCanvas === 'undefined'
        ? document.createElement('canvas')
        : new OffscreenCanvas(1, 1);
    this.gl = sliceContext(this.canvas, { preserveDrawingBuffer: false });
  }

  /** The tab's shared context; a new one if the last was lost (the GPU process restarted). */
  static get(): SharedSliceCanvas {
    const c = SharedSliceCanvas.current;
    if (c && !c.gl.isContextLost()) return c;
    return (SharedSliceCanvas.current = new SharedSliceCanvas());
  }

  /** A renderer (its own textures) drawing with the shared context. */
  renderer(): SliceRenderer {
    return new SliceRenderer(this.gl);
  }

  /**
   * Draws `renderer`'s slice at the size of `target` and copies it there. The buffer only grows
   * (a resize reallocates it), so views of different sizes take turns in one allocation.
   */
  present(
    renderer: SliceRenderer,
    window: DisplayWindow,
    viewport: SliceViewport,
    target: CanvasRenderingContext2D,
  ): void {
    const { width, height } = target.canvas;
    const c = this.canvas;
    if (c.width < width) c.width = width;
    if (c.height < height) c.height = height;
    renderer.draw(window, viewport, { width, height });
    // The drawn area is the buffer's lower-left; canvas rows count from the top.
    target.drawImage(c, 0, c.height - height, width, height, 0, 0, width, height);
  }
}
