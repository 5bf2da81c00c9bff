import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Command, type FrameHeader, PROTOCOL_VERSION } from '@/lib/protocol';
import type { Gateway } from '@/server/gateway';
import {
  connected,
  eventually,
  producerClient,
  startTestGateway,
  TOKENS,
  viewerClient,
} from '@/server/testing/testGateway';

/** Debian's interpreter, where python3-socketio and python3-numpy live (a pyenv shim may not have them). */
const PYTHON =
  process.env.LOUPE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const EXAMPLE = fileURLToPath(new URL('./example_recon_loop.py', import.meta.url));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

function runExample(
  gw: Gateway,
  run: string,
  extra: string[],
): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(
    PYTHON,
    [
      EXAMPLE,
      '--gateway',
      gw.url,
      '--token',
      TOKENS.producer,
      '--run',
      run,
      '--echo-digests',
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('error', (e) => (err += String(e)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('Python SDK (consumers/python/loupe_producer)', () => {
  it('validates against the generated protocol document (consumers/python/tests)', async () => {
    const run = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
      cwd: fileURLToPath(new URL('./', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toMatch(/test_a_drifted_field_fails .* ok/);
    expect(run.stderr).toMatch(/^OK$/m);
    expect(run.status).toBe(0);
  });

  it('installs with pip as a package that carries its protocol document', () => {
    // Copied out first: an in-tree build would leave build/ and *.egg-info in the checkout.
    const dir = mkdtempSync(join(tmpdir(), 'loupe-pip-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(fileURLToPath(new URL('./', import.meta.url)), join(dir, 'src'), {
      recursive: true,
      filter: (path) => !/__pycache__/.test(path),
    });
    const sh = (cmd: string, args: string[], cwd = dir) =>
      spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
    expect(sh(PYTHON, ['-m', 'venv', '--system-site-packages', 'venv']).status).toBe(0);
    const pip = sh(join(dir, 'venv/bin/pip'), [
      'install',
      '--no-deps',
      '--no-build-isolation',
      '--no-index',
      './src',
    ]);
    expect(pip.stderr + pip.stdout).not.toMatch(/error/i);
    // From another directory, so the import is the installed package and not the source tree.
    const probe = sh(
      join(dir, 'venv/bin/python'),
      [
        '-c',
        'import loupe_producer as l, loupe_producer.protocol as p; print(l.__file__, p.PROTOCOL_VERSION)',
      ],
      tmpdir(),
    );
    expect(probe.stdout).toMatch(
      new RegExp(`site-packages/loupe_producer/__init__.py ${PROTOCOL_VERSION}`),
    );
  });

  it('stops for good when superseded by a newer consumer of its run', async () => {
    const gw = await startTestGateway();
    cleanup.push(() => gw.close());
    const example = runExample(gw, 'py-s', ['--size', '32', '--steps', '0', '--delay', '0.2']);
    await eventually(
      () => gw.registry.get('py-s')?.producerConnected === true || example.child.exitCode !== null,
      15_000,
      'the Python producer to register',
    );
    const newer = producerClient(gw.url, TOKENS.producer);
    cleanup.push(() => newer.close());
    await connected(newer);
    expect(
      await newer.emitWithAck('run:register', { run: 'py-s', title: 'resubmitted job' }),
    ).toMatchObject({ ok: true });
    expect(await example.exited).toBe(3);
    expect(example.stderr()).toMatch(/superseded: run py-s is now streamed by a newer consumer/);
    // It did not come back to take the run over again.
    expect(gw.registry.producerOf('py-s')).toBe(newer.id);
  });

  it('streams a reconstruction loop whose frames reach a viewer byte for byte', async () => {
    const gw = await startTestGateway();
    cleanup.push(() => gw.close());
    const example = runExample(gw, 'py-1', ['--size', '48', '--steps', '8', '--delay', '0.15']);
    await eventually(
      () => gw.registry.get('py-1') !== undefined || example.child.exitCode !== null,
      15_000,
      'the Python producer to register',
    );
    expect(example.stderr()).not.toMatch(/Traceback/);

    const viewer = viewerClient(gw.url);
    cleanup.push(() => viewer.close());
    const received: { header: FrameHeader; sha: string }[] = [];
    viewer.on('frame', (header, payload, ack) => {
      received.push({
        header,
        sha: createHash('sha256')
          .update(payload as Uint8Array)
          .digest('hex'),
      });
      ack();
    });
    await connected(viewer);
    expect(await viewer.emitWithAck('run:subscribe', { run: 'py-1' })).toMatchObject({ ok: true });

    expect(await example.exited).toBe(0);
    await eventually(
      () => received.some((r) => r.header.stream === 'volume'),
      5000,
      'volume bricks at the viewer',
    );
    const sent = new Map<string, string>();
    for (const line of example.stdout().split('\n').filter(Boolean)) {
      const { key, seq, sha256 } = JSON.parse(line) as { key: string; seq: number; sha256: string };
      sent.set(`${key}#${seq}`, sha256);
    }
    expect(sent.size).toBe(8 * 3 + 8); // 8 steps × 3 slices, then 8 bricks of a 48³ volume
    for (const r of received) {
      expect(r.sha).toBe(sent.get(`${r.header.view}/${r.header.stream}#${r.header.seq}`));
      expect(r.header).toMatchObject({
        run: 'py-1',
        dtype: 'float32',
        volumeShape: [48, 48, 48],
        description: 'relative density (phantom)',
      });
      expect(r.header.unit).toBeUndefined();
    }
    for (const stream of ['xy', 'xz', 'yz', 'volume'])
      expect(received.some((r) => r.header.stream === stream)).toBe(true);
    const brick = received.find((r) => r.header.stream === 'volume')!.header;
    expect(brick.stream === 'volume' && brick.brickOffset).toBeTruthy();
    expect(JSON.parse(example.stderr().trim().split('\n').pop()!)).toMatchObject({
      stats: { sent: 32, acknowledged: 32, lost: 0 },
    });
  });

  it('answers steering commands: applied, rejected with a reason, and a repeat is not applied twice', async () => {
    const gw = await startTestGateway();
    cleanup.push(() => gw.close());
    const example = runExample(gw, 'py-2', ['--size', '32', '--steps', '0', '--delay', '0.2']);
    await eventually(
      () => gw.registry.get('py-2')?.producerConnected === true || example.child.exitCode !== null,
      15_000,
      'the Python producer to register',
    );
    const socket = [...gw.producers.sockets.values()][0]!;
    const send = (c: Record<string, unknown>) =>
      socket.timeout(5000).emitWithAck('command', { run: 'py-2', ...c } as Command);

    // The example declares its own parameters; the gateway lists them for the browser.
    expect(gw.registry.get('py-2')?.parameters).toMatchObject({
      declarations: [
        { name: 'filter', type: 'enum' },
        { name: 'batch', type: 'integer', unit: 'angles', default: 10 },
      ],
      values: { filter: 'shepp-logan', batch: 10 },
    });
    expect(
      await send({ id: 'f', kind: 'set-parameters', values: { filter: 'hann', batch: 5 } }),
    ).toEqual({
      id: 'f',
      status: 'applied',
      detail: 'filter hann, batch 5 from the next half turn',
    });
    await eventually(
      () =>
        /\/90 angles/.test(example.stderr()) && /step \d+: \d*5\/90 angles/.test(example.stderr()),
      10_000,
      'steps of 5 angles',
    );
    expect(await send({ id: 'g', kind: 'set-parameters', values: { gamma: 1 } })).toEqual({
      id: 'g',
      status: 'rejected',
      reason: 'no parameter gamma',
    });
    expect(
      await send({ id: 'z', kind: 'zoom', region: { x: [0, 8], y: [0, 8], z: [0, 8] } }),
    ).toEqual({ id: 'z', status: 'rejected', reason: 'zoom is not supported by this example' });
    expect(await send({ id: 'p', kind: 'pause' })).toEqual({ id: 'p', status: 'applied' });
    await eventually(() => gw.registry.get('py-2')?.state === 'paused', 5000, 'paused state');
    expect(await send({ id: 'p', kind: 'pause' })).toEqual({ id: 'p', status: 'applied' });
    expect(await send({ id: 'other', run: 'elsewhere', kind: 'pause' })).toMatchObject({
      status: 'rejected',
      reason: /not elsewhere/,
    });
    expect(await send({ id: 'r', kind: 'resume' })).toEqual({ id: 'r', status: 'applied' });
    await eventually(() => gw.registry.get('py-2')?.state === 'streaming', 5000, 'streaming state');
    example.child.kill('SIGINT');
    await example.exited;
    expect(example.stderr()).not.toMatch(/Traceback/);
  });

  it('resumes after the gateway restarts mid-stream with no duplicate and no unaccounted gap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-py-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'loupe.db');
    const kept = new Map<string, number[]>();
    const watch = (g: Gateway) =>
      g.registry.on('frame', (_run, frame) =>
        kept.set(frame.key, [...(kept.get(frame.key) ?? []), frame.header.seq]),
      );
    const first = await startTestGateway({ db });
    watch(first);
    const example = runExample(first, 'py-3', [
      '--size',
      '32',
      '--batch',
      '2',
      '--steps',
      '0',
      '--delay',
      '0.02',
    ]);
    await eventually(
      () => (kept.get('full/xy')?.length ?? 0) >= 10 || example.child.exitCode !== null,
      15_000,
      'frames before the restart',
    );
    await first.close();
    const second = await startTestGateway({ db, port: first.port });
    cleanup.push(() => second.close());
    watch(second);
    const before = kept.get('full/xy')!.length;
    await eventually(
      () => kept.get('full/xy')!.length >= before + 10,
      15_000,
      'frames after the restart',
    );
    example.child.kill('SIGINT');
    expect(await example.exited).toBe(0);

    const { stats } = JSON.parse(example.stderr().trim().split('\n').pop()!) as {
      stats: { gaps: [string, number, number][]; lost: number };
    };
    const sent = new Map<string, number[]>();
    for (const line of example.stdout().split('\n').filter(Boolean)) {
      const { key, seq } = JSON.parse(line) as { key: string; seq: number };
      sent.set(key, [...(sent.get(key) ?? []), seq]);
    }
    for (const [key, seqs] of sent) {
      const got = kept.get(key) ?? [];
      expect(new Set(got).size).toBe(got.length); // no duplicate
      const accounted = new Set(got);
      for (const [k, from, to] of stats.gaps.filter((g) => g[0] === key)) {
        for (let s = from; s <= to; s++) {
          expect(accounted.has(s), `${k} ${s} both kept and reported lost`).toBe(false);
          accounted.add(s);
        }
      }
      // Frames still in flight when the producer stopped may be neither kept nor reported yet.
      const last = Math.max(...seqs);
      for (let s = 0; s <= last - 4; s++)
        expect(accounted.has(s), `${key} ${s} unaccounted`).toBe(true);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    console.log(
      `python restart: ${[...kept.values()].flat().length} frames kept, ${stats.lost} lost in flight in ${stats.gaps.length} reported gaps`,
    );
  }, 40_000);
});
