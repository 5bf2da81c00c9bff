/**
 * `npm run bench:cluster` — the same fan-out load through HAProxy onto one gateway, then onto three
 * (owner routing: each run's producer and viewers on the run's gateway), in the same run and on
 * the same PostgreSQL. Prints per gateway count: delivered frames/s per live viewer, publish →
 * receive p50/p99, gateway RSS; and the cost of entering through a gateway that does not own the
 * run (`run:elsewhere`, then the owner) against entering through the owner, as time to first frame.
 * Medians over --repeat rounds. Never asserts a time: figures only. Needs postgresql and haproxy
 * (scripts/ci/startClusterDeps.sh).
 *
 *   --runs 3 --viewers 8 --size 256 --rate 10 --seconds 8 --repeat 3
 */
import { parseArgs } from 'node:util';
import { LoupeProducer } from '@/consumers/sdk/LoupeProducer';
import { PLANES } from '@/lib/protocol';
import { ClusterViewer } from '@/server/scale/ClusterViewer';
import {
  missingClusterServices,
  type Service,
  startHaproxy,
  startPostgres,
} from '@/server/testing/clusterServices';
import { type GatewayProcess, memoryOf, spawnGateway } from '@/server/testing/spawnGateway';
import { TOKENS } from '@/server/testing/testGateway';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    viewers: { type: 'string', default: '8' },
    size: { type: 'string', default: '256' },
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '8' },
    repeat: { type: 'string', default: '3' },
  },
});
const RUNS = Number(values.runs);
const VIEWERS = Number(values.viewers);
const SIZE = Number(values.size);
const RATE_HZ = Number(values.rate);
const WINDOW_MS = Number(values.seconds) * 1000;
const REPEAT = Number(values.repeat);
/** Publishing before the window opens, so connections and JIT have settled. */
const WARMUP_MS = 2000;

