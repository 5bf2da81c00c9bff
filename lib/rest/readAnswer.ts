import type { z } from 'zod';
import { ErrorAnswer } from '@/lib/protocol';

/** A REST answer read against its schema: the data, or what went wrong in words for a person. */
export type Answer<T> = { ok: true; data: T } | { ok: false; status: number; error: string };

/**
 * Reads a gateway answer: a 2xx body must match `schema` (lib/protocol/rest.ts); any other status
 * gives the gateway's own `error`, or the status text when the body has none. Never throws for a
 * body that is not JSON or not what the route declares: that is an error answer too.
 */
export async function readAnswer<S extends z.ZodType>(
  res: Response,
  schema: S,
): Promise<Answer<z.infer<S>>> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's HTML error page, an empty body): judged below by the status.
  }
  if (res.ok) {
    const parsed = schema.safeParse(body);
    if (parsed.success) return { ok: true, data: parsed.data };
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      status: res.status,
      error: `the gateway's answer is not the one declared${issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : ''}`,
    };
  }
  const refusal = ErrorAnswer.safeParse(body);
  return {
    ok: false,
    status: res.status,
    error: refusal.success ? refusal.data.error : `HTTP ${res.status} ${res.statusText}`.trim(),
  };
}
