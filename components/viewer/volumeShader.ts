/** Rendering modes as the shader numbers them. */
export const MODE_INDEX = { mip: 0, dvr: 1, iso: 2 } as const;

/** Most samples along one ray: enough for a 512³ preview at one sample per voxel diagonal. */
export const MAX_STEPS = 768;

export const VOLUME_VERTEX = /* glsl */ `
uniform vec3 uSize;
out vec3 vLocal;
void main() {
  vLocal = position * uSize;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
}
`;

/**
 * Ray marching through the box in object space (centred, edges uSize). Three modes: maximum
 * intensity projection, front-to-back compositing through the transfer function, and the first
 * crossing of the iso level, refined by bisection and shaded from the gradient with a headlight.
 * Values are the texture's normalised [0, 1]; uWindow maps them like the slices' window.
 */
export const VOLUME_FRAGMENT = /* glsl */ `
precision highp float;
precision highp sampler3D;
uniform sampler3D uVolume;
uniform sampler2D uLut;
uniform sampler2D uTransfer;
uniform vec3 uSize;
uniform vec3 uCamera;
uniform vec3 uClipMin;
uniform vec3 uClipMax;
uniform vec3 uTexel;
uniform vec2 uWindow;
uniform float uIso;
uniform float uSteps;
uniform int uMode;
in vec3 vLocal;
out vec4 fragColor;

vec2 hitBox(vec3 orig, vec3 dir, vec3 bmin, vec3 bmax) {
  vec3 inv = 1.0 / dir;
  vec3 t0 = (bmin - orig) * inv;
  vec3 t1 = (bmax - orig) * inv;
  vec3 lo = min(t0, t1);
  vec3 hi = max(t0, t1);
  return vec2(max(max(lo.x, lo.y), lo.z), min(min(hi.x, hi.y), hi.z));
}

float sampleAt(vec3 p) { return texture(uVolume, p / uSize + 0.5).r; }
float windowed(float v) { return clamp((v - uWindow.x) / max(uWindow.y - uWindow.x, 1e-6), 0.0, 1.0); }
vec3 colour(float w) { return texture(uLut, vec2((w * 255.0 + 0.5) / 256.0, 0.5)).rgb; }

vec3 normalAt(vec3 p) {
  vec3 d = uTexel * uSize;
  return normalize(vec3(
    sampleAt(p - vec3(d.x, 0, 0)) - sampleAt(p + vec3(d.x, 0, 0)),
    sampleAt(p - vec3(0, d.y, 0)) - sampleAt(p + vec3(0, d.y, 0)),
    sampleAt(p - vec3(0, 0, d.z)) - sampleAt(p + vec3(0, 0, d.z))) + 1e-6);
}

void main() {
  vec3 dir = normalize(vLocal - uCamera);
  vec3 bmin = (uClipMin - 0.5) * uSize;
  vec3 bmax = (uClipMax - 0.5) * uSize;
  vec2 t = hitBox(uCamera, dir, bmin, bmax);
  if (t.x >= t.y) discard;
  t.x = max(t.x, 0.0);
  float dt = length(uSize) / uSteps;
  // Jitter the start per pixel so the step pattern does not show as rings.
  float jitter = fract(sin(dot(gl_FragCoord.xy, vec2(12.9898, 78.233))) * 43758.5453);
  float s = t.x + jitter * dt;
  float best = 0.0;
  vec4 acc = vec4(0.0);
  for (int i = 0; i < ${MAX_STEPS}; i++) {
    if (s > t.y) break;
    vec3 p = uCamera + dir * s;
    float v = sampleAt(p);
    if (uMode == 0) {
      best = max(best, v);
    } else if (uMode == 1) {
      float w = windowed(v);
      vec4 tf = texture(uTransfer, vec2((w * 255.0 + 0.5) / 256.0, 0.5));
      // Opacity per unit length: the table's alpha is for one step at 256 steps per diagonal.
      float a = 1.0 - pow(1.0 - tf.a, 256.0 / uSteps);
      acc.rgb += (1.0 - acc.a) * a * tf.rgb;
      acc.a += (1.0 - acc.a) * a;
      if (acc.a > 0.98) break;
    } else {
      float w = windowed(v);
      if (w >= uIso && i > 0) {
        // Bisect between the previous sample and this one for a smooth surface.
        float a = s - dt;
        float b = s;
        for (int k = 0; k < 6; k++) {
          float m = 0.5 * (a + b);
          if (windowed(sampleAt(uCamera + dir * m)) >= uIso) b = m; else a = m;
        }
        vec3 hit = uCamera + dir * b;
        vec3 n = normalAt(hit);
        float light = 0.25 + 0.75 * abs(dot(n, -dir));
        acc = vec4(colour(max(uIso, 0.6)) * light, 1.0);
        break;
      }
    }
    s += dt;
  }
  if (uMode == 0) {
    float w = windowed(best);
    fragColor = vec4(colour(w), clamp(w * 3.0, 0.0, 1.0));
  } else {
    if (acc.a <= 0.0) discard;
    fragColor = vec4(acc.rgb / max(acc.a, 1e-6), acc.a);
  }
}
`;
