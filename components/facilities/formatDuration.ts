/** A duration in seconds, rounded to what a person reads at a glance, with its unit. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unbounded';
  const s = Math.max(0, seconds);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A countdown to the second: "3 h 04 min 05 s", or "2 d 3 h 04 min" beyond a day. */
export function formatCountdown(ms: number): string {
  const t = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(t / 86_400);
  const h = Math.floor((t % 86_400) / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  if (d > 0) return `${d} d ${h} h ${pad(m)} min`;
  if (h > 0) return `${h} h ${pad(m)} min ${pad(s)} s`;
  if (m > 0) return `${m} min ${pad(s)} s`;
  return `${s} s`;
}

/** Local date and time to the minute, with the zone, e.g. "Mon 09:00 CDT". */
export function formatWhen(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
}

/** "12 s ago", "4 min ago", "3 h ago". */
export function formatAgo(ms: number): string {
  return `${formatDuration(Math.max(0, ms) / 1000)} ago`;
}

/** A count with thousands separators, or an em dash when unknown. */
export function formatCount(n: number | null | undefined, unit = ''): string {
  if (n === null || n === undefined) return '—';
  const text = Math.round(n).toLocaleString('en-US');
  return unit ? `${text} ${unit}` : text;
}
