import { z } from 'zod';

/** Why a source's answer could not be used; the text ends up as the snapshot's staleReason. */
export class SourceError extends Error {
  constructor(
    message: string,
    /** Credentials were refused: the systems are unknown, never their last good value. */
    readonly auth = false,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export interface FetchOptions {
  /** Bearer token, if the endpoint needs one. */
  token?: string | null | undefined;
  timeoutMs: number;
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Answer `notModified` on HTTP 304 instead of failing. */
  allowNotModified?: boolean;
  /** Extra request headers (Idempotency-Key, X-SLURM-USER-NAME …). */
  headers?: Record<string, string>;
}

/** RFC 9457 problem details, as IRI answers errors; only what the reason quotes. */
const ProblemBody = z.object({
  title: z.string().nullish(),
  detail: z.union([z.string(), z.array(z.unknown())]).nullish(),
});

/** "HTTP 400: Bad Request — account is required" from a problem+json (or FastAPI) body. */
function httpReason(status: number, text: string): string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return `HTTP ${status}`;
  }
  const p = ProblemBody.safeParse(data);
  if (!p.success) return `HTTP ${status}`;
  const detail =
    typeof p.data.detail === 'string'
      ? p.data.detail
      : Array.isArray(p.data.detail)
        ? JSON.stringify(p.data.detail)
        : null;
  const words = [p.data.title, detail].filter(Boolean).join(' — ');
  return (words ? `HTTP ${status}: ${words}` : `HTTP ${status}`).slice(0, 300);
}

/**
 * Validates each entry of a list on its own: a malformed entry is dropped and reported, the rest is
 * used (the real services are looser than their schemas). Returns the entries and what was dropped.
 */
export function parseEach<T extends z.ZodType>(
  items: readonly unknown[],
  schema: T,
  what: string,
  describe: (item: unknown, index: number) => string = (_, i) => String(i),
): { ok: z.infer<T>[]; dropped: string[] } {
  const ok: z.infer<T>[] = [];
  const dropped: string[] = [];
  items.forEach((item, i) => {
    const r = schema.safeParse(item);
    if (r.success) ok.push(r.data);
    else {
      const issue = r.error.issues[0];
      dropped.push(
        `${what} ${describe(item, i)}: ${issue?.path.join('.') || '(entry)'} ${issue?.message ?? 'invalid'}`.slice(
          0,
          160,
        ),
      );
    }
  });
  return { ok, dropped };
}

/** A zod enum that reads values it does not know as `fallback` (RELIABILITY 9: unknown enums). */
export function lenientEnum<const T extends readonly [string, ...string[]], F extends T[number]>(
  values: T,
  fallback: F,
) {
  return z
    .unknown()
    .transform((v): T[number] =>
      typeof v === 'string' && (values as readonly string[]).includes(v) ? v : fallback,
    );
}

/** How much of an unexpected answer the reason quotes. */
const SNIPPET_CHARS = 80;

/**
 * GETs (or POSTs) JSON and validates it with `schema`. Every failure becomes a SourceError with a
 * short reason: timeout, HTTP status, HTML instead of JSON, truncated JSON, unexpected shape.
 */
export async function fetchJson<T extends z.ZodType>(
  url: string,
  schema: T,
  options: FetchOptions,
): Promise<z.infer<T> | { notModified: true }> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'follow',
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new SourceError(`no answer within ${options.timeoutMs} ms`);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
    throw new SourceError(`unreachable${cause ? `: ${cause}` : ''}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    throw new SourceError(`answer cut off or too slow (HTTP ${response.status})`);
  }
  if (response.status === 304 && options.allowNotModified) return { notModified: true };
  if (response.status === 401 || response.status === 403)
    throw new SourceError(`credentials refused (${httpReason(response.status, text)})`, true);
  if (!response.ok) throw new SourceError(httpReason(response.status, text));
  const trimmed = text.trimStart();
  if (trimmed.startsWith('<')) throw new SourceError('answered HTML, not JSON');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SourceError(
      `invalid JSON (${text.length} bytes, ends "${text.slice(-SNIPPET_CHARS / 4)}")`,
    );
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new SourceError(
      `unexpected answer at ${where}: ${issue?.message ?? 'invalid'}`.slice(0, 200),
    );
  }
  return parsed.data;
}

/** Narrows a fetchJson answer that cannot be 304. */
export function isNotModified(x: unknown): x is { notModified: true } {
  return typeof x === 'object' && x !== null && 'notModified' in x;
}

/** Parses ISO 8601 to epoch ms, or throws a SourceError naming the field. */
export function isoMs(value: string, field: string): number {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new SourceError(`unexpected answer at ${field}: not a date`);
  return t;
}
