import type { z } from 'zod';
import { ErrorAnswer } from '@/lib/protocol';

/** A REST answer read against its schema: the data, or what went wrong in words for a person. */
export type Answer<T> = { ok: true; data: T } | { ok: false; status: number; error: string };

/** The body as JSON, or null for one that is not (a proxy's HTML error page, an empty body). */
async function jsonBody(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/** The gateway's own `error` of a refusal, or the status when the body has none. */
function refusalText(res: Response, body: unknown): string {
  const refusal = ErrorAnswer.safeParse(body);
  return refusal.success ? refusal.data.error : `HTTP ${res.status} ${res.statusText}`.trim();
}

/**
 * What a refusal (a non-2xx answer) says, for a person. For answers whose success is not JSON
 * (a download, a DELETE's empty 204).
 */
export async function readRefusal(res: Response): Promise<string> {
  return refusalText(res, await jsonBody(res));
}

/**
 * Reads a gateway answer: a 2xx body must match `schema` (lib/protocol/rest.ts); any other status
 * gives the gateway's own `error`, or the status text when the body has none. Never throws for a
 * body that is not JSON or not what the route declares: that is an error answer too.
 */
export async function readAnswer<S extends z.ZodType>(
  res: Response,
  schema: S,
): Promise<Answer<z.infer<S>>> {
  const body = await jsonBody(res);
  if (!res.ok) return { ok: false, status: res.status, error: refusalText(res, body) };
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    status: res.status,
    error: `the gateway's answer is not the one declared${issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : ''}`,
  };
}
