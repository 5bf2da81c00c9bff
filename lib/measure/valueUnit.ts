import type { FrameHeader } from '@/lib/protocol';

/**
 * The unit of a frame's values as its producer states it (`unit`, e.g. `1/mm` for the reference
 * reconstruction's linear attenuation coefficient); empty when the producer states none, rather
 * than a guess.
 */
export function valueUnitOf(header: FrameHeader): string {
  return header.unit ?? '';
}
