import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, type ProducerMetrics, ProducerMetricsAnswer } from '@/lib/protocol';
import { recordingGatewayWithProducer } from '../testing/recordingGateway';
import { TOKENS } from '../testing/testGateway';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

const RUN = 'run-1';
const iso = (t: number) => new Date(t).toISOString();

describe('GET /api/runs/:id/producer-metrics', () => {
  it("serves the producer's recorded samples, in force at an instant or over a span, authorised like the run", async () => {
    const { gw, producer } = await recordingGatewayWithProducer(RUN, 'metrics', cleanup);
    const begin = Date.now();
    for (let k = 0; k < 5; k++) {
      const sample: ProducerMetrics = {
        run: RUN,
        at: Date.now(),
        projectionsPerSecond: 200 + k,
        slicesPerSecond: 3,
        bricksPerSecond: 2,
        voxelAngleUpdatesPerSecond: 5e6,
        coverageDeg: 36 * (k + 1),
        cycleMs: 30,
        lagMs: 15,
        paused: k === 4,
      };
      producer.emit('run:metrics', sample);
      const now = Date.now();
      const { header, payload } = encodeFrame(
        {
          run: RUN,
          stream: 'xy',
          seq: k,
          dtype: 'uint8',
          shape: [2, 2],
          voxelSize: [1, 1, 1],
          acquiredAt: now,
          reconstructedAt: now,
          publishedAt: now,
        },
        new Uint8Array([k, k, k, k]),
      );
      // Acknowledged after the sample before it was taken (one socket, in order).
      expect(await producer.emitWithAck('frame', header, payload)).toEqual({ ok: true });
      await new Promise((r) => setTimeout(r, 5));
    }
    await gw.recorder!.drain();
    const end = Date.now();
    const get = (query: string, token: string = TOKENS.scientist) =>
      fetch(`${gw.url}/api/runs/${RUN}/producer-metrics?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });

    const span = await get(`from=${iso(begin - 1000)}&to=${iso(end + 1000)}`);
    expect(span.status).toBe(200);
    const all = ProducerMetricsAnswer.parse(await span.json());
    expect(all.truncated).toBe(false);
    expect(all.samples.map((s) => s.sample.projectionsPerSecond)).toEqual([
      200, 201, 202, 203, 204,
    ]);
    expect(all.samples.map((s) => s.receivedAt)).toEqual(
      [...all.samples.map((s) => s.receivedAt)].sort((a, b) => a - b),
    );

    // At the instant the third sample arrived: that sample.
    const third = all.samples[2]!;
    const at = ProducerMetricsAnswer.parse(await (await get(`at=${iso(third.receivedAt)}`)).json());
    expect(at.samples).toEqual([third]);
    // Long after the last sample: none in force.
    const late = ProducerMetricsAnswer.parse(await (await get(`at=${iso(end + 60_000)}`)).json());
    expect(late.samples).toEqual([]);
    const paged = ProducerMetricsAnswer.parse(
      await (await get(`from=${iso(begin - 1000)}&to=${iso(end)}&limit=2`)).json(),
    );
    expect(paged).toMatchObject({ truncated: true });
    expect(paged.samples).toHaveLength(2);

    // Authorised like reading the run (docs/recording.md): staff and viewers read it, a producer
    // does not; a malformed query is refused with the reason.
    expect((await get(`at=${iso(end)}`, TOKENS.staff)).status).toBe(200);
    expect((await get(`at=${iso(end)}`, TOKENS.producer)).status).toBe(403);
    expect((await get(`at=${iso(end)}`, TOKENS.viewer)).status).toBe(200);
    const neither = await get('stream=full/xy');
    expect(neither.status).toBe(400);
    expect(((await neither.json()) as { error: string }).error).toMatch(/stream|at=ISO-8601/);
    const both = await get(`at=${iso(end)}&from=${iso(begin)}&to=${iso(end)}`);
    expect(both.status).toBe(400);
    const backwards = await get(`from=${iso(end)}&to=${iso(begin)}`);
    expect(((await backwards.json()) as { error: string }).error).toContain(
      'from must not be after to',
    );
    const unknown = await fetch(`${gw.url}/api/runs/no-such-run/producer-metrics?at=${iso(end)}`, {
      headers: { authorization: `Bearer ${TOKENS.staff}` },
    });
    expect(unknown.status).toBe(404);
  });
});
