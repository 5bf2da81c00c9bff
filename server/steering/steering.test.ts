import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Command,
  type CommandRecord,
  type CommandReply,
  type CommandRequestInput,
  type CommandSendReply,
  type ParameterDeclaration,
  STEERING_KINDS,
  AuditAnswer,
  CommandAnswer,
  CommandListAnswer,
  ErrorAnswer,
  SessionAnswer,
  ShareCreatedAnswer,
  type SteeringKind,
} from '@/lib/protocol';
import { steeringDecision } from '@/lib/policy';
import type { Database } from '../db/Database';
import type { Gateway, GatewayOptions } from '../gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
  type ProducerClient,
} from '../testing/testGateway';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const BODIES: Record<SteeringKind, CommandRequestInput> = {
  zoom: { kind: 'zoom', region: { x: [10, 50], y: [20, 60], z: [0, 32] } },
  'reset-zoom': { kind: 'reset-zoom' },
  pause: { kind: 'pause' },
  resume: { kind: 'resume' },
  capture: { kind: 'capture' },
  'set-parameters': { kind: 'set-parameters', values: { rotationCentre: 128.5, filter: 'hann' } },
  'centre-sweep': { kind: 'centre-sweep', count: 9, step: 0.5 },
  'set-slices': { kind: 'set-slices', positions: { xy: 3, yz: 7 } },
  resubmit: { kind: 'resubmit', nodes: 2, walltimeSeconds: 1800 },
};

/** What the test consumer declares it can be steered on. */
const PARAMETERS: ParameterDeclaration[] = [
  {
    name: 'rotationCentre',
    label: 'Rotation centre',
    type: 'number',
    unit: 'px',
    min: 0,
    max: 512,
    default: 256,
  },
  {
    name: 'filter',
    label: 'Filter',
    type: 'enum',
    choices: [
      { value: 'ramp', label: 'Ramp' },
      { value: 'hann', label: 'Hann' },
    ],
    default: 'ramp',
  },
];

/** Callers by name: token (undefined = anonymous) and whether policy lets them steer run-1. */
const CALLERS = [
  { name: 'staff', token: TOKENS.staff, steers: true },
  { name: 'scientist of the run', token: TOKENS.scientist, steers: true },
  { name: 'scientist of another run', token: TOKENS.otherScientist, steers: false },
  { name: 'viewer', token: TOKENS.viewer, steers: false },
  { name: 'anonymous', token: undefined, steers: false },
  { name: 'producer', token: TOKENS.producer, steers: false },
] as const;

interface Consumer {
  socket: ProducerClient;
  received: Command[];
  applied: Map<string, number>;
}

/** A consumer on run-1 that accepts each command, then reports it applied (once per id). */
async function consumer(
  gw: Gateway,
  opts: { replyDelayMs?: number; token?: string } = {},
): Promise<Consumer> {
  const socket = producerClient(gw.url, opts.token ?? TOKENS.producer);
  open.push(socket);
  const received: Command[] = [];
  const applied = new Map<string, number>();
  socket.on('command', (command, reply) => {
    received.push(command);
    const answer = () => {
      const seen = applied.has(command.id);
      reply({ id: command.id, status: 'accepted' } satisfies CommandReply);
      if (seen) return; // already applied: never twice
      applied.set(command.id, 1);
      socket.emit('command:update', {
        run: command.run,
        reply: { id: command.id, status: 'applied', detail: `did ${command.kind}` },
      });
    };
    if (opts.replyDelayMs) setTimeout(answer, opts.replyDelayMs);
    else answer();
  });
  await connected(socket);
  const reply = await socket.emitWithAck('run:register', {
    run: 'run-1',
    title: 'Steered run',
    parameters: PARAMETERS,
  });
  expect(reply.ok).toBe(true);
  return { socket, received, applied };
}

async function gateway(over: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const gw = await startTestGateway(over);
  open.push(gw);
  return gw;
}

