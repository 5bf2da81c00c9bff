/**
 * Runs inside Chromium (bundled by run.ts): times a 2048² uint16 frame from its arrival to its
 * first drawn frame, through the WebGL2 slice renderer and through the CPU baseline (window/level
 * to RGBA in JavaScript, then putImageData), alternating so both see the same conditions.
 */
import { colormapLut } from '@/lib/imaging/colormaps';
import { toGreyRgba } from '@/lib/imaging/windowLevel';
import { SliceRenderer } from '@/components/viewer/SliceRenderer';

export interface RenderTimings {
  gpuSync: number[];
  gpuFrame: number[];
  cpuSync: number[];
  cpuFrame: number[];
  /** Redraw after a window/level change, no new frame: GPU draw only vs CPU convert + put. */
  gpuWindow: number[];
  cpuWindow: number[];
  renderer: string;
}

// performance.now() inside the callback: the callback's own timestamp is the frame's start, which may precede the draw.
const nextFrame = () =>
  new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now())));

async function bench(edge: number, frames: number, displayEdge: number): Promise<RenderTimings> {
  const source = new Uint16Array(edge * edge);
  for (let i = 0; i < source.length; i++) source[i] = (i * 2654435761) >>> 20;
  const window = { min: 0, max: 4095 };

  const glCanvas = document.createElement('canvas');
  glCanvas.width = glCanvas.height = displayEdge;
  document.body.append(glCanvas);
  const renderer = new SliceRenderer(glCanvas);
  renderer.setLut(colormapLut('grey'));
  const gl = renderer.gl;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(
    ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
  );
  const pixel = new Uint8Array(4);

  // The 2-D baseline draws the frame at full resolution (putImageData cannot scale).
  const cpuCanvas = document.createElement('canvas');
  cpuCanvas.width = cpuCanvas.height = edge;
  document.body.append(cpuCanvas);
  const ctx = cpuCanvas.getContext('2d')!;
  const image = ctx.createImageData(edge, edge);

  const out: RenderTimings = {
    gpuSync: [],
    gpuFrame: [],
    cpuSync: [],
    cpuFrame: [],
    gpuWindow: [],
    cpuWindow: [],
    renderer: name,
  };
  for (let k = 0; k < frames + 3; k++) {
    const warm = k < 3;
    // "Arrival": a fresh buffer, as the socket hands over, with a value changed so nothing caches.
    const arrivedGpu = source.slice();
    arrivedGpu[k] = k;
    let t0 = performance.now();
    renderer.setImage(arrivedGpu, 'uint16', edge, edge);
    renderer.draw(window, { centerCol: edge / 2, centerRow: edge / 2, zoom: 1 });
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel); // waits for the GPU to finish
    let t1 = performance.now();
    let t2 = await nextFrame();
    if (!warm) {
      out.gpuSync.push(t1 - t0);
      out.gpuFrame.push(t2 - t0);
    }
    await nextFrame();

    const arrivedCpu = source.slice();
    arrivedCpu[k] = k;
    t0 = performance.now();
    toGreyRgba(arrivedCpu, window, image.data);
    ctx.putImageData(image, 0, 0);
    ctx.getImageData(0, 0, 1, 1); // waits for the put to land
    t1 = performance.now();
    t2 = await nextFrame();
    if (!warm) {
      out.cpuSync.push(t1 - t0);
      out.cpuFrame.push(t2 - t0);
    }
    await nextFrame();
  }
  const last = source.slice();
  for (let k = 0; k < frames; k++) {
    const w = { min: k * 10, max: 4095 - k * 10 };
    let t0 = performance.now();
    renderer.draw(w, { centerCol: edge / 2, centerRow: edge / 2, zoom: 1 });
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
    out.gpuWindow.push(performance.now() - t0);
    t0 = performance.now();
    toGreyRgba(last, w, image.data);
    ctx.putImageData(image, 0, 0);
    ctx.getImageData(0, 0, 1, 1);
    out.cpuWindow.push(performance.now() - t0);
    await nextFrame();
  }
  return out;
}

(globalThis as unknown as { runBench: typeof bench }).runBench = bench;
