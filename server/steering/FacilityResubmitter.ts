import { DEFAULT_RECON_JOB, JOB_ENDED, type CommandRecord, type RunJob } from '@/lib/protocol';
import { jobEndedMessage } from '@/lib/runs/describeJob';
import type { JobState } from '../facilities/adapters/FacilityAdapter';
import type { Identity } from '../auth/Identity';
import type { ProducerTokens } from '../auth/ProducerTokens';
import type { FacilityService } from '../facilities/FacilityService';
import type { RunRegistry } from '../streams/RunRegistry';
import type { AuditLog } from '../audit/AuditLog';
import { summarizeSiteDecision } from '../audit/auditSummary';
import type { ResubmitHandler, ResubmitProgress, ResubmitRequest } from './CommandService';

export interface FacilityResubmitterOptions {
  facilities: FacilityService;
  registry: RunRegistry;
  audit: AuditLog;
  /** Mints the job's own producer token, valid for its run only. */
  producerTokens: ProducerTokens;
  /** How often the job's state is read from the facility's job API (ms). */
  pollMs?: number;
  /** A job not streaming after this long fails the command (ms of real time). */
  giveUpMs?: number;
  /** Data to move to the site before the job can start, bytes (one 2 k × 2 k × 1 500 uint16 scan). */
  dataBytes?: number;
  /** The executable the job runs at the site: the reference reconstruction consumer. */
  executable?: string;
}

/** Job ids the gateway submitted, and the run each is for. */
export interface SubmittedJob {
  system: string;
  jobId: string;
  run: string;
  title: string;
  command: string;
  /**
   * The job's producer credential: publishes this run only, and expires once the job could no
   * longer be running (queue patience + walltime + slack; walltime + slack from its start once it
   * started), revoked when it ends. The job's consumer dials in with it (LOUPE_PRODUCER_TOKEN in
   * the job's environment).
   */
  producerToken: string;
}

/** The job environment variable the consumer reads its producer token from. */
export const PRODUCER_TOKEN_VARIABLE = 'LOUPE_PRODUCER_TOKEN';
/**
 * How long past its walltime a job's token stays good (ms): Slurm's OverTimeLimit and KillWait,
 * clock skew between site and gateway, and the consumer's last frames on the way.
 */
const TOKEN_SLACK_MS = 10 * 60_000;

const GIB = 2 ** 30;
/** A staff site decision holds for the next resubmits for this long (a beamline shift). */
const DECISION_VALID_MS = 8 * 3600_000;

/** Registrations of one run seen since a submission. */
interface RegistrationWatch {
  registered: boolean;
  onRegistered: (() => void) | null;
  stop(): void;
}

/**
 * Resubmits a run's reconstruction through site selection and the facility's job API: the
 * recommended system (or staff's override) → its job API (IRI `POST /compute/job/{resource}`, or
 * slurmrestd `POST /job/submit` for a Slurm site) → the job's
 * state followed until its consumer dials in and the run streams again.
 */
export class FacilityResubmitter implements ResubmitHandler {
  private readonly jobs = new Map<string, SubmittedJob>();
  /** Per run, the key (`system/jobId`) of the job submitted last: only it speaks for the run. */
  private readonly current = new Map<string, string>();
  /** Timers of the jobs being followed, so close() stops them all. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly o: Required<FacilityResubmitterOptions>;

  constructor(options: FacilityResubmitterOptions) {
    this.o = {
      pollMs: 2000,
      giveUpMs: 6 * 3600_000,
      dataBytes: 12 * GIB,
      executable: 'loupe-recon',
      ...options,
    };
  }

  /** Stops following jobs (the gateway is closing); the jobs themselves run on. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** The run a job Loupe submitted is for (the simulator's job runner asks, to start its consumer). */
  jobFor(system: string, jobId: string): SubmittedJob | undefined {
    return this.jobs.get(`${system}/${jobId}`);
  }

