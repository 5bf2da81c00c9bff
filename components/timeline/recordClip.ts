import { EnlargedSlice } from '@/components/measure/enlargedSlice';
import { type Colormap, colormapLut } from '@/lib/imaging/colormaps';
import { niceScaleBar } from '@/lib/imaging/planeGeometry';
import type { DisplayWindow } from '@/lib/imaging/windowLevel';
import { pixelPitch } from '@/lib/measure/pixelPitch';
import { type Frame, type Plane, isSliceFrame } from '@/lib/protocol';

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

/** The codecs a WebM can carry that browsers encode, best first. */
const CODECS = ['vp9', 'vp8'] as const;

/**
 * Encodes frames of one plane as a WebM movie: each frame is drawn as the viewer shows it (window,
 * colormap), with a scale bar and its acquisition time, and handed to the browser's WebCodecs
 * encoder with its own time stamp (i / fps), through mediabunny's WebM writer. The movie has
 * exactly one frame per recorded frame, and encoding runs as fast as the machine allows: nothing
 * depends on real-time capture (MediaRecorder dropped a frame now and then on a busy machine).
 */
export async function recordClip(input: ClipInput): Promise<Blob> {
  const { frames, plane, window, colormap, fps, title } = input;
  const first = frames[0];
  if (!first) throw new Error('no frames in that range');
  if (!isSliceFrame(first)) throw new Error('a clip is made of slices, not volume bricks');
  const [rows, cols] = first.header.shape;
  const slice = new EnlargedSlice(rows, cols, colormapLut(colormap));
  const { factor, width, height } = slice;
  const out = document.createElement('canvas');
  // Even sizes: VP8/VP9 encoders work on 2×2 chroma blocks.
  out.width = width + (width & 1);
  out.height = height + BAND + ((height + BAND) & 1);
  const ctx = out.getContext('2d')!;
  // Loaded on the first export only: the viewer's own script stays as it was.
  const {
    BufferTarget,
    CanvasSource,
    Output,
    QUALITY_HIGH,
    WebMOutputFormat,
    getFirstEncodableVideoCodec,
  } = await import('mediabunny');
  const codec = await getFirstEncodableVideoCodec([...CODECS], {
    width: out.width,
    height: out.height,
  });
  if (!codec) throw new Error('this browser cannot encode VP9 or VP8 video (WebCodecs)');
  const target = new BufferTarget();
  const output = new Output({ format: new WebMOutputFormat(), target });
  const video = new CanvasSource(out, { codec, quality: QUALITY_HIGH });
  output.addVideoTrack(video, { frameRate: fps });
  await output.start();
  const t0 = first.header.acquiredAt;
  const umPerPx = pixelPitch(plane, first.header).colUm / factor;
  const bar = niceScaleBar((width / 4) * umPerPx);
  try {
    for (const [i, frame] of frames.entries()) {
      if (frame.header.shape.join() !== first.header.shape.join())
        throw new Error('the slice changed size within the range: export a shorter one');
      slice.paint(ctx, frame.pixels, window);
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
      // Waits for the encoder's back-pressure, so a long clip never queues every frame at once.
      await video.add(i / fps, 1 / fps);
      input.onProgress?.(i + 1);
    }
    await output.finalize();
  } catch (error) {
    await output.cancel();
    throw error;
  }
  return new Blob([target.buffer!], { type: 'video/webm' });
}