let keyCounter = 0;
function post(
  gw: Gateway,
  token: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
  run = 'run-1',
) {
  return fetch(`${gw.url}/api/runs/${run}/commands`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': `key-${++keyCounter}`,
      ...(token && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe('steering policy, every role × every command', () => {
  it('over REST: allowed exactly where policy says, audited either way, and only allowed ones reach the consumer', async () => {
    const gw = await gateway({ commands: { ratePoints: 1000 } });
    const c = await consumer(gw);
    let allowedCount = 0;
    for (const caller of CALLERS) {
      for (const kind of STEERING_KINDS) {
        const res = await post(gw, caller.token, BODIES[kind]);
        const expected = caller.steers ? 202 : caller.token === undefined ? 403 : 403;
        expect(res.status, `${caller.name} → ${kind}`).toBe(expected);
        const body = (await res.json()) as { command?: CommandRecord; error?: string };
        if (caller.steers) {
          allowedCount++;
          expect(body.command?.kind).toBe(kind);
          if (kind === 'resubmit') expect(body.command?.state).toBe('failed');
          else expect(['delivered', 'applied']).toContain(body.command?.state);
        } else {
          expect(body.error).toMatch(/^forbidden: /);
        }
        const entries = await gw.audit.query({ action: `command:${kind}`, limit: 1000 });
        const subject = caller.name === 'anonymous' ? 'anonymous' : undefined;
        const mine = entries.filter(
          (e) =>
            e.subject !== 'consumer' &&
            e.subject !== 'gateway' &&
            (subject ? e.subject === subject : true),
        );
        expect(
          mine.some((e) => e.outcome === (caller.steers ? 'accepted' : 'denied')),
          `audit for ${caller.name} → ${kind}`,
        ).toBe(true);
      }
    }
    const steerable = allowedCount - CALLERS.filter((c2) => c2.steers).length; // resubmits never reach the consumer
    await eventually(() => c.applied.size === steerable, 5000, 'allowed commands applied');
    expect(c.received).toHaveLength(steerable);
    const denied = (await gw.audit.query({ outcome: 'denied', limit: 1000 })).filter((e) =>
      e.action.startsWith('command:'),
    );
    expect(denied).toHaveLength(CALLERS.filter((x) => !x.steers).length * STEERING_KINDS.length);
  });

  it('over the socket: the same policy, the same audit, nothing denied reaches the consumer', async () => {
    const gw = await gateway({ commands: { ratePoints: 1000 } });
    const c = await consumer(gw);
    let expectedAtConsumer = 0;
    for (const caller of CALLERS) {
      const v = viewerClient(gw.url, caller.token);
      open.push(v);
      const refused = await connected(v).then(
        () => null,
        (e: Error & { data?: { code: string } }) => e.data?.code,
      );
      if (caller.name === 'producer') {
        expect(refused).toBe('forbidden'); // producers cannot even open a viewer socket
        continue;
      }
      expect(refused).toBeNull();
      for (const kind of STEERING_KINDS) {
        const answer = (await v.emitWithAck('command:send', {
          run: 'run-1',
          idempotencyKey: `socket-${caller.name}-${kind}`,
          request: BODIES[kind],
        })) as CommandSendReply;
        expect(answer.ok, `${caller.name} → ${kind} over the socket`).toBe(caller.steers);
        if (!answer.ok) expect(answer.status).toBe(403);
        else if (kind !== 'resubmit') expectedAtConsumer++;
      }
    }
    await eventually(() => c.applied.size === expectedAtConsumer, 5000, 'socket commands applied');
    expect(c.received).toHaveLength(expectedAtConsumer);
  });

  it('GET /api/session answers the protocol’s SessionAnswer, and the browser’s policy on it is the gateway’s decision', async () => {
    const gw = await gateway({ commands: { ratePoints: 1000 } });
    await consumer(gw);
    for (const caller of CALLERS) {
      const res = await fetch(`${gw.url}/api/session`, {
        headers: caller.token ? { authorization: `Bearer ${caller.token}` } : {},
      });
      expect(res.status, caller.name).toBe(200);
      const session = SessionAnswer.parse(await res.json());
      // What the run page offers (stores/sessionStore steering → lib/policy.ts) …
      const offered = steeringDecision(session, 'run-1');
      expect(offered.allowed, `${caller.name}: ${offered.reason}`).toBe(caller.steers);
      // … is what the gateway then does with a command from the same caller.
      const posted = await post(gw, caller.token, BODIES.capture);
      expect(posted.status === 202, caller.name).toBe(offered.allowed);
      if (!offered.allowed)
        expect(((await posted.json()) as { error: string }).error).toContain(offered.reason);
    }
  });

  it('answers the REST calls the browser makes with what lib/protocol/rest.ts declares', async () => {
    const gw = await gateway({ commands: { ratePoints: 1000 } });
    await consumer(gw);
    const staff = { authorization: `Bearer ${TOKENS.staff}` };
    const posted = await post(gw, TOKENS.staff, BODIES.capture);
    expect(posted.status).toBe(202);
    const { command } = CommandAnswer.parse(await posted.json());
    const list = CommandListAnswer.parse(
      await (await fetch(`${gw.url}/api/runs/run-1/commands`, { headers: staff })).json(),
    );
    expect(list.commands.map((c) => c.id)).toContain(command.id);
    const share = await fetch(`${gw.url}/api/runs/run-1/share`, {
      method: 'POST',
      headers: { ...staff, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ShareCreatedAnswer.parse(await share.json()).path).toMatch(/^\/runs\/run-1#share=/);
    const audit = AuditAnswer.parse(
      await (await fetch(`${gw.url}/api/audit?run=run-1`, { headers: staff })).json(),
    );
    expect(audit.entries.some((e) => e.action === 'command:capture')).toBe(true);
    // A refusal is an ErrorAnswer whatever the route.
    const refused = await post(gw, TOKENS.viewer, BODIES.capture);
    expect(ErrorAnswer.parse(await refused.json()).error).toMatch(/^forbidden: /);
  });

  it('refuses a scientist on another scientist’s run', async () => {
    const gw = await gateway();
    await consumer(gw);
    const res = await post(gw, TOKENS.otherScientist, BODIES.pause);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /bob does not belong to run run-1/,
    );
  });
});

describe('commands follow through and are idempotent', () => {
  it('shows accepted → delivered → applied to viewers of the run', async () => {
    const gw = await gateway();
    await consumer(gw);
    const v = viewerClient(gw.url, TOKENS.viewer);
    open.push(v);
    const states: string[] = [];
    v.on('command:state', (c) => states.push(c.state));
    await connected(v);
    await v.emitWithAck('run:subscribe', { run: 'run-1' });
    expect((await post(gw, TOKENS.scientist, BODIES.capture)).status).toBe(202);
    await eventually(() => states.includes('applied'), 5000, 'applied');
    expect(states).toEqual(['accepted', 'delivered', 'applied']);
  });

  it('replays a repeated key, refuses another body under the same key, and requires a key', async () => {
    const gw = await gateway();
    const c = await consumer(gw);
    const headers = { 'idempotency-key': 'same-key' };
    const first = await post(gw, TOKENS.scientist, BODIES.pause, headers);
    const again = await post(gw, TOKENS.scientist, BODIES.pause, headers);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect((await post(gw, TOKENS.scientist, BODIES.resume, headers)).status).toBe(422);
    const noKey = await fetch(`${gw.url}/api/runs/run-1/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.scientist}` },
      body: JSON.stringify(BODIES.pause),
    });
    expect(noKey.status).toBe(400);
    await eventually(() => c.applied.size === 1, 3000, 'one pause applied');
    expect(c.received).toHaveLength(1);
  });

  it('answers 409 to a concurrent duplicate while the first is in progress', async () => {
    const gw = await gateway();
    await consumer(gw, { replyDelayMs: 600 });
    const headers = { 'idempotency-key': 'racing-key' };
    const [a, b] = await Promise.all([
      post(gw, TOKENS.staff, BODIES.capture, headers),
      new Promise((r) => setTimeout(r, 100)).then(() =>
        post(gw, TOKENS.staff, BODIES.capture, headers),
      ),
    ]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(409);
  });

  it('rejects a malformed command with a clear error and records nothing', async () => {
    const gw = await gateway();
    const c = await consumer(gw);
    for (const body of [
      { kind: 'explode' },
      { kind: 'zoom', region: { x: [0, 1] } },
      { kind: 'set-parameters' },
      { kind: 'set-parameters', values: 'centre 12' },
      'pause',
    ]) {
      const res = await post(gw, TOKENS.staff, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/^invalid command: /);
    }
    expect(await gw.commands.list('run-1')).toEqual([]);
    expect(c.received).toEqual([]);
  });

  it("checks set-parameters against the run's declaration before the consumer sees it; applied values reach late joiners", async () => {
    const gw = await gateway();
    const c = await consumer(gw);
    for (const [values, reason] of [
      [{ butterworth: 2 }, /no parameter butterworth \(it has rotationCentre, filter\)/],
      [{ rotationCentre: 600 }, /rotationCentre 600 px is above 512 px/],
      [{ rotationCentre: 'middle' }, /rotationCentre takes a number/],
      [{ filter: 'parzen' }, /filter takes one of ramp, hann/],
      [{}, /at least one value/],
    ] as const) {
      const res = await post(gw, TOKENS.scientist, { kind: 'set-parameters', values });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(reason);
    }
    expect(c.received).toEqual([]);
    expect(gw.registry.get('run-1')?.parameters?.values).toEqual({
      rotationCentre: 256,
      filter: 'ramp',
    });

    const ok = await post(gw, TOKENS.scientist, BODIES['set-parameters']);
    expect(ok.status).toBe(202);
    await eventually(async () => (await gw.commands.list('run-1'))[0]?.state === 'applied');
    expect(c.received).toHaveLength(1);
    const late = viewerClient(gw.url, TOKENS.viewer);
    open.push(late);
    await connected(late);
    const joined = await late.emitWithAck('run:subscribe', { run: 'run-1' });
    expect(joined.ok && joined.run.parameters).toEqual({
      declarations: PARAMETERS,
      values: { rotationCentre: 128.5, filter: 'hann' },
    });
  });

  it('holds a command while the consumer is offline, delivers it on reconnect, applies it once', async () => {
    const gw = await gateway();
    const first = await consumer(gw);
    first.socket.close();
    await eventually(
      () => gw.registry.get('run-1')?.producerConnected === false,
      3000,
      'consumer gone',
    );
    const res = await post(gw, TOKENS.scientist, BODIES['reset-zoom']);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { command: CommandRecord }).command.state).toBe('accepted');
    const second = await consumer(gw);
    await eventually(async () => second.applied.size === 1, 5000, 'delivered after reconnect');
    const [record] = await gw.commands.list('run-1');
    await eventually(
      async () => (await gw.commands.get(record!.id))?.state === 'applied',
      3000,
      'applied',
    );
    expect(first.received).toHaveLength(0);
    expect(second.received).toHaveLength(1);
  });

  it('fails a command whose consumer never comes back, with the reason', async () => {
    const gw = await gateway({ commands: { offlineTimeoutMs: 300 } });
    const c = await consumer(gw);
    c.socket.close();
    await eventually(
      () => gw.registry.get('run-1')?.producerConnected === false,
      3000,
      'consumer gone',
    );
    const res = await post(gw, TOKENS.staff, BODIES.pause);
    const { command } = (await res.json()) as { command: CommandRecord };
    await eventually(
      async () => (await gw.commands.get(command.id))?.state === 'failed',
      5000,
      'timed out',
    );
    expect((await gw.commands.get(command.id))?.reason).toMatch(
      /not delivered within 0 s: the run.s consumer stayed offline/,
    );
  });

  it('limits each user’s command rate', async () => {
    const gw = await gateway({ commands: { ratePoints: 3, rateWindowS: 60 } });
    await consumer(gw);
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await post(gw, TOKENS.staff, BODIES.capture)).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect((await post(gw, TOKENS.scientist, BODIES.capture)).status).toBe(202); // another user is not affected
  });
});

describe('viewers cannot act', () => {
  it('refuses a frame or a raw command pushed by a viewer; nothing reaches the consumer', async () => {
    const gw = await gateway();
    const c = await consumer(gw);
    const v = viewerClient(gw.url, TOKENS.viewer);
    open.push(v);
    const errors: string[] = [];
    v.on('protocol:error', (e) => errors.push(`${e.code}:${e.event}`));
    await connected(v);
    const raw = v as unknown as { emit: (...a: unknown[]) => void };
    raw.emit('frame', { run: 'run-1', stream: 'xy' }, new Uint8Array(8));
    raw.emit('command', { id: 'x', run: 'run-1', kind: 'pause' });
    await eventually(() => errors.length === 2, 3000, 'refusals');
    expect(errors).toEqual(['forbidden:frame', 'forbidden:command']);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.received).toEqual([]);
    expect(
      (await gw.audit.query({ subject: 'remote', outcome: 'denied', limit: 10 }))
        .map((e) => e.action)
        .sort(),
    ).toEqual(['socket:command', 'socket:frame']);
  });

  it('refuses a forged steering request from another site’s page', async () => {
    const gw = await gateway({ allowedOrigins: ['http://127.0.0.1:3000'] });
    const c = await consumer(gw);
    const forged = await post(gw, TOKENS.staff, BODIES.pause, { origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
    const fine = await post(gw, TOKENS.staff, BODIES.pause, { origin: 'http://127.0.0.1:3000' });
    expect(fine.status).toBe(202);
    await eventually(() => c.received.length === 1, 3000, 'the allowed one only');
  });

  it('a share link reads its run and nothing else', async () => {
    const gw = await gateway();
    await consumer(gw);
    const p2 = producerClient(gw.url, TOKENS.producer2);
    open.push(p2);
    await connected(p2);
    // Another producer cannot take over a run whose consumer is connected…
    expect(await p2.emitWithAck('run:register', { run: 'run-1', title: 'Hijack' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/belongs to producer consumer/),
    });
    // …but registers its own.
    expect((await p2.emitWithAck('run:register', { run: 'run-2', title: 'Another' })).ok).toBe(
      true,
    );
    const res = await fetch(`${gw.url}/api/runs/run-1/share`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.scientist}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlHours: 2 }),
    });
    expect(res.status).toBe(200);
    const { path } = (await res.json()) as { path: string };
    const token = path.split('#share=')[1]!;
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${gw.url}/api/runs/run-1`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${gw.url}/api/runs/run-2`, { headers: auth })).status).toBe(403);
    const list = (await (await fetch(`${gw.url}/api/runs`, { headers: auth })).json()) as {
      runs: { id: string }[];
    };
    expect(list.runs.map((r) => r.id)).toEqual(['run-1']);
    expect((await post(gw, token, BODIES.pause)).status).toBe(403);
    const v = viewerClient(gw.url, token);
    open.push(v);
    await connected(v);
    expect((await v.emitWithAck('run:subscribe', { run: 'run-1' })).ok).toBe(true);
    expect((await v.emitWithAck('run:subscribe', { run: 'run-2' })).ok).toBe(false);
    // A viewer cannot mint links.
    const viewerShare = await fetch(`${gw.url}/api/runs/run-1/share`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.viewer}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(viewerShare.status).toBe(403);
  });
});

