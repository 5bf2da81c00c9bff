import { z } from 'zod';
import { Plane, View } from '@/lib/protocol';

/**
 * A point on a slice in image coordinates: columns and rows of the slice's pixels, fractional;
 * pixel (c, r) covers [c, c + 1) × [r, r + 1), so its centre is (c + 0.5, r + 0.5).
 */
export const ImagePoint = z.object({ col: z.number().finite(), row: z.number().finite() }).strict();
export type ImagePoint = z.infer<typeof ImagePoint>;

export const MeasurementKind = z.enum(['ruler', 'profile', 'rectangle', 'ellipse']);
export type MeasurementKind = z.infer<typeof MeasurementKind>;

/** Most measurements kept per run: enough for a session, small enough for a URL. */
export const MAX_MEASUREMENTS = 32;

/**
 * One measurement drawn on a slice plane of one reconstruction (full or zoomed view). A ruler or
 * profile runs from `a` to `b`; a rectangle or ellipse is bounded by the box with corners `a`, `b`.
 * Coordinates are image pixels, so the measurement stays put while the view is panned or zoomed.
 */
export const Measurement = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'id: 1-16 of letters, digits, _ -'),
    kind: MeasurementKind,
    plane: Plane,
    view: View,
    a: ImagePoint,
    b: ImagePoint,
  })
  .strict();
export type Measurement = z.infer<typeof Measurement>;

export const MeasurementList = z.array(Measurement).max(MAX_MEASUREMENTS);
export type MeasurementList = z.infer<typeof MeasurementList>;

/** Coordinates keep 2 decimals in a link: 1/100 of a pixel is below anything a pointer can place. */
const round = (v: number) => Math.round(v * 100) / 100;

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** The list as a URL-safe string (base64url of compact JSON), for the view state in the URL. */
export function encodeMeasurements(list: MeasurementList): string {
  const compact = MeasurementList.parse(list).map((m) => ({
    ...m,
    a: { col: round(m.a.col), row: round(m.a.row) },
    b: { col: round(m.b.col), row: round(m.b.row) },
  }));
  return toBase64Url(JSON.stringify(compact));
}

/** Parses what {@link encodeMeasurements} wrote; anything else is a typed refusal, never a throw. */
export function decodeMeasurements(
  text: string,
): { ok: true; value: MeasurementList } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(fromBase64Url(text));
  } catch {
    return { ok: false, error: 'measurements: not base64url JSON' };
  }
  const parsed = MeasurementList.safeParse(json);
  if (!parsed.success)
    return { ok: false, error: `measurements: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  return { ok: true, value: parsed.data };
}
