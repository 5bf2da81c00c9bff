import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LoupeProducer } from '@/consumers/sdk/LoupeProducer';
import { type GatewayProcess, spawnGateway } from '../testing/spawnGateway';
import { eventually, TOKENS } from '../testing/testGateway';

/** The fields docs/operations.md promises on every line, and those of command lines. */
const LogLine = z
  .object({
    level: z.number().int(),
    time: z.number().int(),
    pid: z.number().int(),
    msg: z.string(),
    reqId: z.string().optional(),
    event: z.string().optional(),
    commandId: z.string().optional(),
    state: z.string().optional(),
    req: z.object({ method: z.string(), url: z.string() }).partial().optional(),
  })
  .passthrough();
type LogLine = z.infer<typeof LogLine>;

/** Every stdout line is one JSON object (pino); a line that is not fails the test. */
function linesOf(gw: GatewayProcess): LogLine[] {
  return gw
    .output()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{"listening"'))
    .map((l) => LogLine.parse(JSON.parse(l)));
}

describe('the gateway’s structured logs (spawned process, JSON lines on stdout)', () => {
  let gw: GatewayProcess;
  let producer: LoupeProducer;

  beforeAll(async () => {
    gw = await spawnGateway({ startTimeoutMs: 90_000, env: { LOUPE_LOG_LEVEL: 'info' } });
    producer = new LoupeProducer({
      url: gw.url,
      token: TOKENS.producer,
      run: { run: 'log-run', title: 'structured logs' },
    });
    producer.onCommand(() => ({ status: 'applied', detail: 'captured' }));
    await producer.connect();
  }, 120_000);
  afterAll(async () => {
    await producer?.close();
    await gw?.dispose();
  });

  it('names each request by an id it sends back, and follows one command by its id', async () => {
    // A sane X-Request-Id from a proxy is kept; the answer carries it either way.
    const posted = await fetch(`${gw.url}/api/runs/log-run/commands`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKENS.staff}`,
        'content-type': 'application/json',
        'idempotency-key': 'log-capture-1',
        'x-request-id': 'proxy-req-0001',
      },
      body: JSON.stringify({ kind: 'capture' }),
    });
    expect(posted.status, await posted.clone().text()).toBeLessThan(300);
    expect(posted.headers.get('x-request-id')).toBe('proxy-req-0001');
    const { command } = (await posted.json()) as { command: { id: string } };

    const listed = await fetch(`${gw.url}/api/runs`, {
      headers: { authorization: `Bearer ${TOKENS.staff}`, 'x-request-id': 'bad id with spaces' },
    });
    expect(listed.status).toBe(200);
    const listId = listed.headers.get('x-request-id')!;
    // An insane incoming id is replaced by a fresh one.
    expect(listId).toMatch(/^[0-9a-f-]{36}$/);

    await eventually(
      () => linesOf(gw).some((l) => l.commandId === command.id && l.state === 'applied'),
      15_000,
      'the command’s applied line',
    );
    const lines = linesOf(gw);
    const ofCommand = lines.filter((l) => l.commandId === command.id);
    // The REST answer waits briefly for the consumer, so `posted` may come after the outcome.
    expect(ofCommand.map((l) => l.msg).sort()).toEqual([
      'command accepted',
      'command applied',
      'command delivered',
      'command posted',
    ]);
    const at = (msg: string) => ofCommand.find((l) => l.msg === msg)!.time;
    expect(at('command accepted')).toBeLessThanOrEqual(at('command delivered'));
    expect(at('command delivered')).toBeLessThanOrEqual(at('command applied'));
    expect(ofCommand.every((l) => l.event === 'command')).toBe(true);
    expect(ofCommand.find((l) => l.msg === 'command posted')?.reqId).toBe('proxy-req-0001');
    // Fastify's request line for the list carries the id the answer named (the child's lines
    // reach this process through a pipe, so it is waited for rather than assumed there).
    await eventually(
      () =>
        linesOf(gw).some(
          (l) => l.reqId === listId && l.req?.method === 'GET' && l.req.url === '/api/runs',
        ),
      15_000,
      'the list request’s line with its id',
    );
    // Credentials are never written: the bearer tokens appear on no line.
    expect(gw.output()).not.toContain(TOKENS.staff);
    expect(gw.output()).not.toContain(TOKENS.producer);
  });
});
