import type { ReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../gateway';
import { startTestGateway, TOKENS } from '../testing/testGateway';

// Every read stream the route opens, to see how far it has read while the client is not reading.
const streams: ReadStream[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    createReadStream: (...args: Parameters<typeof fs.createReadStream>) => {
      const s = fs.createReadStream(...args);
      streams.push(s);
      return s;
    },
  };
});

/** 64 MiB, sparse (no disk written), with a marker in its last bytes to check the whole arrived. */
const SIZE = 64 * 2 ** 20;
const MARKER = Buffer.from('end-of-capture');
const NAME = 'run-1-2026-12-02T01-00-00-000Z.h5';

let dir: string;
let outside: string;
let gw: Gateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-captures-'));
  outside = await mkdtemp(join(tmpdir(), 'loupe-outside-'));
  const file = await open(join(dir, NAME), 'w');
  await file.truncate(SIZE);
  await file.write(MARKER, 0, MARKER.length, SIZE - MARKER.length);
  await file.close();
  await writeFile(join(outside, 'secret.h5'), 'not yours');
  await symlink(join(outside, 'secret.h5'), join(dir, 'run-1-link.h5'));
  await mkdir(join(dir, 'run-1-dir.h5'));
  gw = await startTestGateway({ capturesDir: dir, allowAnonymousViewers: false });
});
afterAll(async () => {
  await gw?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

const get = (path: string, token?: string) =>
  fetch(`${gw.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('GET /api/runs/:id/captures/:name', () => {
  it('streams the file to a reader of the run, without reading it whole first', async () => {
    const res = await get(`/api/runs/run-1/captures/${NAME}`, TOKENS.viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SIZE));
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${NAME}"`);
    const reader = res.body!.getReader();
    let received = (await reader.read()).value!.length;
    // The client stops reading: back-pressure must stop the server's reads far short of the file.
    await new Promise((r) => setTimeout(r, 300));
    const stream = streams.at(-1)!;
    expect(stream.bytesRead).toBeGreaterThan(0);
    expect(stream.bytesRead).toBeLessThan(SIZE / 2);
    let tail = Buffer.alloc(0);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      tail = Buffer.concat([tail, Buffer.from(value)]).subarray(-MARKER.length);
    }
    expect(received).toBe(SIZE);
    expect(tail.equals(MARKER)).toBe(true);
    const audit = await gw.audit.query({ action: 'capture:download', limit: 100 });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'allowed', run: 'run-1', subject: 'remote' });
  });

  it('refuses a caller the run is not for: no token, a bad token, a producer', async () => {
    const path = `/api/runs/run-1/captures/${NAME}`;
    expect((await get(path)).status).toBe(401);
    expect((await get(path, 'not-a-token-0123456789')).status).toBe(401);
    const producer = await get(path, TOKENS.producer);
    expect(producer.status).toBe(403);
    expect(await producer.json()).toEqual({ error: 'forbidden: producers do not read' });
  });

  it('refuses traversal, other runs’ files, symlinks out and directories', async () => {
    const cases: [string, number][] = [
      ['/api/runs/run-1/captures/..%2F..%2Fetc%2Fpasswd', 400],
      ['/api/runs/run-1/captures/run-1-..%2F..%2Fsecret.h5', 400],
      ['/api/runs/run-1/captures/run-1-%2E%2E.h5', 400],
      ['/api/runs/run-1/captures/run-1-x%00.h5', 400],
      [`/api/runs/run-2/captures/${NAME}`, 400], // a name of run-1 asked for under run-2
      ['/api/runs/run-1/captures/run-1-link.h5', 400], // symlink leading outside
      ['/api/runs/run-1/captures/run-1-dir.h5', 404],
      ['/api/runs/run-1/captures/run-1-missing.h5', 404],
      ['/api/runs/..%2F/captures/x.h5', 400],
    ];
    for (const [path, status] of cases) {
      const res = await get(path, TOKENS.staff);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(await res.text()).not.toContain('not yours');
    }
    // Each refusal is counted in the audit (written when its minute is sealed).
    await gw.audit.sealEnded(true);
    const refused = await gw.audit.query({
      action: 'capture:download',
      outcome: 'denied',
      limit: 100,
    });
    expect(refused.length).toBeGreaterThan(0);
  });
});
