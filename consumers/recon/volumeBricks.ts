/** Brick offsets covering `shape`, nearest the centre first, so the volume fills in from the middle. */
export function brickOrder(
  shape: readonly [number, number, number],
  edge: number,
): [number, number, number][] {
  const offsets: [number, number, number][] = [];
  for (let z = 0; z < shape[2]; z += edge)
    for (let y = 0; y < shape[1]; y += edge)
      for (let x = 0; x < shape[0]; x += edge) offsets.push([x, y, z]);
  const centre = shape.map((n) => n / 2);
  const dist = (o: readonly number[]) =>
    o.reduce((s, v, i) => s + (v + Math.min(edge, shape[i]! - v) / 2 - centre[i]!) ** 2, 0);
  return offsets.sort((a, b) => dist(a) - dist(b));
}

/** A brick's edge lengths at `offset`: `edge`, or what is left of the volume at its far side. */
export function brickSize(
  shape: readonly [number, number, number],
  offset: readonly [number, number, number],
  edge: number,
): [number, number, number] {
  return [0, 1, 2].map((i) => Math.min(edge, shape[i]! - offset[i]!)) as [number, number, number];
}
