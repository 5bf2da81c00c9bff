import { afterEach, describe, expect, it } from 'vitest';
import type { CommandSendReply, ProtocolError } from '@/lib/protocol';
import { ANONYMOUS_VIEWER, type Identity } from '../auth/Identity';
import { LocalUsers } from '../auth/LocalUsers';
import { openDatabase } from '../db/openDatabase';
import { startEmbeddedFacilities } from '../facilities/startEmbeddedFacilities';
import type { Gateway } from '../gateway';
import { type Action, authorize } from '@/lib/policy';
import {
  connected,
  producerClient,
  startTestGateway,
  TEST_USERS,
  TOKENS,
  viewerClient,
} from '../testing/testGateway';
import { Opened, producerOf, share, slice, sleep, watcher } from './authFixtures';

// Scenario 16: the role × action matrix, table-driven, over REST and the socket. The expected
// table is written out here (not computed from the policy), checked against the policy itself,
// and then against the running gateway: every allowed cell succeeds, every denied one is refused
// and changes nothing (runs, commands, site decisions, frames a viewer sees). server/steering/
// steering.test.ts covers every steering kind × role; this adds reads, site decisions and pushes.

const opened = new Opened();
afterEach(() => opened.closeAll());

const ACTIONS = ['subscribe', 'zoom', 'resubmit', 'confirmSite', 'producerPush'] as const;
type Cell = (typeof ACTIONS)[number];
type RoleName =
  | 'anonymous'
  | 'viewer'
  | 'share link (run-1)'
  | 'scientist of run-1'
  | 'scientist of another run'
  | 'staff'
  | 'producer';

/** The policy, as the README states it: Y allowed, . refused. */
const EXPECTED: Record<RoleName, string> = {
  //                           subscribe zoom resubmit confirmSite producerPush
  anonymous: 'Y....',
  viewer: 'Y....',
  'share link (run-1)': 'Y....',
  'scientist of run-1': 'YYY..',
  'scientist of another run': 'Y....',
  staff: 'YYYY.',
  producer: '....Y',
};
const allowedCell = (role: RoleName, cell: Cell) => EXPECTED[role][ACTIONS.indexOf(cell)] === 'Y';

const ZOOM = { kind: 'zoom', region: { x: [10, 50], y: [20, 60], z: [0, 32] } };
const RESUBMIT = { kind: 'resubmit', nodes: 1, walltimeSeconds: 1800 };

