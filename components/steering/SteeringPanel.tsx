'use client';

import { type ReactNode, useEffect, useRef, useState } from 'react';
import { type CommandRequestInput, ShareCreatedAnswer } from '@/lib/protocol';
import { readAnswer } from '@/lib/rest/readAnswer';
import { testIds } from '@/lib/testIds';
import { useLiveClient } from '@/components/live/LiveClientProvider';
import { useControl, useRuns, useSession } from '@/stores/StoreProvider';
import { steering } from '@/stores/sessionStore';
import { CommandList } from './CommandList';
import { ControlBar } from './ControlBar';
import { ParameterControls } from './ParameterControls';
import { ShareLinkList } from './ShareLinkList';
import { SweepMontage } from './SweepMontage';
import { withViewState } from '@/lib/viewState/withViewState';
import { describeJob } from '@/lib/runs/describeJob';
import { useOpenResubmit } from './openResubmit';

const button = 'rounded border border-edge px-3 py-1 text-sm hover:bg-white/10 disabled:opacity-40';
const input = 'w-full rounded border border-edge bg-surface px-2 py-1 font-mono text-sm';

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="space-y-2 border-t border-edge pt-3">
      <h3 className="text-xs font-semibold tracking-wide text-muted uppercase">{title}</h3>
      {children}
    </section>
  );
}

/** For those who cannot steer: who holds the run's control. */
function ControlStatus({ runId }: { runId: string }) {
  const holder = useControl((s) => s.controls[runId]?.holder ?? null);
  return (
    <p data-testid={testIds.controlHolder} className="mt-2 text-xs">
      {holder ? `${holder.subject} (${holder.role}) holds control` : 'Nobody holds control'}
    </p>
  );
}

/**
 * Steering for one run: pause, resume, capture, zoom to a region, reconstruction parameters,
 * resubmission, and a read-only share link. Shown only to those the gateway would let steer; the
 * gateway checks every command again.
 */
