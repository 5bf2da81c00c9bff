/**
 * The 3-D Shepp–Logan head phantom with Toft's modified intensities, as a set of ellipsoids in the
 * normalised cube [-1, 1]³ (x, y across the beam, z along the rotation axis). Values are densities
 * (attenuation in arbitrary units, 0 outside, 1.0 in the skull, 0.2 in the brain).
 */
export interface Ellipsoid {
  /** Density added inside the ellipsoid. */
  value: number;
  /** Semi-axes along the ellipsoid's own x, y, z. */
  axes: readonly [number, number, number];
  /** Centre in the phantom's frame. */
  centre: readonly [number, number, number];
  /** Row-major 3×3 rotation taking phantom-frame offsets from the centre into the ellipsoid's frame. */
  rotation: readonly number[];
}

/** Row-major rotation from z-x-z Euler angles in degrees (phantom3d's convention). */
export function eulerRotation(phiDeg: number, thetaDeg: number, psiDeg: number): number[] {
  const [phi, theta, psi] = [phiDeg, thetaDeg, psiDeg].map((d) => (d * Math.PI) / 180) as [
    number,
    number,
    number,
  ];
  const [cf, sf, ct, st, cp, sp] = [
    Math.cos(phi),
    Math.sin(phi),
    Math.cos(theta),
    Math.sin(theta),
    Math.cos(psi),
    Math.sin(psi),
  ];
  return [
    cf * cp - ct * sf * sp,
    sf * cp + ct * cf * sp,
    sp * st,
    -cf * sp - ct * sf * cp,
    -sf * sp + ct * cf * cp,
    cp * st,
    st * sf,
    -st * cf,
    ct,
  ];
}

// [value, a, b, c, x0, y0, z0, phi, theta, psi] — Toft's modified 3-D Shepp–Logan table.
const TABLE: readonly (readonly number[])[] = [
  [1.0, 0.69, 0.92, 0.81, 0, 0, 0, 0, 0, 0],
  [-0.8, 0.6624, 0.874, 0.78, 0, -0.0184, 0, 0, 0, 0],
  [-0.2, 0.11, 0.31, 0.22, 0.22, 0, 0, -18, 0, 10],
  [-0.2, 0.16, 0.41, 0.28, -0.22, 0, 0, 18, 0, 10],
  [0.1, 0.21, 0.25, 0.41, 0, 0.35, -0.15, 0, 0, 0],
  [0.1, 0.046, 0.046, 0.05, 0, 0.1, 0.25, 0, 0, 0],
  [0.1, 0.046, 0.046, 0.05, 0, -0.1, 0.25, 0, 0, 0],
  [0.1, 0.046, 0.023, 0.05, -0.08, -0.605, 0, 0, 0, 0],
  [0.1, 0.023, 0.023, 0.02, 0, -0.606, 0, 0, 0, 0],
  [0.1, 0.023, 0.046, 0.02, 0.06, -0.605, 0, 0, 0, 0],
];

export const SHEPP_LOGAN_3D: readonly Ellipsoid[] = TABLE.map((row) => {
  const [value, a, b, c, x0, y0, z0, phi, theta, psi] = row as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { value, axes: [a, b, c], centre: [x0, y0, z0], rotation: eulerRotation(phi, theta, psi) };
});

/** Density at a point of the phantom's frame. */
export function phantomValue(
  x: number,
  y: number,
  z: number,
  ellipsoids: readonly Ellipsoid[] = SHEPP_LOGAN_3D,
): number {
  let sum = 0;
  for (const e of ellipsoids) {
    const dx = x - e.centre[0];
    const dy = y - e.centre[1];
    const dz = z - e.centre[2];
    const r = e.rotation;
    const u = (r[0]! * dx + r[1]! * dy + r[2]! * dz) / e.axes[0];
    const v = (r[3]! * dx + r[4]! * dy + r[5]! * dz) / e.axes[1];
    const w = (r[6]! * dx + r[7]! * dy + r[8]! * dz) / e.axes[2];
    if (u * u + v * v + w * w <= 1) sum += e.value;
  }
  return sum;
}

/** Centre of voxel `i` of `n` across [-1, 1]. */
export function voxelCentre(i: number, n: number): number {
  return ((i + 0.5) / n) * 2 - 1;
}

/**
 * Samples one orthogonal slice of the phantom on an n×n grid: `xy` at height z = position,
 * `xz` at y = position, `yz` at x = position (voxel index of n). Rows run along the second axis
 * named (y for xy, z for xz and yz), columns along the first.
 */
export function phantomSlice(plane: 'xy' | 'xz' | 'yz', position: number, n: number): Float32Array {
  const out = new Float32Array(n * n);
  const p = voxelCentre(position, n);
  for (let row = 0; row < n; row++) {
    const r = voxelCentre(row, n);
    for (let col = 0; col < n; col++) {
      const c = voxelCentre(col, n);
      out[row * n + col] =
        plane === 'xy'
          ? phantomValue(c, r, p)
          : plane === 'xz'
            ? phantomValue(c, p, r)
            : phantomValue(p, c, r);
    }
  }
  return out;
}