describe('s16: role × action matrix', () => {
  it('matches the policy exactly over REST and the socket; each denial changes nothing', async () => {
    const db = openDatabase(':memory:');
    const fac = opened.add(
      await startEmbeddedFacilities({
        db,
        simulator: { manualClock: true, seed: 3 },
        service: { intervalMs: 100 },
      }),
    );
    await fac.service.pollOnce();
    const system = fac.service.snapshots()[0]!.system;
    const gw: Gateway = opened.add(
      await startTestGateway({ db, facilities: fac.service, commands: { ratePoints: 1000 } }),
    );
    const owner = await producerOf(opened, gw, TOKENS.producer, 'run-1');
    owner.on('command', (c, reply) => reply({ id: c.id, status: 'applied' }));
    const observer = await watcher(opened, gw, TOKENS.staff, 'run-1');
    const link = ((await (await share(gw, TOKENS.staff, 'run-1')).json()) as { path: string }).path;
    const tokens: Record<RoleName, string | undefined> = {
      anonymous: undefined,
      viewer: TOKENS.viewer,
      'share link (run-1)': link.split('#share=')[1],
      'scientist of run-1': TOKENS.scientist,
      'scientist of another run': TOKENS.otherScientist,
      staff: TOKENS.staff,
      producer: TOKENS.producer,
    };

    // 1. The written table is the policy's.
    const users = new LocalUsers(TEST_USERS);
    const policyAction: Record<Cell, Action> = {
      subscribe: { kind: 'run:read', run: 'run-1' },
      zoom: { kind: 'command', command: 'zoom', run: 'run-1' },
      resubmit: { kind: 'command', command: 'resubmit', run: 'run-1' },
      confirmSite: { kind: 'site:decide' },
      producerPush: { kind: 'frame:publish', run: 'run-1' },
    };
    for (const role of Object.keys(EXPECTED) as RoleName[]) {
      const token = tokens[role];
      const identity: Identity | null =
        token === undefined
          ? ANONYMOUS_VIEWER
          : (users.verifySync(token) ?? (await gw.shares.verify(token)));
      expect(identity, role).not.toBeNull();
      for (const cell of ACTIONS)
        expect(authorize(identity!, policyAction[cell]).allowed, `policy: ${role} × ${cell}`).toBe(
          allowedCell(role, cell),
        );
    }

    // 2. The running gateway agrees, and a denial leaves no trace in its state.
    let pushSeq = 1000;
    const state = async () =>
      JSON.stringify({
        runs: gw.registry.list(),
        commands: (await gw.commands.list('run-1')).length,
        decisions: (await fac.service.decisions()).length,
        frames: observer.frames.length,
      });
    const rest = async (role: RoleName, cell: Cell): Promise<boolean | null> => {
      const auth: Record<string, string> = tokens[role]
        ? { authorization: `Bearer ${tokens[role]}` }
        : {};
      const post = (path: string, body: unknown) =>
        fetch(`${gw.url}${path}`, {
          method: 'POST',
          headers: {
            ...auth,
            'content-type': 'application/json',
            'idempotency-key': crypto.randomUUID(),
          },
          body: JSON.stringify(body),
        });
      const code = async (r: Promise<Response>, ok: number) => {
        const s = (await r).status;
        expect([ok, 403], `REST ${role} × ${cell}: ${s}`).toContain(s);
        return s === ok;
      };
      switch (cell) {
        case 'subscribe':
          return code(fetch(`${gw.url}/api/runs/run-1`, { headers: auth }), 200);
        case 'zoom':
          return code(post('/api/runs/run-1/commands', ZOOM), 202);
        case 'resubmit':
          return code(post('/api/runs/run-1/commands', RESUBMIT), 202);
        case 'confirmSite':
          return code(post('/api/facilities/decisions', { system, recommended: null }), 201);
        case 'producerPush':
          return null; // frames never travel over REST
      }
    };
    const socket = async (role: RoleName, cell: Cell): Promise<boolean> => {
      if (cell === 'producerPush') {
        if (role === 'producer') {
          const frame = slice('run-1', pushSeq++);
          return (await owner.emitWithAck('frame', frame.header, frame.payload)).ok;
        }
        // Not a producer: the producer socket refuses the handshake, and a frame sent on the
        // viewer socket is refused.
        const p = opened.add(producerClient(gw.url, tokens[role]));
        const opens = await connected(p).then(
          () => true,
          () => false,
        );
        expect(opens, `${role} opens a producer socket`).toBe(false);
        const v = opened.add(viewerClient(gw.url, tokens[role]));
        await connected(v);
        const errors: ProtocolError[] = [];
        v.on('protocol:error', (e) => errors.push(e));
        const frame = slice('run-1', pushSeq++);
        (v as unknown as { emit(e: string, ...a: unknown[]): void }).emit(
          'frame',
          frame.header,
          frame.payload,
        );
        const deadline = Date.now() + 3000;
        while (errors.length === 0 && Date.now() < deadline) await sleep(10);
        expect(errors[0]?.code, `${role}: viewer-socket frame refused`).toBe('forbidden');
        return false;
      }
      const v = opened.add(viewerClient(gw.url, tokens[role]));
      const opens = await connected(v).then(
        () => true,
        () => false,
      );
      if (!opens) return false; // a producer credential opens no viewer socket
      switch (cell) {
        case 'subscribe':
          return (await v.emitWithAck('run:subscribe', { run: 'run-1' })).ok;
        case 'zoom':
        case 'resubmit': {
          const reply = (await v.emitWithAck('command:send', {
            run: 'run-1',
            idempotencyKey: crypto.randomUUID(),
            request: cell === 'zoom' ? ZOOM : RESUBMIT,
          })) as CommandSendReply;
          if (!reply.ok) expect(reply.status, `${role} × ${cell}`).toBe(403);
          return reply.ok;
        }
        case 'confirmSite': {
          // Site decisions are REST only: no socket message makes one, whoever sends it.
          const errors: ProtocolError[] = [];
          v.on('protocol:error', (e) => errors.push(e));
          (v as unknown as { emit(e: string, ...a: unknown[]): void }).emit('site:decide', {
            system,
            recommended: null,
          });
          const deadline = Date.now() + 3000;
          while (errors.length === 0 && Date.now() < deadline) await sleep(10);
          expect(errors[0]?.code).toBe('forbidden');
          return false;
        }
      }
    };

    let cells = 0;
    for (const role of Object.keys(EXPECTED) as RoleName[]) {
      for (const cell of ACTIONS) {
        for (const [transport, attempt] of [
          ['REST', rest],
          ['socket', socket],
        ] as const) {
          const before = await state();
          const outcome = await attempt(role, cell);
          if (outcome === null) continue;
          await sleep(50); // anything a refused message might have set off has happened by now
          cells++;
          const expected =
            transport === 'socket' && cell === 'confirmSite' ? false : allowedCell(role, cell);
          expect(outcome, `${transport}: ${role} × ${cell}`).toBe(expected);
          if (!outcome)
            expect(await state(), `${transport}: ${role} × ${cell} changed state`).toBe(before);
        }
      }
    }
    expect(cells).toBe(7 * 5 * 2 - 7);
  });
});
