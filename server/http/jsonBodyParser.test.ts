import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway';
import { startTestGateway, TOKENS } from '../testing/testGateway';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './jsonBodyParser';

describe('jsonDepthExceeds', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonDepthExceeds('[[[]]]', 3)).toBe(false);
    expect(jsonDepthExceeds('[[[[]]]]', 3)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(jsonDepthExceeds(JSON.stringify({ s: '[[[[[[[[[[{{{{{' }), 2)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ s: 'quote \\" [[[[[' }), 2)).toBe(false);
  });
});

describe('the gateway’s JSON body parser', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());
  const post = (body: string) =>
    fetch(`${gw.url}/api/runs/run-1/commands`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKENS.staff}`,
        'content-type': 'application/json',
        'idempotency-key': crypto.randomUUID(),
      },
      body,
    });

  it('answers a 30,000-deep body 400 with the reason (it was a 500 stack overflow)', async () => {
    for (const body of [
      '['.repeat(30_000) + ']'.repeat(30_000),
      '{"a":'.repeat(9_000) + '1' + '}'.repeat(9_000),
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe(
        `JSON body nests deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    // The gateway is fine afterwards, and ordinary JSON errors keep their 400s.
    expect((await post('{"kind":')).status).toBe(400);
    expect((await post('{"__proto__":{"x":1},"kind":"pause"}')).status).toBe(400);
    expect((await fetch(`${gw.url}/api/health/live`)).status).toBe(200);
  });
});
