'use client';

import { useState } from 'react';

/** Significant digits a window bound is shown with: enough for 0–1 and for 0–65535 data. */
const DIGITS = 6;
/** Arrow keys nudge by this share of the span (Shift: ten times as much). */
const NUDGE_SHARE = 0.01;

/** A number as a person would write it: no trailing zeros, no integer rounding. */
export function formatWindowValue(v: number): string {
  return String(Number(v.toPrecision(DIGITS)));
}

/** A step of about `share` of `span`, rounded to 1, 2 or 5 × a power of ten. */
export function nudgeStep(span: number, share = NUDGE_SHARE): number {
  const raw = Math.abs(span) * share;
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/**
 * One bound of the display window. While focused it keeps the text as typed (so `0.` on the way
 * to `0.125` is not rewritten), commits every parseable value, and ArrowUp/ArrowDown nudge by a
 * step relative to `span` (the data range).
 */
export function WindowField({
  label,
  value,
  span,
  unit,
  testId,
  onValue,
}: {
  label: string;
  value: number;
  span: number;
  unit?: string | undefined;
  testId: string;
  /** Returns whether the value was taken (e.g. min stays below max). */
  onValue: (value: number) => boolean;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const step = nudgeStep(span);
  return (
    <label className="flex items-center gap-1">
      {label}
      <input
        data-testid={testId}
        type="text"
        inputMode="decimal"
        aria-label={`window ${label}${unit ? ` (${unit})` : ''}`}
        value={draft ?? formatWindowValue(value)}
        onFocus={() => setDraft(formatWindowValue(value))}
        onBlur={() => setDraft(null)}
        onChange={(e) => {
          setDraft(e.target.value);
          const v = Number(e.target.value.trim());
          if (e.target.value.trim() !== '' && Number.isFinite(v)) onValue(v);
        }}
        onKeyDown={(e) => {
          if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
          e.preventDefault();
          const d = (e.key === 'ArrowUp' ? 1 : -1) * step * (e.shiftKey ? 10 : 1);
          // Snap to the step grid so repeated nudges give round numbers.
          const next = Number((Math.round((value + d) / step) * step).toPrecision(12));
          if (onValue(next)) setDraft(formatWindowValue(next));
        }}
        className="w-28 rounded border border-edge bg-surface px-2 py-1 font-mono"
      />
      {unit ? <span className="text-xs text-muted">{unit}</span> : null}
    </label>
  );
}
