import type { FrameHeader } from '@/lib/protocol';

/**
 * The unit of a frame's values. Headers gain a `unit` field with the protocol bump of issue 12;
 * until then a reconstruction is a linear attenuation coefficient, per mm.
 */
export function valueUnitOf(header: FrameHeader): string {
  const unit = (header as FrameHeader & { unit?: unknown }).unit;
  return typeof unit === 'string' && unit.length > 0 ? unit : '1/mm';
}