export function SteeringPanel({ runId }: { runId: string }) {
  const live = useLiveClient();
  const identity = useSession((s) => s.identity);
  const run = useRuns((s) => s.runs[runId]);
  const decision = steering(identity, runId);
  const allowed = decision.allowed;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [region, setRegion] = useState({ x0: 0, x1: 0, y0: 0, y1: 0, z0: 0, z1: 0 });
  const [regionEdited, setRegionEdited] = useState(false);
  // Empty: the shape staff's site decision was made for (the gateway fills it in).
  const [nodes, setNodes] = useState('');
  const [walltime, setWalltime] = useState('');
  const [system, setSystem] = useState('');
  const [share, setShare] = useState<string | null>(null);
  // Empty: the last half turn, as before pre-count and duration existed.
  const [preCount, setPreCount] = useState('');
  const [duration, setDuration] = useState('');
  const [shares, setShares] = useState(0);
  const resubmitRef = useRef<HTMLInputElement>(null);
  // "Resubmit…" where a job ended: the form, shaped like the job that ended.
  useOpenResubmit(runId, (request) => {
    if (request.system) setSystem(request.system);
    if (request.walltimeMin) setWalltime(String(request.walltimeMin));
    resubmitRef.current?.scrollIntoView({ block: 'center' });
    resubmitRef.current?.focus();
  });

  useEffect(() => {
    void live.loadCommands(runId);
  }, [live, runId]);

  // Until the user types a region, offer the middle half of the volume the consumer reconstructs.
  useEffect(() => {
    if (regionEdited) return;
    const POLL_MS = 1000;
    const timer = setInterval(() => {
      const shape = live.frames.get(runId, 'full/xy')?.frame.header.volumeShape;
      if (!shape) return;
      const [nx, ny, nz] = shape;
      const mid = (n: number) => [Math.round(n / 4), Math.round((3 * n) / 4)] as const;
      const [x0, x1] = mid(nx);
      const [y0, y1] = mid(ny);
      const [z0, z1] = mid(nz);
      setRegion({ x0, x1, y0, y1, z0, z1 });
      clearInterval(timer);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [live, runId, regionEdited]);

  if (!identity) return null;
  if (!allowed) {
    return (
      <aside
        data-testid={testIds.steeringPanel}
        data-readonly="true"
        className="rounded-lg border border-edge bg-panel p-3 text-sm text-muted"
      >
        Read-only: {identity.anonymous ? 'sign in to steer' : `${decision.reason}`}.
        <ControlStatus runId={runId} />
        <div className="mt-3">
          <CommandList runId={runId} />
        </div>
      </aside>
    );
  }

  const send = async (request: CommandRequestInput) => {
    setBusy(true);
    setError(null);
    const result = await live.sendCommand(runId, request);
    setBusy(false);
    if (!result.ok) setError(result.error);
  };
  const num = (v: string) => Number.parseInt(v, 10);

  return (
    <aside
      data-testid={testIds.steeringPanel}
      className="space-y-3 rounded-lg border border-edge bg-panel p-3"
    >
      <h2 className="flex items-center justify-between text-sm font-semibold">
        Steering <span className="text-xs font-normal text-muted">as {identity.subject}</span>
      </h2>
      <ControlBar runId={runId} />
      <div className="flex flex-wrap gap-2">
        {run?.state === 'paused' ? (
          <button
            type="button"
            data-testid={testIds.command('resume')}
            className={button}
            disabled={busy}
            onClick={() => send({ kind: 'resume' })}
          >
            Resume
          </button>
        ) : (
          <button
            type="button"
            data-testid={testIds.command('pause')}
            className={button}
            disabled={busy}
            onClick={() => send({ kind: 'pause' })}
          >
            Pause
          </button>
        )}
        <button
          type="button"
          data-testid={testIds.command('capture')}
          className={button}
          disabled={busy}
          onClick={() =>
            send({
              kind: 'capture',
              ...(preCount !== '' && { preCount: num(preCount) }),
              ...(duration !== '' && { durationS: Number(duration) }),
            })
          }
        >
          Capture
        </button>
        <input
          aria-label="Capture pre-count (projections before the trigger; empty: last half turn)"
          placeholder="pre-count"
          className={`${input} w-24`}
          type="number"
          min={0}
          value={preCount}
          onChange={(e) => setPreCount(e.target.value)}
        />
        <input
          aria-label="Capture duration (s)"
          placeholder="duration s"
          className={`${input} w-24`}
          type="number"
          min={0}
          max={600}
          step={0.5}
          value={duration}
          onChange={(e) => setDuration(e.target.value)}
        />
        <button
          type="button"
          data-testid={testIds.command('reset-zoom')}
          className={button}
          disabled={busy}
          onClick={() => send({ kind: 'reset-zoom' })}
        >
          Reset zoom
        </button>
      </div>
      {error ? (
        <p data-testid={testIds.commandError} role="alert" className="text-sm text-bad">
          {error}
        </p>
      ) : null}

      <Section title="Zoom to region (voxels)">
        <form
          data-testid={testIds.zoomForm}
          className="grid grid-cols-3 gap-1 text-xs"
          onSubmit={(e) => {
            e.preventDefault();
            void send({
              kind: 'zoom',
              region: {
                x: [region.x0, region.x1],
                y: [region.y0, region.y1],
                z: [region.z0, region.z1],
              },
            });
          }}
        >
          {(['x', 'y', 'z'] as const).map((axis) => (
            <label key={axis} className="space-y-1">
              <span className="font-mono text-muted">{axis}</span>
              <input
                aria-label={`${axis} from`}
                className={input}
                type="number"
                value={region[`${axis}0`]}
                onChange={(e) => {
                  setRegionEdited(true);
                  setRegion({ ...region, [`${axis}0`]: num(e.target.value) });
                }}
              />
              <input
                aria-label={`${axis} to`}
                className={input}
                type="number"
                value={region[`${axis}1`]}
                onChange={(e) => {
                  setRegionEdited(true);
                  setRegion({ ...region, [`${axis}1`]: num(e.target.value) });
                }}
              />
            </label>
          ))}
          <button
            type="submit"
            data-testid={testIds.command('zoom')}
            className={`${button} col-span-3`}
            disabled={busy}
          >
            Zoom
          </button>
        </form>
      </Section>

      {run?.parameters?.declarations.length ? (
        <Section title="Reconstruction">
          <ParameterControls
            parameters={run.parameters}
            busy={busy}
            onApply={(values) => send({ kind: 'set-parameters', values })}
          />
        </Section>
      ) : null}

      {run?.parameters?.declarations.some((d) => d.name === 'rotationCentre') ? (
        <Section title="Rotation-centre sweep">
          <SweepMontage runId={runId} busy={busy} send={send} />
        </Section>
      ) : null}

      <Section title="Resubmit">
        {run?.job ? (
          <p data-testid={testIds.runJob} data-state={run.job.state} className="text-xs">
            {describeJob(run.job, (ms) => new Date(ms).toLocaleTimeString())}
          </p>
        ) : null}
        <div className="grid grid-cols-3 gap-1 text-xs">
          <input
            ref={resubmitRef}
            aria-label="system (empty: recommended)"
            data-testid={testIds.resubmitSite}
            placeholder="recommended"
            className={input}
            value={system}
            onChange={(e) => setSystem(e.target.value)}
          />
          <input
            aria-label="nodes (empty: as decided)"
            placeholder="nodes"
            className={input}
            type="number"
            min={1}
            value={nodes}
            onChange={(e) => setNodes(e.target.value)}
          />
          <input
            aria-label="walltime in min (empty: as decided)"
            placeholder="min"
            className={input}
            type="number"
            min={1}
            value={walltime}
            onChange={(e) => setWalltime(e.target.value)}
          />
          <button
            type="button"
            data-testid={testIds.command('resubmit')}
            className={`${button} col-span-3`}
            disabled={busy}
            onClick={() =>
              send({
                kind: 'resubmit',
                ...(nodes !== '' && { nodes: num(nodes) }),
                ...(walltime !== '' && { walltimeSeconds: num(walltime) * 60 }),
                ...(system && { system }),
              })
            }
          >
            Resubmit {system ? `to ${system}` : 'to the recommended site'}
          </button>
        </div>
      </Section>

      <Section title="Share read-only">
        <button
          type="button"
          className={button}
          onClick={async () => {
            const res = await live.api(`/api/runs/${encodeURIComponent(runId)}/share`, {
              method: 'POST',
              body: '{}',
            });
            const answer = await readAnswer(res, ShareCreatedAnswer);
            if (answer.ok) {
              setShare(
                `${window.location.origin}${withViewState(answer.data.path, window.location.search)}`,
              );
              setShares((n) => n + 1);
            } else setError(`could not create a link: ${answer.error}`);
          }}
        >
          Create link
        </button>
        {share ? (
          <input
            data-testid={testIds.shareLink}
            readOnly
            className={input}
            value={share}
            onFocus={(e) => e.target.select()}
          />
        ) : null}
        <ShareLinkList runId={runId} version={shares} />
      </Section>

      <Section title="Commands">
        <CommandList runId={runId} />
      </Section>
    </aside>
  );
}