  async resubmit(
    command: CommandRecord,
    request: ResubmitRequest,
    identity: Identity,
    progress: ResubmitProgress,
  ): Promise<void> {
    const { facilities, registry, audit } = this.o;
    const run = registry.get(command.run);
    // Staff's confirmed or overridden site (and the job shape it was chosen for) stands for the
    // next job, unless the request names its own.
    const staff = await facilities.latestDecision(DECISION_VALID_MS);
    const nodes = request.nodes ?? staff?.job?.nodes ?? DEFAULT_RECON_JOB.nodes;
    const walltimeS = request.walltimeSeconds ?? staff?.job?.walltime ?? DEFAULT_RECON_JOB.walltime;
    const recommendation = facilities.recommend({
      nodes,
      walltime: walltimeS,
      dataBytes: this.o.dataBytes,
    });
    const recommended = recommendation.recommended;
    const decided = request.system === undefined ? staff : null;
    const system = request.system ?? decided?.system ?? recommended;
    if (!system) {
      const why = recommendation.excluded
        .map((e) => `${e.system}: ${e.reasons.join('; ')}`)
        .join(' | ');
      return progress.failed(`no system can take the job now (${why || 'no facility data'})`);
    }
    if (!facilities.knows(system)) return progress.failed(`unknown system ${system}`);
    const override = system !== recommended;
    // Choosing a site other than Loupe's recommendation is a site decision: staff only (a
    // decision staff already made is theirs, whoever presses resubmit).
    if (override && !decided && identity.role !== 'staff') {
      await audit.progress({
        who: identity,
        action: 'site:decide',
        run: command.run,
        kind: command.kind,
        args: summarizeSiteDecision({ system, recommended }),
        outcome: 'denied',
        status: 403,
        reason: 'only staff may override the recommended site',
      });
      return progress.failed(
        `only staff may send a job elsewhere than the recommended site (${recommended ?? 'none'})`,
      );
    }
    const excluded = recommendation.excluded.find((e) => e.system === system);
    const decision =
      decided ??
      (await facilities.recordDecision(
        { subject: identity.subject, role: identity.role },
        {
          system,
          recommended,
          note: `resubmit of run ${command.run}${excluded ? ` despite: ${excluded.reasons.join('; ')}` : ''}`,
          job: { nodes, walltime: walltimeS },
        },
      ));
    await audit.progress({
      who: identity,
      action: 'site:decide',
      run: command.run,
      kind: command.kind,
      args: summarizeSiteDecision({ system, recommended, override, decision: decision.id }),
      outcome: 'allowed',
      reason: decided
        ? `staff decision ${decided.id} by ${decided.who}`
        : override
          ? `override of ${recommended ?? 'no recommendation'}`
          : 'recommended site',
    });

    // Watch for the run's registration from before the submission: a job that starts at once may
    // have its consumer dial in before the submission's answer is back.
    const watch = this.watchRegistrations(command.run);
    // The job's own producer credential, for this run only, minted before the submission so it
    // travels in the job's environment; it cannot outlive the job (see SubmittedJob).
    const subject = `job:${system}/${command.id}`;
    const credential = await this.o.producerTokens.mint(
      command.run,
      subject,
      (this.o.giveUpMs + walltimeS * 1000 + TOKEN_SLACK_MS) / 1000,
    );
    let job;
    try {
      // The site's job profile (sites file) says what a job there needs: account, queue,
      // constraints, directory and writable stdout/stderr paths.
      const profile = facilities.jobProfile(system);
      const fill = (t: string | undefined) => t?.replaceAll('{run}', command.run);
      job = await facilities.submitJob(system, {
        name: `loupe-${command.run}`,
        executable: profile?.executable ?? this.o.executable,
        arguments: (profile?.arguments ?? ['--run', '{run}']).map((a) => fill(a)!),
        nodes,
        walltimeS,
        ...(profile?.account && { account: profile.account }),
        ...(profile?.queue && { queue: profile.queue }),
        ...(profile?.customAttributes && { customAttributes: profile.customAttributes }),
        ...(profile?.directory && { directory: fill(profile.directory)! }),
        ...(profile?.stdoutPath && { stdoutPath: fill(profile.stdoutPath)! }),
        ...(profile?.stderrPath && { stderrPath: fill(profile.stderrPath)! }),
        environment: { ...profile?.environment, [PRODUCER_TOKEN_VARIABLE]: credential.token },
        // One command is one job: a retry of the same command carries the same key.
        idempotencyKey: command.id,
      });
    } catch (error) {
      watch.stop();
      this.o.producerTokens.revoke(credential.id, credential.expiresAt);
      return progress.failed(`${system} refused the job: ${(error as Error).message}`);
    }
    const key = `${system}/${job.id}`;
    this.current.set(command.run, key);
    this.jobs.set(key, {
      system,
      jobId: job.id,
      run: command.run,
      title: run?.title ?? command.run,
      command: command.id,
      producerToken: credential.token,
    });
    const ranked = recommendation.ranked.find((r) => r.system === system);
    const eta = ranked
      ? `, first result expected in ~${Math.round(ranked.expectedFirstResultS / 60)} min`
      : '';
    const siteEta =
      job.startEstimate !== null
        ? `, ${system} estimates its start at ${new Date(job.startEstimate).toISOString()}`
        : '';
    progress.delivered(
      `job ${job.id} ${job.state === 'active' ? 'running' : 'queued'} at ${system}${decided ? ` (staff decision ${decided.id})` : override ? ' (staff override)' : ''}, ${nodes} nodes × ${Math.round(walltimeS / 60)} min${siteEta}${eta}`,
    );

    const tracked: TrackedJob = {
      key,
      run: command.run,
      subject,
      credential,
      job: runJob(job, {
        command: command.id,
        system,
        walltimeS,
        submittedAt: Date.now(),
        previous: undefined,
      }),
    };
    this.report(tracked);
    await this.follow(tracked, watch, progress);
  }