describe('audit log', () => {
  it('is append-only, filterable, staff-only in full, and never holds a token', async () => {
    const gw = await gateway();
    await consumer(gw);
    await post(gw, TOKENS.scientist, { ...BODIES.pause, token: TOKENS.staff }); // a token smuggled in a body
    await post(gw, TOKENS.scientist, BODIES.pause);
    await post(gw, TOKENS.viewer, BODIES.pause);
    const all = await fetch(`${gw.url}/api/audit`, {
      headers: { authorization: `Bearer ${TOKENS.staff}` },
    });
    expect(all.status).toBe(200);
    const text = await all.text();
    for (const token of Object.values(TOKENS)) expect(text).not.toContain(token);
    const denied = (await (
      await fetch(`${gw.url}/api/audit?outcome=denied&subject=remote`, {
        headers: { authorization: `Bearer ${TOKENS.staff}` },
      })
    ).json()) as { entries: { subject: string; outcome: string }[] };
    expect(denied.entries.length).toBeGreaterThan(0);
    expect(denied.entries.every((e) => e.subject === 'remote' && e.outcome === 'denied')).toBe(
      true,
    );
    expect(
      (
        await fetch(`${gw.url}/api/audit`, {
          headers: { authorization: `Bearer ${TOKENS.viewer}` },
        })
      ).status,
    ).toBe(403);
    const db = (gw.audit as unknown as { db: Kysely<Database> }).db;
    await expect(sql`UPDATE audit_log SET outcome = 'allowed'`.execute(db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`DELETE FROM audit_log`.execute(db)).rejects.toThrow(/append-only/);
  });
});

describe('REST boundary', () => {
  it('answers garbage with clear 4xx errors and keeps serving', async () => {
    const gw = await gateway();
    await consumer(gw);
    const headers = {
      authorization: `Bearer ${TOKENS.staff}`,
      'content-type': 'application/json',
      'idempotency-key': 'k',
    };
    const truncated = await fetch(`${gw.url}/api/runs/run-1/commands`, {
      method: 'POST',
      headers,
      body: '{"kind": "pau',
    });
    expect(truncated.status).toBe(400);
    const huge = await fetch(`${gw.url}/api/runs/run-1/commands`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ kind: 'pause', pad: 'x'.repeat(100 * 1024) }),
    });
    expect(huge.status).toBe(413);
    const badRun = await fetch(`${gw.url}/api/runs/${'%00'.repeat(3)}/commands`, {
      method: 'POST',
      headers,
      body: '{}',
    });
    expect(badRun.status).toBe(400);
    expect((await post(gw, TOKENS.staff, BODIES.pause)).status).toBe(202);
  });

  it('sends security headers', async () => {
    const gw = await gateway();
    const res = await fetch(`${gw.url}/api/health`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});
