/**
 * The reference reconstruction consumer as a process:
 *
 *   node --import tsx consumers/recon/main.ts --gateway http://127.0.0.1:4000 --token T \
 *     --run demo --title "Shepp–Logan phantom at 2-BM"
 *
 * Without --gateway / --token it reads LOUPE_GATEWAY_URL / LOUPE_PRODUCER_TOKEN, then the embedded
 * default's config and users file (what `npm start` writes). --help lists every option.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ReconFilter } from '@/lib/protocol';
import { DetectorSimulator } from '../detector/DetectorSimulator';
import { readDxchange } from '../detector/dxchangeFile';
import { FileReplaySource } from '../detector/FileReplaySource';
import type { ProjectionSource } from '../detector/ProjectionSource';
import { readNpyScan } from '../detector/npyScan';
import { LoupeProducer } from '../sdk/LoupeProducer';
import { ReconstructionConsumer } from './ReconstructionConsumer';
import { referenceParameters } from './referenceParameters';

const HELP = `Loupe reference reconstruction consumer

  --gateway URL          gateway base URL (env LOUPE_GATEWAY_URL; default from the embedded config)
  --token TOKEN          producer token (env LOUPE_PRODUCER_TOKEN; default: the users file's producer)
  --run ID               run id (default demo)
  --title TEXT           run title
  --sample TEXT          sample name
  --beamline TEXT        beamline (default 2-BM)
  --replay PATH          replay projections from a DXchange .h5 file or a folder of .npy arrays
                         (projections.npy, theta.npy, flat.npy, dark.npy; see consumers/recon/README.md)
  --width N              simulated detector columns (default 256, up to 2048)
  --height N             simulated detector rows (default 256)
  --pixel-size UM        detector pixel at the sample, µm (default 1.3)
  --rate DEG_PER_S       rotation speed (default 30)
  --fps N                frames per second (default 30)
  --noise-seed N         Poisson noise with this seed (default 1; "off" for none)
  --axis PX              simulated rotation axis column (default width/2)
  --size N               full view edge in voxels: slices and preview volume (default 128)
  --brick N              volume brick edge, voxels (default 32)
  --roi-max-edge N       largest zoomed-region edge, voxels (default 128)
  --filter NAME          ramp | shepp-logan | hann (default shepp-logan)
  --centre PX            reconstruction rotation centre, px from the detector's left edge
  --workers N            back-projection threads (default: all ${availableParallelism()} cores)
  --captures DIR         where captures go (default ./captures)
  --capture-quota-mb N   MiB all captures of this consumer may take (default 2048)
  --capture-max-files N  captures this consumer may write (default 50)
  --report-every S       print the speed every S seconds (default 10; 0: never)
`;

const { values: args } = parseArgs({
  options: {
    gateway: { type: 'string' },
    token: { type: 'string' },
    run: { type: 'string', default: 'demo' },
    title: { type: 'string' },
    sample: { type: 'string' },
    beamline: { type: 'string', default: '2-BM (simulated)' },
    replay: { type: 'string' },
    width: { type: 'string', default: '256' },
    height: { type: 'string', default: '256' },
    'pixel-size': { type: 'string', default: '1.3' },
    rate: { type: 'string', default: '30' },
    fps: { type: 'string', default: '30' },
    'noise-seed': { type: 'string', default: '1' },
    axis: { type: 'string' },
    size: { type: 'string', default: '128' },
    brick: { type: 'string', default: '32' },
    'roi-max-edge': { type: 'string', default: '128' },
    filter: { type: 'string', default: 'shepp-logan' },
    centre: { type: 'string' },
    workers: { type: 'string' },
    captures: { type: 'string', default: './captures' },
    'capture-quota-mb': { type: 'string', default: '2048' },
    'capture-max-files': { type: 'string', default: '50' },
    'report-every': { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${value}`);
  return n;
}

/** The embedded default's gateway URL and producer token, when this runs beside `npm start`. */
async function embeddedDefaults(): Promise<{ url?: string; token?: string }> {
  const { readConfig, gatewayUrl } = await import('@/server/config');
  const config = readConfig();
  let token: string | undefined;
  if (existsSync(config.usersFile)) {
    const { UsersFile } = await import('@/server/auth/LocalUsers');
    const users = UsersFile.parse(JSON.parse(readFileSync(config.usersFile, 'utf8')));
    token = users.users.find((u) => u.role === 'producer')?.token;
  }
  return { url: gatewayUrl(config), ...(token && { token }) };
}

