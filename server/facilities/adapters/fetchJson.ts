import type { z } from 'zod';

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
  const headers: Record<string, string> = { accept: 'application/json' };
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
    throw new SourceError(`credentials refused (HTTP ${response.status})`, true);
  if (!response.ok) throw new SourceError(`HTTP ${response.status}`);
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
