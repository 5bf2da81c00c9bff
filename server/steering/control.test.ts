import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEntry, ControlSendReply, ControlState } from '@/lib/protocol';
import { LocalUsers } from '../auth/LocalUsers';
import type { Gateway } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TEST_USERS,
  TOKENS,
  viewerClient,
  type ViewerClient,
} from '../testing/testGateway';

const KAI = 'scientist-k-token-0123456789';
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** A gateway where ada and kai are scientists of run-1 (which a consumer streams), sam is staff. */
async function setup(requestTimeoutMs = 60_000) {
  const gw = await startTestGateway({
    users: new LocalUsers({
      users: [...TEST_USERS.users, { name: 'kai', role: 'scientist', token: KAI, runs: ['run-1'] }],
    }),
    control: { requestTimeoutMs, releaseGraceMs: 100 },
  });
  open.push(gw);
  const producer = producerClient(gw.url, TOKENS.producer);
  open.push(producer);
  producer.on('command', (command, reply) => reply({ id: command.id, status: 'applied' }));
  await connected(producer);
  expect((await producer.emitWithAck('run:register', { run: 'run-1', title: 'r' })).ok).toBe(true);
  return gw;
}

/** A viewer following run-1 that keeps every control state it is told. */
async function viewer(gw: Gateway, token?: string) {
  const socket: ViewerClient = viewerClient(gw.url, token);
  open.push(socket);
  const states: ControlState[] = [];
  socket.on('control:state', (s) => states.push(s));
  await connected(socket);
  expect((await socket.emitWithAck('run:subscribe', { run: 'run-1' })).ok).toBe(true);
  const act = (action: string, run = 'run-1'): Promise<ControlSendReply> =>
    socket.emitWithAck('control:send', { run, action } as never);
  return { socket, states, act, last: () => states.at(-1) };
}

let key = 0;
const post = (gw: Gateway, token: string) =>
  fetch(`${gw.url}/api/runs/run-1/commands`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': `control-${++key}`,
    },
    body: JSON.stringify({ kind: 'pause' }),
  });

const audit = async (gw: Gateway): Promise<AuditEntry[]> =>
  (
    (await (
      await fetch(`${gw.url}/api/audit?limit=1000`, {
        headers: { authorization: `Bearer ${TOKENS.staff}` },
      })
    ).json()) as { entries: AuditEntry[] }
  ).entries;

