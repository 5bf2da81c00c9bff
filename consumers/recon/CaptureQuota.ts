/** Limits on what one consumer may write as captures (each a DXchange file of a half turn). */
export interface CaptureLimits {
  /** Bytes all of this consumer's captures together may take. Default 2 GiB. */
  maxBytes?: number;
  /** Number of capture files this consumer may write. Default 50. */
  maxFiles?: number;
}

export const DEFAULT_CAPTURE_LIMITS: Required<CaptureLimits> = {
  maxBytes: 2 * 2 ** 30,
  maxFiles: 50,
};

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * A per-consumer quota on captures: every capture command is a disk write anyone allowed to steer
 * can repeat, so a consumer refuses (as a failed command, with the reason) the one that would go
 * past its byte or file budget, before writing anything.
 */
export class CaptureQuota {
  private readonly limits: Required<CaptureLimits>;
  private bytes = 0;
  private files = 0;

  constructor(limits: CaptureLimits = {}) {
    this.limits = { ...DEFAULT_CAPTURE_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.limits))
      if (!(Number.isFinite(value) && value >= 0))
        throw new Error(`capture ${name} must be a number ≥ 0, got ${value}`);
  }

  /** Why a capture of about `estimatedBytes` must be refused, or null if it fits. */
  refusal(estimatedBytes: number): string | null {
    if (this.files >= this.limits.maxFiles)
      return `capture limit reached: ${this.files} of ${this.limits.maxFiles} files already written by this consumer`;
    if (this.bytes + estimatedBytes > this.limits.maxBytes)
      return `capture quota exceeded: this capture needs ~${mib(estimatedBytes)}, ${mib(this.bytes)} of ${mib(this.limits.maxBytes)} used`;
    return null;
  }

  /** Counts a written capture of `bytes` (its size on disk). */
  record(bytes: number): void {
    this.bytes += bytes;
    this.files++;
  }

  /** Bytes the quota still allows. */
  remainingBytes(): number {
    return Math.max(0, this.limits.maxBytes - this.bytes);
  }

  get used(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.files };
  }
}
