import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FacilitySimulator,
  startFacilitySimulator,
} from '../facilities/simulator/startFacilitySimulator';
import type { Gateway } from '../gateway';
import { producerClient, startTestGateway, TOKENS, connected } from '../testing/testGateway';

/** A raw request as a browser form or `fetch` would send it (headers exactly as given). */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Scenario 19, CSRF on REST steering: Loupe authenticates REST by bearer token only — a browser
 * never attaches one by itself, and no cookie means anything — and refuses a state change from a
 * foreign Origin before authentication. A cross-site form or `fetch` executes 0 commands. The
 * facility simulator's controls, which a page could otherwise drive by a simple POST, need their
 * token, a JSON body and no foreign Origin.
 */
describe('s19: CSRF on REST steering', () => {
  let gw: Gateway;
  const commands = (run: string) => `${gw.url}/api/runs/${run}/commands`;
  beforeAll(async () => {
    gw = await startTestGateway({ allowedOrigins: ['http://127.0.0.1:3000'] });
    // A consumer on the run, so an accepted command would reach it.
    const producer = producerClient(gw.url, TOKENS.producer);
    await connected(producer);
    expect((await producer.emitWithAck('run:register', { run: 'run-1', title: 'csrf' })).ok).toBe(
      true,
    );
  });
  afterAll(() => gw.close());

  const FORMS: [string, Record<string, string>, string, number][] = [
    [
      'cross-site form POST (urlencoded, cookie)',
      {
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
        cookie: 'loupe.token=' + TOKENS.staff,
      },
      'kind=pause',
      403,
    ],
    [
      'cross-site text/plain "simple" POST of JSON',
      {
        origin: 'https://evil.example',
        'content-type': 'text/plain',
        'sec-fetch-site': 'cross-site',
      },
      JSON.stringify({ kind: 'pause' }),
      403,
    ],
    [
      'cross-site multipart form',
      { origin: 'https://evil.example', 'content-type': 'multipart/form-data; boundary=x' },
      '--x\r\nContent-Disposition: form-data; name="kind"\r\n\r\npause\r\n--x--\r\n',
      403,
    ],
    [
      'a form with its Origin stripped, credentials in a cookie only',
      {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: 'loupe.token=' + TOKENS.staff + '; authorization=Bearer%20' + TOKENS.staff,
        'idempotency-key': 'csrf-cookie',
      },
      'kind=pause',
      // Cookies are never read: the caller is anonymous, and no form body is ever parsed.
      415,
    ],
    [
      'fetch with credentials: include, JSON, cookie, no bearer',
      {
        origin: 'http://127.0.0.1:3000',
        'content-type': 'application/json',
        cookie: 'loupe.token=' + TOKENS.staff,
        'idempotency-key': 'csrf-fetch',
      },
      JSON.stringify({ kind: 'pause' }),
      // The cookie is ignored: an anonymous viewer may not steer.
      403,
    ],
  ];

  it.each(FORMS)('%s: refused (%#)', async (_name, headers, body, status) => {
    const answer = await send(commands('run-1'), 'POST', headers, body);
    expect(answer.status).toBe(status);
    expect(await gw.commands.list('run-1')).toHaveLength(0);
  });

  it('a preflight from a foreign Origin grants nothing: no CORS headers, so fetch never sends', async () => {
    const answer = await send(commands('run-1'), 'OPTIONS', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, idempotency-key',
    });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer.headers['access-control-allow-headers']).toBeUndefined();
    expect(answer.status).toBeGreaterThanOrEqual(400);
  });

  it('only a bearer token with a JSON body executes, and the totals add up: 0 from the forgeries', async () => {
    // Even with the token, a form-encoded body has no parser: nothing but JSON is ever read.
    const form = await send(
      commands('run-1'),
      'POST',
      {
        authorization: `Bearer ${TOKENS.staff}`,
        'content-type': 'application/x-www-form-urlencoded',
        'idempotency-key': 'form-with-token',
      },
      'kind=pause',
    );
    expect(form.status).toBe(415);
    const real = await send(
      commands('run-1'),
      'POST',
      {
        authorization: `Bearer ${TOKENS.staff}`,
        'content-type': 'application/json',
        'idempotency-key': 'the-real-one',
      },
      JSON.stringify({ kind: 'pause' }),
    );
    expect(real.status).toBeLessThan(300);
    expect(await gw.commands.list('run-1')).toHaveLength(1);
  });
});

describe('s19: the facility simulator’s controls', () => {
  let sim: FacilitySimulator;
  const TOKEN = 'sim-control-token-for-the-test';
  const windows = () => sim.models.get('polaris')!.windows.length;
  beforeAll(async () => {
    sim = await startFacilitySimulator({ controlToken: TOKEN, manualClock: true });
  });
  afterAll(() => sim.close());
  const window = JSON.stringify({ system: 'polaris', startInS: 60, durationS: 600 });

  it('refuses cross-origin simple POSTs, missing or wrong tokens, and foreign Origins; changes nothing', async () => {
    const before = windows();
    const clock = sim.now();
    const attempts: [Record<string, string>, string, string, number][] = [
      [
        { origin: 'https://evil.example', 'content-type': 'text/plain' },
        '/_sim/windows',
        window,
        401,
      ],
      [{ 'content-type': 'application/json' }, '/_sim/advance', '{"seconds":3600}', 401],
      [
        { authorization: 'Bearer wrong', 'content-type': 'application/json' },
        '/_sim/windows',
        window,
        401,
      ],
      [
        { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
        '/_sim/windows',
        window,
        415,
      ],
      [
        {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        '/_sim/advance',
        'seconds=3600',
        415,
      ],
      [
        {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          origin: 'https://evil.example',
        },
        '/_sim/windows',
        window,
        403,
      ],
    ];
    for (const [headers, path, body, status] of attempts) {
      const answer = await send(`${sim.url}${path}`, 'POST', headers, body);
      expect(answer.status, `${path} ${JSON.stringify(headers)}`).toBe(status);
    }
    expect((await send(`${sim.url}/_sim/clock`, 'GET', {})).status).toBe(401);
    expect(windows()).toBe(before);
    expect(sim.now()).toBe(clock);
  });

  it('with its token, JSON and no foreign Origin, the controls work', async () => {
    const before = windows();
    const answer = await send(
      `${sim.url}/_sim/windows`,
      'POST',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      window,
    );
    expect(answer.status).toBe(200);
    expect(windows()).toBe(before + 1);
    const clock = await send(`${sim.url}/_sim/clock`, 'GET', { authorization: `Bearer ${TOKEN}` });
    expect(clock.status).toBe(200);
  });

  it('without a control token the controls are off', async () => {
    const off = await startFacilitySimulator({ manualClock: true });
    try {
      const answer = await send(`${off.url}/_sim/clock`, 'GET', { authorization: 'Bearer x' });
      expect(answer.status).toBe(403);
    } finally {
      await off.close();
    }
  });
});