async function openSource(): Promise<ProjectionSource> {
  const fps = num('fps', args.fps)!;
  if (args.replay) {
    const file = args.replay;
    const data = /\.(h5|hdf5|hdf)$/i.test(file)
      ? await readDxchange(file, num('pixel-size', args['pixel-size']))
      : await readNpyScan(file, num('pixel-size', args['pixel-size']));
    return new FileReplaySource(data, { framesPerSecond: fps });
  }
  const seed = args['noise-seed'] === 'off' ? undefined : num('noise-seed', args['noise-seed']);
  const axis = num('axis', args.axis);
  return new DetectorSimulator({
    width: num('width', args.width)!,
    height: num('height', args.height)!,
    pixelSizeUm: num('pixel-size', args['pixel-size'])!,
    degreesPerSecond: num('rate', args.rate)!,
    framesPerSecond: fps,
    ...(seed !== undefined && { noiseSeed: seed }),
    ...(axis !== undefined && { axisColumn: axis }),
  });
}

async function main(): Promise<void> {
  let url = args.gateway ?? process.env.LOUPE_GATEWAY_URL;
  let token = args.token ?? process.env.LOUPE_PRODUCER_TOKEN;
  if (!url || !token) {
    const defaults = await embeddedDefaults();
    url ??= defaults.url;
    token ??= defaults.token;
  }
  if (!url || !token)
    throw new Error('no gateway or token: pass --gateway and --token (see --help)');
  const filter = ReconFilter.parse(args.filter);
  const source = await openSource();
  const { width, height, pixelSizeUm } = source.detector;

  const producer = new LoupeProducer({
    url,
    token,
    run: {
      run: args.run,
      title:
        args.title ??
        (args.replay ? `Replay of ${args.replay}` : 'Shepp–Logan phantom, live reconstruction'),
      sample: args.sample ?? (args.replay ? args.replay : 'Shepp–Logan phantom (analytic)'),
      beamline: args.beamline,
      parameters: referenceParameters(source.detector, {
        filter,
        ...(num('centre', args.centre) !== undefined && {
          rotationCentre: num('centre', args.centre)!,
        }),
      }),
    },
  });
  producer.on('error', (e) => {
    console.error(`recon: ${e.message}`);
    process.exitCode = 1;
  });
  producer.on('refused', (e) =>
    console.error(`recon: gateway refused ${e.event ?? 'a message'}: ${e.message}`),
  );
  producer.on('disconnected', (reason) =>
    console.error(`recon: disconnected (${reason}); reconnecting`),
  );
  producer.on('registered', (kept) =>
    console.log(
      `recon: registered run ${args.run} at ${url}; gateway kept ${JSON.stringify(kept)}`,
    ),
  );
  producer.on('superseded', (notice) => {
    console.log(`recon: ${notice.reason}; stopping`);
    void stop();
  });
  producer.on('gap', (g) =>
    console.error(`recon: frames ${g.from}–${g.to} of ${g.key} were lost with the connection`),
  );

  const workers = num('workers', args.workers);
  const centre = num('centre', args.centre);
  const consumer = new ReconstructionConsumer(producer, source, {
    size: num('size', args.size)!,
    brickSize: num('brick', args.brick)!,
    roiMaxEdge: num('roi-max-edge', args['roi-max-edge'])!,
    filter,
    capturesDir: args.captures,
    captureLimits: {
      maxBytes: num('capture-quota-mb', args['capture-quota-mb'])! * 2 ** 20,
      maxFiles: num('capture-max-files', args['capture-max-files'])!,
    },
    reportEveryMs: num('report-every', args['report-every'])! * 1000,
    ...(workers !== undefined && { workers }),
    ...(centre !== undefined && { rotationCentre: centre }),
  });
  const { slots, storeBytes } = consumer.footprint;
  console.log(
    `recon: detector ${width}×${height} at ${pixelSizeUm} µm, full view ${args.size}³, ${slots} projection slots, ` +
      `${(storeBytes / 2 ** 20).toFixed(0)} MiB of filtered projections, filter ${filter}, ${workers ?? availableParallelism()} workers`,
  );

  const stop = async () => {
    await consumer.stop();
    await producer.close();
    process.exit(process.exitCode ?? 0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());

  // Reconstruct from the start; frames wait for the connection (the SDK drops them while offline).
  consumer.start();
  await producer.connect();
}

main().catch((error: unknown) => {
  console.error(`recon: ${(error as Error).message}`);
  process.exit(1);
});
