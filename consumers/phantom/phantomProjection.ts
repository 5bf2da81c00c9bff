import { type Ellipsoid, SHEPP_LOGAN_3D } from './sheppLogan3d';

/**
 * Parallel-beam geometry of a detector looking at the phantom. The phantom's cube [-1, 1]³ spans
 * the detector's width, so one phantom unit is `width / 2` pixels; z runs up the detector's rows.
 */
export interface ProjectionGeometry {
  /** Detector columns (pixels across the beam, perpendicular to the rotation axis). */
  width: number;
  /** Detector rows (pixels along the rotation axis). */
  height: number;
  /**
   * Detector column the rotation axis projects onto, in pixels from the left edge (pixel i spans
   * [i, i + 1)). Default width / 2: the axis is centred.
   */
  axisColumn?: number;
}

/**
 * Length of the chord a line cuts through an ellipsoid, in the units of the line's coordinates.
 * The line is p + s·d with |d| = 1.
 */
export function ellipsoidChord(
  e: Ellipsoid,
  p: readonly [number, number, number],
  d: readonly [number, number, number],
): number {
  const r = e.rotation;
  const [a, b, c] = e.axes;
  const px = p[0] - e.centre[0];
  const py = p[1] - e.centre[1];
  const pz = p[2] - e.centre[2];
  const qu = (r[0]! * px + r[1]! * py + r[2]! * pz) / a;
  const qv = (r[3]! * px + r[4]! * py + r[5]! * pz) / b;
  const qw = (r[6]! * px + r[7]! * py + r[8]! * pz) / c;
  const eu = (r[0]! * d[0] + r[1]! * d[1] + r[2]! * d[2]) / a;
  const ev = (r[3]! * d[0] + r[4]! * d[1] + r[5]! * d[2]) / b;
  const ew = (r[6]! * d[0] + r[7]! * d[1] + r[8]! * d[2]) / c;
  return chord(
    eu * eu + ev * ev + ew * ew,
    qu * eu + qv * ev + qw * ew,
    qu * qu + qv * qv + qw * qw - 1,
  );
}

/** |q + s·e|² = 1 in the ellipsoid's unit-sphere frame: A s² + 2B s + C = 0; chord = 2√(B²−AC)/A. */
function chord(A: number, B: number, C: number): number {
  const disc = B * B - A * C;
  return disc > 0 ? (2 * Math.sqrt(disc)) / A : 0;
}

/**
 * Line integrals of the phantom's density along parallel rays at rotation angle `angle` (radians),
 * sampled at detector pixel centres; row-major [row][column], in density × phantom units of length.
 *
 * The sample turns by `angle` about z; equivalently the ray for detector coordinate t (phantom
 * units from the axis) runs along (−sin θ, cos θ, 0) through t·(cos θ, sin θ, 0), so a point
 * (x, y) projects onto t = x cos θ + y sin θ, the convention filtered back-projection inverts.
 */
export function projectPhantom(
  angle: number,
  geometry: ProjectionGeometry,
  ellipsoids: readonly Ellipsoid[] = SHEPP_LOGAN_3D,
  out: Float32Array = new Float32Array(geometry.width * geometry.height),
): Float32Array {
  const { width, height } = geometry;
  const axis = geometry.axisColumn ?? width / 2;
  const unit = width / 2; // pixels per phantom unit
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  out.fill(0);
  for (const e of ellipsoids) {
    const r = e.rotation;
    const [a, b, c] = e.axes;
    // In the ellipsoid's scaled frame the ray direction is constant and the start point is
    // linear in (t, z), so each ray costs a handful of multiply-adds.
    const dir = [-sin, cos, 0] as const;
    const eu = (r[0]! * dir[0] + r[1]! * dir[1]) / a;
    const ev = (r[3]! * dir[0] + r[4]! * dir[1]) / b;
    const ew = (r[6]! * dir[0] + r[7]! * dir[1]) / c;
    const A = eu * eu + ev * ev + ew * ew;
    // q(t, z) = q0 + t·qt + z·qz with q0 from −centre.
    const [cx, cy, cz] = e.centre;
    const q0u = -(r[0]! * cx + r[1]! * cy + r[2]! * cz) / a;
    const q0v = -(r[3]! * cx + r[4]! * cy + r[5]! * cz) / b;
    const q0w = -(r[6]! * cx + r[7]! * cy + r[8]! * cz) / c;
    const qtu = (r[0]! * cos + r[1]! * sin) / a;
    const qtv = (r[3]! * cos + r[4]! * sin) / b;
    const qtw = (r[6]! * cos + r[7]! * sin) / c;
    const qzu = r[2]! / a;
    const qzv = r[5]! / b;
    const qzw = r[8]! / c;
    // Rows this ellipsoid can reach: its z extent is at most its largest semi-axis from the centre.
    const reach = Math.max(a, b, c);
    const rowLo = Math.max(0, Math.floor((cz - reach) * unit + height / 2));
    const rowHi = Math.min(height, Math.ceil((cz + reach) * unit + height / 2));
    for (let row = rowLo; row < rowHi; row++) {
      const z = (row + 0.5 - height / 2) / unit;
      const bu = q0u + z * qzu;
      const bv = q0v + z * qzv;
      const bw = q0w + z * qzw;
      const base = row * width;
      for (let col = 0; col < width; col++) {
        const t = (col + 0.5 - axis) / unit;
        const qu = bu + t * qtu;
        const qv = bv + t * qtv;
        const qw = bw + t * qtw;
        const B = qu * eu + qv * ev + qw * ew;
        const C = qu * qu + qv * qv + qw * qw - 1;
        const disc = B * B - A * C;
        if (disc > 0) out[base + col] = out[base + col]! + (e.value * 2 * Math.sqrt(disc)) / A;
      }
    }
  }
  return out;
}