describe('one hand on the controls', () => {
  it('a second scientist must ask; the holder grants; a non-holder’s command is refused, typed and audited; everyone sees it', async () => {
    const gw = await setup();
    const ada = await viewer(gw, TOKENS.scientist);
    const kai = await viewer(gw, KAI);
    // Subscribing tells each viewer the state: nobody holds control yet.
    await eventually(() => ada.last()?.holder === null, 2000, 'initial state');

    expect(await ada.act('request')).toMatchObject({
      ok: true,
      state: { holder: { subject: 'ada' } },
    });
    await eventually(() => kai.last()?.holder?.subject === 'ada', 2000, 'kai sees ada holding');

    // kai's command is refused while ada holds control: over REST and over the socket.
    const rest = await post(gw, KAI);
    expect(rest.status).toBe(409);
    expect(await rest.json()).toMatchObject({
      code: 'not_in_control',
      error: /ada \(scientist\) holds control/,
    });
    const socketReply = await kai.socket.emitWithAck('command:send', {
      run: 'run-1',
      idempotencyKey: `control-${++key}`,
      request: { kind: 'resume' },
    });
    expect(socketReply).toMatchObject({ ok: false, status: 409, code: 'not_in_control' });
    expect((await post(gw, TOKENS.scientist)).status).toBe(202);

    expect(await kai.act('request')).toMatchObject({
      ok: true,
      state: { request: { subject: 'kai' } },
    });
    await eventually(() => ada.last()?.request?.subject === 'kai', 2000, 'ada sees the request');
    expect(await kai.act('grant')).toMatchObject({ ok: false, code: 'not_holder' });
    expect(await ada.act('grant')).toMatchObject({
      ok: true,
      state: { holder: { subject: 'kai' } },
    });
    expect((await post(gw, KAI)).status).toBe(202);
    expect((await post(gw, TOKENS.scientist)).status).toBe(409);

    // A late joiner is told who holds control, with the handoffs.
    const late = await viewer(gw, TOKENS.viewer);
    await eventually(() => late.last() !== undefined, 2000, 'late joiner state');
    expect(late.last()).toMatchObject({ holder: { subject: 'kai' } });
    expect(late.last()?.history.map((h) => h.event)).toEqual(['claimed', 'requested', 'granted']);

    const rows = await audit(gw);
    const refused = rows.filter(
      (r) => r.outcome === 'denied' && r.reason?.startsWith('not_in_control'),
    );
    expect(refused.map((r) => [r.subject, r.action, r.status])).toEqual(
      expect.arrayContaining([
        ['kai', 'command:pause', 409],
        ['kai', 'command:resume', 409],
        ['ada', 'command:pause', 409],
      ]),
    );
    expect(
      rows.filter((r) => r.action === 'control:grant').map((r) => [r.subject, r.outcome]),
    ).toEqual(
      expect.arrayContaining([
        ['ada', 'allowed'],
        ['kai', 'denied'],
      ]),
    );
  });

  it('only staff take control; viewers and scientists of other runs cannot touch it; a lapsed request is audited', async () => {
    const gw = await setup(150);
    const ada = await viewer(gw, TOKENS.scientist);
    const sam = await viewer(gw, TOKENS.staff);
    const remote = await viewer(gw, TOKENS.viewer);
    const bob = viewerClient(gw.url, TOKENS.otherScientist);
    open.push(bob);
    await connected(bob);

    await ada.act('request');
    expect(await remote.act('request')).toMatchObject({ ok: false, code: 'forbidden' });
    expect(
      await bob.emitWithAck('control:send', { run: 'run-1', action: 'request' }),
    ).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(await ada.act('take')).toMatchObject({
      ok: false,
      code: 'forbidden',
      error: /only staff take control/,
    });
    expect(await ada.act('nonsense')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await sam.act('request', 'no-such-run')).toMatchObject({
      ok: false,
      code: 'unknown_run',
    });

    // sam asks, ada says nothing: the request lapses and ada keeps control.
    await sam.act('request');
    await eventually(() => ada.last()?.history.at(-1)?.event === 'expired', 3000, 'lapse');
    expect(ada.last()).toMatchObject({ holder: { subject: 'ada' }, request: null });
    expect(await sam.act('take')).toMatchObject({
      ok: true,
      state: { holder: { subject: 'sam' } },
    });
    expect((await post(gw, TOKENS.staff)).status).toBe(202);

    const rows = await audit(gw);
    expect(rows.some((r) => r.action === 'control:expire' && r.subject === 'gateway')).toBe(true);
    expect(
      rows.some(
        (r) => r.action === 'control:take' && r.subject === 'sam' && r.outcome === 'allowed',
      ),
    ).toBe(true);
    expect(
      rows.some(
        (r) => r.action === 'control:request' && r.subject === 'remote' && r.category === 'refusal',
      ),
    ).toBe(true);
  });

  it('a holder whose last page of the run closed loses control after the grace period', async () => {
    const gw = await setup();
    const ada = await viewer(gw, TOKENS.scientist);
    const kai = await viewer(gw, KAI);
    await ada.act('request');
    ada.socket.disconnect();
    await eventually(() => kai.last()?.history.at(-1)?.event === 'dropped', 3000, 'drop');
    expect(kai.last()?.holder).toBeNull();
    expect((await post(gw, KAI)).status).toBe(202);
  });
});
