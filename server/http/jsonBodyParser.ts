import type { FastifyInstance } from 'fastify';

/**
 * Deepest nesting a REST body may have. Commands and estimates are 3–4 levels deep; 64 leaves room
 * and keeps every later recursive walk (prototype-poisoning scan, zod, audit summaries) far from
 * the stack limit, which a 30,000-deep array reaches.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Nesting depth of a JSON text, counted without parsing (one pass, no recursion); stops early once
 * `limit` is passed. Brackets inside strings do not count.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

class BadJsonError extends Error {
  readonly statusCode = 400;
  readonly code = 'LOUPE_JSON_TOO_DEEP';
}

/**
 * The one JSON body parser of the gateway: Fastify's own (prototype-poisoning checks kept), behind
 * a depth limit, so a deeply nested body is a 400 with a reason instead of a stack overflow (500).
 */
export function installJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // REST takes JSON only: a `text/plain` body (what a cross-site "simple" POST can send) is 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepthExceeds(text, maxDepth)) {
      done(new BadJsonError(`JSON body nests deeper than ${maxDepth} levels`), undefined);
      return;
    }
    parse(request, text, done);
  });
}
