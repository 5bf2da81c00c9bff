import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { io, type Socket } from 'socket.io-client';
import {
  encodeFrame,
  type GatewayToProducer,
  PRODUCER_NAMESPACE,
  PRODUCER_SOCKET_PATH,
  PROTOCOL_VERSION,
  type ProducerToGateway,
} from '../lib/protocol';
import { testIds } from '../lib/testIds';
import { signInAs } from './auth';

// A run of its own (not the demo's): its consumer streams a full view and a zoomed region, then
// goes away; staff resubmit it to the beamline cluster for one (simulated) minute.
const RUN = 'e2e-job-end';
const GATEWAY = `http://127.0.0.1:${Number(process.env.LOUPE_E2E_PORT ?? 3210) + 1000}`;
const N = 16;

async function streamAndLeave(): Promise<void> {
  const users = JSON.parse(readFileSync('.e2e-data/users.json', 'utf8')) as {
    users: { role: string; token: string }[];
  };
  const token = users.users.find((u) => u.role === 'producer')!.token;
  const producer: Socket<GatewayToProducer, ProducerToGateway> = io(GATEWAY + PRODUCER_NAMESPACE, {
    path: PRODUCER_SOCKET_PATH,
    transports: ['websocket'],
    extraHeaders: { authorization: `Bearer ${token}` },
    auth: { protocolVersion: PROTOCOL_VERSION, token },
  });
  await new Promise<void>((resolve, reject) => {
    producer.once('connect', resolve);
    producer.once('connect_error', reject);
  });
  const reply = await producer.emitWithAck('run:register', { run: RUN, title: 'e2e: job end' });
  if (!reply.ok) throw new Error(reply.error);
  for (const view of ['full', 'roi'] as const) {
    const now = Date.now();
    const { header, payload } = encodeFrame(
      {
        run: RUN,
        view,
        stream: 'xy',
        seq: (reply.lastKept[`${view}/xy`] ?? -1) + 1,
        dtype: 'uint16',
        shape: [N, N],
        voxelSize: [1, 1, 1],
        volumeShape: [N, N, N],
        acquiredAt: now,
        reconstructedAt: now,
        publishedAt: now,
        ...(view === 'roi' && { region: { x: [4, 12], y: [4, 12], z: [4, 12] } }),
      },
      Uint16Array.from({ length: N * N }, (_, i) => i * 97),
    );
    expect(await producer.emitWithAck('frame', header, payload)).toEqual({ ok: true });
  }
  producer.close();
}

test('a resubmitted job that ends says so, drops its region, and offers the next resubmit', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await streamAndLeave();
  await signInAs(page, 'sam');
  await page.goto(`/runs/${RUN}`);
  await expect(page.getByTestId(testIds.viewToggle('roi'))).toBeEnabled();
  const site = page.getByTestId(testIds.resubmitSite);
  const walltime = page.getByLabel('walltime in min (empty: as decided)');
  await site.fill('beamline-cluster');
  await walltime.fill('1');
  await page.getByTestId(testIds.command('resubmit')).click();
  // The job as its site reports it, on the run, then how it ended, in the site's words.
  await expect(page.getByTestId(testIds.runJob)).toContainText(/^Job \S+ on beamline-cluster /, {
    timeout: 30_000,
  });
  const ended = page.getByTestId(testIds.runJobEnded);
  await expect(ended).toContainText(/^Job \S+ on beamline-cluster ended: [A-Z_]+ /, {
    timeout: 90_000,
  });
  await expect(page.getByTestId(testIds.runState)).toHaveAttribute('data-state', 'ended');
  // The region the old job reconstructed is gone with it.
  await expect(page.getByTestId(testIds.viewToggle('roi'))).toBeDisabled();
  // The next step: the resubmit form, shaped like the job that ended.
  await site.fill('');
  await walltime.fill('');
  await page.getByTestId(testIds.resubmitOpen).click();
  await expect(site).toBeFocused();
  await expect(site).toHaveValue('beamline-cluster');
  await expect(walltime).toHaveValue('1');
});
