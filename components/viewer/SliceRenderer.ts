import type { Dtype, Pixels } from '@/lib/protocol';
import { LUT_SIZE } from '@/lib/imaging/colormaps';
import type { DisplayWindow } from '@/lib/imaging/windowLevel';

/** Pan and zoom of a slice: the image pixel at the canvas centre, and screen pixels per image pixel relative to "fit". */
export interface SliceViewport {
  centerCol: number;
  centerRow: number;
  zoom: number;
}

const VERTEX = `#version 300 es
// One triangle covering the canvas; the fragment shader does the image lookup.
const vec2 P[3] = vec2[3](vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
void main() { gl_Position = vec4(P[gl_VertexID], 0.0, 1.0); }
`;

// Integer textures (R8UI, R16UI) keep the detector's exact counts; float stays R32F. All are
// read with texelFetch (nearest) so a scientist sees real pixels when zoomed in, never blurred ones.
function fragment(dtype: Dtype): string {
  const sampler = dtype === 'float32' ? 'sampler2D' : 'usampler2D';
  return `#version 300 es
precision highp float;
precision highp int;
uniform highp ${sampler} u_image;
uniform sampler2D u_lut;
uniform vec2 u_canvas;     // canvas size, device pixels
uniform vec2 u_center;     // image pixel at the canvas centre
uniform float u_scale;     // device pixels per image pixel
uniform vec2 u_window;     // min, max in data units
uniform ivec2 u_size;      // texture cols, rows
uniform vec2 u_origin;     // plane col, row of the texture's first texel
uniform vec2 u_extent;     // plane cols, rows the texture covers
uniform float u_step;      // plane pixels per texel (1, 2, 4, 8: a reduced level)
out vec4 outColor;
void main() {
  vec2 screen = vec2(gl_FragCoord.x, u_canvas.y - gl_FragCoord.y);
  // Plane pixel under this fragment; a reduced or cropped frame is stretched over its region.
  vec2 plane = (screen - 0.5 * u_canvas) / u_scale + u_center - u_origin;
  vec2 img = plane / u_step;
  ivec2 p = ivec2(floor(img));
  if (plane.x < 0.0 || plane.y < 0.0 || plane.x >= u_extent.x || plane.y >= u_extent.y ||
      p.x >= u_size.x || p.y >= u_size.y) {
    outColor = vec4(0.0, 0.0, 0.0, 1.0);
    return;
  }
  float v = float(texelFetch(u_image, p, 0).r);
  float t = clamp((v - u_window.x) / max(u_window.y - u_window.x, 1e-20), 0.0, 1.0);
  // Centre of the LUT texel so the first and last entries are exact.
  outColor = vec4(texture(u_lut, vec2((t * ${LUT_SIZE - 1}.0 + 0.5) / ${LUT_SIZE}.0, 0.5)).rgb, 1.0);
}
`;
}

function formatOf(
  gl: WebGL2RenderingContext,
  dtype: Dtype,
): { internal: number; format: number; type: number } {
  switch (dtype) {
    case 'uint8':
      return { internal: gl.R8UI, format: gl.RED_INTEGER, type: gl.UNSIGNED_BYTE };
    case 'uint16':
      return { internal: gl.R16UI, format: gl.RED_INTEGER, type: gl.UNSIGNED_SHORT };
    case 'float32':
      return { internal: gl.R32F, format: gl.RED, type: gl.FLOAT };
  }
}

interface Program {
  program: WebGLProgram;
  uniforms: Record<
    | 'image'
    | 'lut'
    | 'canvas'
    | 'center'
    | 'scale'
    | 'window'
    | 'size'
    | 'origin'
    | 'extent'
    | 'step',
    WebGLUniformLocation | null
  >;
}

/** Linked programs per context and dtype: views sharing a context compile each shader once. */
const programCache = new WeakMap<WebGL2RenderingContext, Map<Dtype, Program>>();

/** A drawing area in device pixels at the lower-left corner of the context's drawing buffer. */
export interface DrawArea {
  width: number;
  height: number;
}

/** Opens the WebGL2 context a slice is drawn with (no antialiasing, alpha or depth: none is used). */
export function sliceContext(
  canvas: HTMLCanvasElement | OffscreenCanvas,
  options: { preserveDrawingBuffer?: boolean } = {},
): WebGL2RenderingContext {
  const gl = canvas.getContext('webgl2', {
    antialias: false,
    alpha: false,
    depth: false,
    // Lets tests and screenshots read the drawn pixels back after compositing.
    preserveDrawingBuffer: options.preserveDrawingBuffer ?? true,
  }) as WebGL2RenderingContext | null;
  if (!gl) throw new Error('WebGL2 is not available in this browser');
  return gl;
}

/**
 * Where a texture lies on the plane it shows: a reduced level (`step` plane pixels per texel) or a
 * crop (`origin`, `extent`) of a plane of `cols` × `rows` pixels. Absent: the texture is the plane.
 */
export interface PlaneCover {
  cols: number;
  rows: number;
  origin: { col: number; row: number };
  extent: { cols: number; rows: number };
  step: number;
}

/**
 * Draws one 2-D slice with WebGL2: the raw pixels live in a single-channel texture and the
 * window/level and colormap are applied per fragment, so changing them costs no upload at all
 * and a new frame costs one texSubImage2D.
 *
 * Given a canvas it opens its own context; given a context (SharedSliceCanvas) it draws into an
 * area of that context's buffer, so several views share one context and its compiled programs.
 */
export class SliceRenderer {
  readonly gl: WebGL2RenderingContext;
  private readonly ownsContext: boolean;
  private readonly image: WebGLTexture;
  private readonly lut: WebGLTexture;
  private readonly vao: WebGLVertexArrayObject;
  private imageShape: { dtype: Dtype; cols: number; rows: number } | null = null;
  private cover: PlaneCover | null = null;

