import { colorizeSlice } from '@/lib/export/colorizeSlice';
import { type Colormap, colormapLut } from '@/lib/imaging/colormaps';
import { niceScaleBar } from '@/lib/imaging/planeGeometry';
import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import { pixelPitch } from '@/lib/measure/pixelPitch';
import { type Frame, type Plane, isSliceFrame } from '@/lib/protocol';

/** A clip is at least this wide (px): small slices are enlarged by whole pixels, like the PNG export. */
const MIN_WIDTH = 512;
/** Band under the image for the time stamp and the scale bar, px. */
const BAND = 40;

export interface ClipInput {
  frames: readonly Frame[];
  plane: Plane;
  window: DisplayWindow;
  colormap: Colormap;
  /** Movie frames per second; each recorded frame becomes exactly one movie frame. */
  fps: number;
  /** A label before the time stamp, e.g. "run demo · full xy". */
  title: string;
  onProgress?: (done: number) => void;
}

/** The WebM types Chromium's MediaRecorder writes, best first. */
const TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

/**
 * Encodes frames of one plane as a WebM movie with the browser's MediaRecorder: each frame is
 * drawn as the viewer shows it (window, colormap), with a scale bar and its acquisition time, on
 * a canvas whose stream only produces a frame when asked (captureStream(0) + requestFrame), so the
 * movie has one frame per recorded frame, however long drawing takes.
 */
export async function recordClip(input: ClipInput): Promise<Blob> {
  const { frames, plane, window, colormap, fps, title } = input;
  const first = frames[0];
  if (!first) throw new Error('no frames in that range');
  if (!isSliceFrame(first)) throw new Error('a clip is made of slices, not volume bricks');
  const [rows, cols] = first.header.shape;
  const factor = Math.max(1, Math.ceil(MIN_WIDTH / cols));
  const width = cols * factor;
  const height = rows * factor;
  const lut = colormapLut(colormap);
  const source = document.createElement('canvas');
  source.width = cols;
  source.height = rows;
  const sctx = source.getContext('2d')!;
  const image = new ImageData(cols, rows);
  const out = document.createElement('canvas');
  // Even sizes: VP8/VP9 encoders work on 2×2 chroma blocks.
  out.width = width + (width & 1);
  out.height = height + BAND + ((height + BAND) & 1);
  const ctx = out.getContext('2d')!;
  const type = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
  if (!type) throw new Error('this browser cannot record WebM');
  const stream = out.captureStream(0);
  const track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack | undefined;
  if (!track) throw new Error('canvas capture gave no video track');
  const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 4_000_000 });
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => {
    if (e.data.size > 0) chunks.push(e.data);
  };
  const stopped = new Promise<void>((resolve, reject) => {
    recorder.onstop = () => resolve();
    recorder.onerror = () => reject(new Error('the recorder failed'));
  });
  const started = new Promise((resolve) => (recorder.onstart = resolve));
  recorder.start();
  // Frames asked for before the recorder has started are lost; Chromium may hold 'start' back
  // until a first frame comes, so wait for it a bounded time, then two paints.
  await Promise.race([started, new Promise((resolve) => setTimeout(resolve, 500))]);
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const t0 = first.header.acquiredAt;
  const umPerPx = pixelPitch(plane, first.header).colUm / factor;
  const bar = niceScaleBar((width / 4) * umPerPx);
  for (const [i, frame] of frames.entries()) {
    if (frame.header.shape.join() !== first.header.shape.join())
      throw new Error('the slice changed size within the range: export a shorter one');
    colorizeSlice(frame.pixels, window, lut, image.data);
    sctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = '#0d1117';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(source, 0, 0, width, height);
    ctx.fillStyle = '#e6edf3';
    ctx.font = '13px ui-sans-serif, system-ui, sans-serif';
    ctx.textBaseline = 'top';
    const at = frame.header.acquiredAt;
    ctx.fillText(
      `${title} · ${new Date(at).toISOString()} · +${((at - t0) / 1000).toFixed(2)} s · seq ${frame.header.seq}`,
      8,
      height + 4,
      width - 16,
    );
    if (bar.um > 0) {
      ctx.fillRect(8, height + 30, bar.um / umPerPx, 4);
      ctx.textAlign = 'right';
      ctx.fillText(bar.label, width - 8, height + 22);
      ctx.textAlign = 'left';
    }
    track.requestFrame();
    input.onProgress?.(i + 1);
    // The capture takes the canvas when it is next painted: two paints before drawing the next
    // frame, so a busy tab never merges two frames into one; then the movie's own pace.
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    await new Promise((resolve) => setTimeout(resolve, 1000 / fps));
  }
  // Time for the encoder to take the last frame before the file is closed.
  await new Promise((resolve) => setTimeout(resolve, 250));
  recorder.stop();
  await stopped;
  track.stop();
  return new Blob(chunks, { type: 'video/webm' });
}