const missing = missingClusterServices();
if (missing) {
  console.error(`bench:cluster needs ${missing}: scripts/ci/startClusterDeps.sh`);
  process.exit(1);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Round {
  fpsPerViewer: number;
  p50: number;
  p99: number;
  rssMiB: number[];
  /** Runs served per gateway URL (where HAProxy's hash put them). */
  spread: number;
}

async function round(lb: Service, gateways: GatewayProcess[], tag: string): Promise<Round> {
  const pixels = new Uint16Array(SIZE * SIZE);
  const producers = await Promise.all(
    Array.from({ length: RUNS }, async (_, i) => {
      const producer = new LoupeProducer({
        url: lb.url,
        token: TOKENS.producer,
        run: { run: `bench-${tag}-${i}`, title: `bench ${tag} ${i}` },
      });
      await producer.connect();
      return producer;
    }),
  );
  const timer = setInterval(() => {
    for (const producer of producers)
      for (const plane of PLANES)
        producer.publishSlice({
          plane,
          shape: [SIZE, SIZE],
          pixels,
          voxelSize: [1, 1, 1],
          acquiredAt: Date.now(),
        });
  }, 1000 / RATE_HZ);
  const viewers = producers.flatMap((_, i) =>
    Array.from({ length: VIEWERS }, () =>
      new ClusterViewer({ url: lb.url, run: `bench-${tag}-${i}`, hash: false }).start(),
    ),
  );
  await sleep(WARMUP_MS);
  const from = Date.now();
  await sleep(WINDOW_MS);
  const to = Date.now();
  const rssMiB = gateways.map((g) => memoryOf(g.pid).rss / 2 ** 20);
  clearInterval(timer);
  const latencies: number[] = [];
  const rates: number[] = [];
  for (const v of viewers) {
    const inWindow = v.frames.filter((f) => f.at >= from && f.at < to);
    rates.push((inWindow.length * 1000) / (to - from));
    for (const f of inWindow) latencies.push(f.latency);
  }
  // Where HAProxy's hash put each run: the gateway its producer is connected to.
  const owners = await Promise.all(
    producers.map(async (_, i) => {
      for (const g of gateways) {
        const res = await fetch(`${g.url}/api/runs/bench-${tag}-${i}`).catch(() => null);
        const body = res?.ok
          ? ((await res.json()) as { run?: { producerConnected?: boolean } })
          : null;
        if (body?.run?.producerConnected) return g.url;
      }
      return '';
    }),
  );
  const spread = new Set(owners.filter(Boolean)).size;
  for (const v of viewers) v.close();
  await Promise.all(producers.map((p) => p.close()));
  return {
    spread,
    fpsPerViewer: median(rates),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rssMiB,
  };
}

/** Time to the first frame entering through `url` (a viewer that follows `run:elsewhere`). */
async function firstFrameMs(url: string, run: string): Promise<number> {
  const start = Date.now();
  const viewer = new ClusterViewer({ url, run, followOwnerUrl: true }).start();
  while (viewer.frames.length === 0 && Date.now() - start < 15_000) await sleep(5);
  const ms = (viewer.frames[0]?.at ?? NaN) - start;
  viewer.close();
  return ms;
}

const services: Service[] = [];
const gateways: GatewayProcess[] = [];
try {
  const postgres = await startPostgres();
  services.push(postgres);
  gateways.push(
    ...(await Promise.all(
      ['g1', 'g2', 'g3'].map((id) =>
        spawnGateway({
          startTimeoutMs: 90_000,
          env: { LOUPE_GATEWAY_ID: id, LOUPE_DATABASE_URL: postgres.url },
        }),
      ),
    )),
  );
  const address = (g: GatewayProcess, i: number) => ({
    name: `g${i + 1}`,
    address: `127.0.0.1:${g.port}`,
  });
  const one = await startHaproxy([address(gateways[0]!, 0)]);
  const three = await startHaproxy(gateways.map(address));
  services.push(one, three);
  await sleep(2500); // HAProxy's first health checks

  console.log(
    `bench:cluster — ${RUNS} runs × 3 planes × ${SIZE}² uint16 (${((SIZE * SIZE * 2) / 1024).toFixed(0)} KiB) at ${RATE_HZ} Hz, ${VIEWERS} viewers per run, ${WINDOW_MS / 1000} s windows, ${REPEAT} rounds, through HAProxy`,
  );
  const results: Record<string, Round[]> = { '1 gateway': [], '3 gateways': [] };
  for (let r = 0; r < REPEAT; r++) {
    // Alternated, so drift on a shared machine hits both alike.
    results['1 gateway']!.push(await round(one, gateways.slice(0, 1), `one-${r}`));
    results['3 gateways']!.push(await round(three, gateways, `three-${r}`));
  }
  for (const [name, rounds] of Object.entries(results)) {
    const rss = rounds[0]!.rssMiB.map((_, i) => median(rounds.map((x) => x.rssMiB[i]!)));
    console.log(
      `${name.padEnd(10)}  frames/s per live viewer ${median(rounds.map((x) => x.fpsPerViewer)).toFixed(1)} (offered ${(RATE_HZ * 3).toFixed(0)})  ` +
        `publish→receive p50 ${median(rounds.map((x) => x.p50)).toFixed(0)} ms p99 ${median(rounds.map((x) => x.p99)).toFixed(0)} ms  ` +
        `gateway RSS ${rss.map((m) => `${m.toFixed(0)} MiB`).join(' / ')}  ` +
        `gateways owning runs, per round ${rounds.map((x) => x.spread).join('/')}`,
    );
  }
  const f1 = median(results['1 gateway']!.map((x) => x.fpsPerViewer));
  const f3 = median(results['3 gateways']!.map((x) => x.fpsPerViewer));
  console.log(`ratio 3 gateways / 1 gateway, frames/s per live viewer: ${(f3 / f1).toFixed(2)}`);

  // The cross-gateway path: owner routing has no relay; a viewer entering through a non-owner is
  // told where the run is and reconnects there. Its cost is join time, never per frame.
  const producer = new LoupeProducer({
    url: three.url,
    token: TOKENS.producer,
    run: { run: 'bench-join', title: 'bench join' },
  });
  await producer.connect();
  const timer = setInterval(() => {
    for (const plane of PLANES)
      producer.publishSlice({
        plane,
        shape: [SIZE, SIZE],
        pixels: new Uint16Array(SIZE * SIZE),
        voxelSize: [1, 1, 1],
        acquiredAt: Date.now(),
      });
  }, 1000 / RATE_HZ);
  await sleep(1500);
  const viaOwner: number[] = [];
  const viaOther: number[] = [];
  let ownerUrl = '';
  {
    const probe = new ClusterViewer({
      url: gateways[0]!.url,
      run: 'bench-join',
      followOwnerUrl: true,
    }).start();
    while (probe.frames.length === 0) await sleep(10);
    ownerUrl = probe.frames[0]!.via;
    probe.close();
  }
  const other = gateways.find((g) => g.url !== ownerUrl)!;
  for (let i = 0; i < 5; i++) {
    viaOwner.push(await firstFrameMs(ownerUrl, 'bench-join'));
    viaOther.push(await firstFrameMs(other.url, 'bench-join'));
  }
  clearInterval(timer);
  await producer.close();
  console.log(
    `join: first frame via the owner ${median(viaOwner).toFixed(0)} ms, via a non-owner (run:elsewhere → owner) ${median(viaOther).toFixed(0)} ms (medians of 5); frames themselves never cross gateways (no relay)`,
  );
} finally {
  await Promise.all(gateways.map((g) => g.dispose()));
  for (const s of services.reverse()) await s.stop().catch(() => undefined);
}
