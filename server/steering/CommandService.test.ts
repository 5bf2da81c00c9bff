import { afterEach, describe, expect, it } from 'vitest';
import type { Command, CommandUpdate } from '@/lib/protocol';
import type { Identity } from '../auth/Identity';
import { AuditLog } from '../audit/AuditLog';
import { openStore, type Store } from '../db/openStore';
import type { CommandTransport } from '../streams/ProducerSockets';
import { RunRegistry } from '../streams/RunRegistry';
import { CommandService } from './CommandService';
import { CommandStore } from './CommandStore';

/** The consumer's side of the port, in memory: what was offered, and a way to answer or update. */
class FakeTransport implements CommandTransport {
  readonly offered: { command: Command; answer: (reply: unknown) => void }[] = [];
  connected = new Set<string>();
  private listener: ((update: CommandUpdate, from: string) => string | null) | null = null;

  reachable(run: string): boolean {
    return this.connected.has(run);
  }
  send(command: Command, _timeoutMs: number, answered: (reply: unknown) => void): void {
    this.offered.push({ command, answer: answered });
  }
  onUpdate(listener: (update: CommandUpdate, from: string) => string | null): void {
    this.listener = listener;
  }
  update(update: CommandUpdate, from: string): string | null {
    return this.listener ? this.listener(update, from) : 'no listener';
  }
}

const scientist: Identity = {
  subject: 'alice',
  role: 'scientist',
  runs: ['run-1'],
  anonymous: false,
  source: 'local',
};

const open: { store: Store; service: CommandService; audit: AuditLog }[] = [];
afterEach(async () => {
  for (const { store, service, audit } of open.splice(0)) {
    await service.close();
    await audit.close();
    await store.close();
  }
});

async function setup() {
  const store = await openStore({ sqlite: ':memory:' });
  const registry = await RunRegistry.open(store.db);
  registry.register({ run: 'run-1', title: 'test' }, 'producer-1');
  const transport = new FakeTransport();
  const audit = new AuditLog(store);
  const service = new CommandService({
    store: new CommandStore(store.db),
    registry,
    transport,
    audit,
    answerWaitMs: 0,
  });
  open.push({ store, service, audit });
  return { service, transport };
}

describe('CommandService through its command transport', () => {
  it('offers a command once its consumer is reachable, and follows its reply and update', async () => {
    const { service, transport } = await setup();
    const first = await service.submit(scientist, 'run-1', 'k1', { kind: 'pause' });
    expect(first.status).toBe(202);
    // Offline: nothing is offered; the command waits, accepted.
    expect(transport.offered).toHaveLength(0);
    const id = 'command' in first.body ? first.body.command.id : '';
    expect((await service.get(id))?.state).toBe('accepted');

    transport.connected.add('run-1');
    const again = await service.submit(scientist, 'run-1', 'k2', { kind: 'resume' });
    const second = 'command' in again.body ? again.body.command.id : '';
    expect(transport.offered.map((o) => o.command.id)).toEqual([second]);
    transport.offered[0]!.answer({ id: second, status: 'accepted' });
    expect((await service.get(second))?.state).toBe('delivered');

    // Only the run's own producer may report the outcome.
    const applied: CommandUpdate = { run: 'run-1', reply: { id: second, status: 'applied' } };
    expect(transport.update(applied, 'producer-2')).toBe('that run is not yours');
    expect(transport.update(applied, 'producer-1')).toBeNull();
    expect((await service.get(second))?.state).toBe('applied');
    expect(transport.update(applied, 'producer-1')).toMatch(/no open command/);
  });

  it('leaves an unanswered command accepted, to be offered again', async () => {
    const { service, transport } = await setup();
    transport.connected.add('run-1');
    const result = await service.submit(scientist, 'run-1', 'k1', { kind: 'pause' });
    const id = 'command' in result.body ? result.body.command.id : '';
    transport.offered[0]!.answer(undefined);
    expect((await service.get(id))?.state).toBe('accepted');
    transport.offered.length = 0;
    // A malformed reply fails the command.
    const other = await service.submit(scientist, 'run-1', 'k2', { kind: 'resume' });
    const otherId = 'command' in other.body ? other.body.command.id : '';
    transport.offered.find((o) => o.command.id === otherId)!.answer({ nonsense: true });
    expect((await service.get(otherId))?.state).toBe('failed');
  });
});