  constructor(
    target: HTMLCanvasElement | OffscreenCanvas | WebGL2RenderingContext,
    options: { preserveDrawingBuffer?: boolean } = {},
  ) {
    this.ownsContext = !(target instanceof WebGL2RenderingContext);
    const gl = target instanceof WebGL2RenderingContext ? target : sliceContext(target, options);
    this.gl = gl;
    this.image = this.texture();
    this.lut = this.texture();
    this.vao = gl.createVertexArray()!;
  }

  /** Whether an image has been uploaded yet. */
  get hasImage(): boolean {
    return this.imageShape !== null;
  }

  /**
   * Uploads a frame: reallocates only when the dtype or shape changed, else replaces texels in
   * place. `cover` places a reduced or cropped frame on its plane; coordinates (viewport, fit) are
   * then the plane's, so a change of level keeps the view where it is.
   */
  setImage(
    pixels: Pixels,
    dtype: Dtype,
    cols: number,
    rows: number,
    cover: PlaneCover | null = null,
  ): void {
    const { gl } = this;
    this.cover = cover;
    const f = formatOf(gl, dtype);
    gl.bindTexture(gl.TEXTURE_2D, this.image);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    const s = this.imageShape;
    if (!s || s.dtype !== dtype || s.cols !== cols || s.rows !== rows) {
      gl.texImage2D(gl.TEXTURE_2D, 0, f.internal, cols, rows, 0, f.format, f.type, pixels);
      this.imageShape = { dtype, cols, rows };
    } else {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, cols, rows, f.format, f.type, pixels);
    }
  }

  /** Sets the colormap: an RGBA lookup table of LUT_SIZE entries. */
  setLut(lut: Uint8Array): void {
    const { gl } = this;
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, LUT_SIZE, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, lut);
  }

  /** Device pixels per plane pixel at zoom 1: the whole plane fits the canvas. */
  fitScale(width: number, height: number): number {
    const s = this.cover ?? this.imageShape;
    return s ? Math.min(width / s.cols, height / s.rows) : 1;
  }

  /**
   * Draws the slice into `area` (default: the whole drawing buffer), whose lower-left corner is
   * the buffer's; outside the area nothing is touched (scissor), so views can share a buffer.
   */
  draw(window: DisplayWindow, viewport: SliceViewport, area?: DrawArea): void {
    const { gl } = this;
    const width = area?.width ?? gl.drawingBufferWidth;
    const height = area?.height ?? gl.drawingBufferHeight;
    gl.viewport(0, 0, width, height);
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(0, 0, width, height);
    const s = this.imageShape;
    if (!s) {
      gl.clearColor(0, 0, 0, 1);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.disable(gl.SCISSOR_TEST);
      return;
    }
    const p = this.program(s.dtype);
    gl.useProgram(p.program);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.image);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.uniform1i(p.uniforms.image, 0);
    gl.uniform1i(p.uniforms.lut, 1);
    gl.uniform2f(p.uniforms.canvas, width, height);
    gl.uniform2f(p.uniforms.center, viewport.centerCol, viewport.centerRow);
    gl.uniform1f(p.uniforms.scale, this.fitScale(width, height) * viewport.zoom);
    gl.uniform2f(p.uniforms.window, window.min, window.max);
    gl.uniform2i(p.uniforms.size, s.cols, s.rows);
    const c = this.cover;
    gl.uniform2f(p.uniforms.origin, c?.origin.col ?? 0, c?.origin.row ?? 0);
    gl.uniform2f(p.uniforms.extent, c?.extent.cols ?? s.cols, c?.extent.rows ?? s.rows);
    gl.uniform1f(p.uniforms.step, c?.step ?? 1);
    gl.bindVertexArray(this.vao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.disable(gl.SCISSOR_TEST);
  }

  /** Frees this view's textures; the compiled programs stay with a shared context for the next view. */
  dispose(): void {
    const { gl } = this;
    gl.deleteTexture(this.image);
    gl.deleteTexture(this.lut);
    gl.deleteVertexArray(this.vao);
    if (!this.ownsContext) return;
    const programs = programCache.get(gl);
    for (const p of programs?.values() ?? []) gl.deleteProgram(p.program);
    programCache.delete(gl);
  }

  private texture(): WebGLTexture {
    const { gl } = this;
    const t = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, t);
    // Integer and 32-bit float textures are not filterable; NEAREST is also what we want to see.
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  private program(dtype: Dtype): Program {
    const { gl } = this;
    let programs = programCache.get(gl);
    if (!programs) programCache.set(gl, (programs = new Map()));
    const hit = programs.get(dtype);
    if (hit) return hit;
    const compile = (type: number, source: string) => {
      const shader = gl.createShader(type)!;
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        throw new Error(`slice shader: ${gl.getShaderInfoLog(shader) ?? 'does not compile'}`);
      }
      return shader;
    };
    const program = gl.createProgram()!;
    gl.attachShader(program, compile(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, compile(gl.FRAGMENT_SHADER, fragment(dtype)));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
      throw new Error(`slice program: ${gl.getProgramInfoLog(program) ?? 'does not link'}`);
    }
    const u = (name: string) => gl.getUniformLocation(program, name);
    const made: Program = {
      program,
      uniforms: {
        image: u('u_image'),
        lut: u('u_lut'),
        canvas: u('u_canvas'),
        center: u('u_center'),
        scale: u('u_scale'),
        window: u('u_window'),
        size: u('u_size'),
        origin: u('u_origin'),
        extent: u('u_extent'),
        step: u('u_step'),
      },
    };
    programs.set(dtype, made);
    return made;
  }
}