  /** Tells the run what its job is doing, if it is still the run's job; ends it when it ended. */
  private report(t: TrackedJob): void {
    if (this.current.get(t.run) !== t.key) return;
    this.o.registry.setJob(t.run, t.job, {
      subject: t.subject,
      ...(JOB_ENDED.has(t.job.state) && { endedMessage: jobEndedMessage(t.job) }),
    });
  }

  /** A new state of the job from its site: the run's summary, the token's lifetime, its end. */
  private update(t: TrackedJob, state: JobState): void {
    const before = t.job;
    t.job = runJob(state, { ...before, previous: before });
    if (t.job.startedAt !== null && before.startedAt === null)
      // Running now: the job can last its walltime, and the token no longer than that.
      this.o.producerTokens.limit(
        t.credential.id,
        t.job.startedAt + t.job.walltimeS * 1000 + TOKEN_SLACK_MS,
        t.credential.expiresAt,
      );
    if (JOB_ENDED.has(t.job.state)) {
      this.o.producerTokens.revoke(t.credential.id, t.credential.expiresAt);
      this.jobs.delete(t.key);
    }
    const changed = (['state', 'message', 'startEstimate', 'startedAt', 'endedAt'] as const).some(
      (k) => before[k] !== t.job[k],
    );
    if (changed) this.report(t);
    if (JOB_ENDED.has(t.job.state) && this.current.get(t.run) === t.key) this.current.delete(t.run);
  }

  private watchRegistrations(run: string): RegistrationWatch {
    const { registry } = this.o;
    const watch: RegistrationWatch = {
      registered: false,
      onRegistered: null,
      stop: () => registry.off('registered', listener),
    };
    const listener = (registeredRun: string) => {
      if (registeredRun !== run) return;
      watch.registered = true;
      watch.onRegistered?.();
    };
    registry.on('registered', listener);
    return watch;
  }

