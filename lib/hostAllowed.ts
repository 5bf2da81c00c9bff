/**
 * The Host allow-list rule the UI (proxy.ts) and the gateway share. An entry `host:port` matches
 * exactly; an entry without a port (`localhost`, `[::1]`) matches that host on any port. Host
 * values compare lower-cased. No Host at all never matches.
 */
export function hostAllowed(host: string | null | undefined, allowed: readonly string[]): boolean {
  if (!host) return false;
  const h = host.trim().toLowerCase();
  const name = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(h)?.[1] ?? h;
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === h || e === name;
  });
}

/** The loopback names, on any port: what a browser on this machine calls Loupe. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** `LOUPE_ALLOWED_HOSTS` as a list (comma-separated); the loopback names when unset. */
export function allowedHostsFrom(value: string | undefined): readonly string[] {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length > 0 ? list : LOOPBACK_HOSTS;
}