  /**
   * Polls the job until it ends at its site. Its command is decided on the way: applied when its
   * consumer streams the run, failed when the job ends first or never streams; after that the
   * job is followed on, so its end (walltime, failure, cancellation) reaches the run.
   */
  private follow(
    t: TrackedJob,
    watch: RegistrationWatch,
    progress: ResubmitProgress,
  ): Promise<void> {
    const { facilities } = this.o;
    const [system, jobId] = [t.job.system, t.job.jobId];
    return new Promise((resolve) => {
      const started = Date.now();
      let decided = false;
      let failures = 0;
      const decide = (outcome: () => void) => {
        if (decided) return;
        decided = true;
        watch.stop();
        outcome();
        resolve();
      };
      // The job's consumer registering the run is what "streams again" means; the region the
      // previous job reconstructed is not this job's.
      const streaming = () =>
        decide(() => {
          this.o.registry.clearRoi(t.run);
          progress.applied(`streaming again from ${system} (job ${jobId})`);
        });
      // The consumer may dial in between two polls of the job's state.
      watch.onRegistered = () => {
        if (t.job.state === 'active') streaming();
      };
      const poll = async () => {
        // The gateway is closing: the command stays as it is in the store, like every open one.
        if (this.closed) return resolve();
        try {
          const job = await facilities.jobStatus(system, jobId);
          failures = 0;
          this.update(t, job);
          if (job.state === 'active' && watch.registered) streaming();
          if (JOB_ENDED.has(job.state)) {
            const message = job.message ? `: ${job.message}` : '';
            return decide(() =>
              progress.failed(
                `job ${jobId} at ${system} ended ${job.state} before streaming${message}`,
              ),
            );
          }
        } catch (error) {
          // A facility API hiccup is not the job failing; give up only when it persists.
          const MAX_FAILURES = 30;
          if (++failures >= MAX_FAILURES) {
            this.o.producerTokens.revoke(t.credential.id, t.credential.expiresAt);
            return decide(() =>
              progress.failed(`lost track of job ${jobId}: ${(error as Error).message}`),
            );
          }
        }
        if (!decided && Date.now() - started > this.o.giveUpMs) {
          // Not followed further; its token expires on its own (queue patience + walltime).
          return decide(() =>
            progress.failed(
              `job ${jobId} did not stream within ${Math.round(this.o.giveUpMs / 60_000)} min`,
            ),
          );
        }
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          void poll();
        }, this.o.pollMs);
        timer.unref();
        this.timers.add(timer);
      };
      void poll();
    });
  }
}

/** A job being followed: its run, its credential, and its state as the run's summary shows it. */
interface TrackedJob {
  key: string;
  run: string;
  /** The producer identity its consumer registers the run as. */
  subject: string;
  credential: { id: string; expiresAt: number };
  job: RunJob;
}

/**
 * A job's state from its site as the run's summary carries it. What a poll does not say (Slurm
 * forgets start times once a job is gone; IRI gives one time per state) is kept from before, and
 * an end the site did not date is dated now.
 */
export function runJob(
  state: JobState,
  o: {
    command: string;
    system: string;
    walltimeS: number;
    submittedAt: number;
    previous: RunJob | undefined;
  },
  now: number = Date.now(),
): RunJob {
  const ended = JOB_ENDED.has(state.state);
  const startedAt =
    state.startedAt ?? o.previous?.startedAt ?? (state.state === 'active' ? now : null);
  return {
    command: o.command,
    system: o.system,
    jobId: state.id,
    state: state.state,
    facilityState: state.facilityState ?? null,
    message: state.message?.slice(0, 500) ?? null,
    exitCode: state.exitCode,
    walltimeS: o.walltimeS,
    submittedAt: o.submittedAt,
    startEstimate: ended || state.state === 'active' ? null : state.startEstimate,
    startedAt,
    endedAt: ended ? (state.endedAt ?? o.previous?.endedAt ?? now) : null,
  };
}
