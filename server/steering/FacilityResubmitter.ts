import { DEFAULT_RECON_JOB, type CommandRecord } from '@/lib/protocol';
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
   * longer be running (queue patience + walltime). The job's consumer dials in with it.
   */
  producerToken: string;
}

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
        ...(profile?.environment && { environment: profile.environment }),
        // One command is one job: a retry of the same command carries the same key.
        idempotencyKey: command.id,
      });
    } catch (error) {
      watch.stop();
      return progress.failed(`${system} refused the job: ${(error as Error).message}`);
    }
    const key = `${system}/${job.id}`;
    const credential = await this.o.producerTokens.mint(
      command.run,
      `job:${system}/${job.id}`,
      this.o.giveUpMs / 1000 + walltimeS,
    );
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

    await this.follow(system, job.id, watch, progress);
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

  /** Polls the job until its consumer streams the run, or the job ends or fails first. */
  private follow(
    system: string,
    jobId: string,
    watch: RegistrationWatch,
    progress: ResubmitProgress,
  ): Promise<void> {
    const { facilities } = this.o;
    return new Promise((resolve) => {
      const started = Date.now();
      let active = false;
      let failures = 0;
      let timer: NodeJS.Timeout | null = null;
      const finish = (outcome: () => void) => {
        if (timer) clearTimeout(timer);
        watch.stop();
        outcome();
        resolve();
      };
      // The job's consumer registering the run is what "streams again" means.
      const streaming = () =>
        finish(() => progress.applied(`streaming again from ${system} (job ${jobId})`));
      // The consumer may dial in between two polls of the job's state.
      watch.onRegistered = () => {
        if (active) streaming();
      };
      const poll = async () => {
        try {
          const job = await facilities.jobStatus(system, jobId);
          failures = 0;
          const state = job.state;
          if (state === 'active') {
            active = true;
            if (watch.registered) return streaming();
          }
          if (state === 'completed' || state === 'failed' || state === 'canceled') {
            const message = job.message ? `: ${job.message}` : '';
            return finish(() =>
              progress.failed(
                `job ${jobId} at ${system} ended ${state} before streaming${message}`,
              ),
            );
          }
        } catch (error) {
          // A facility API hiccup is not the job failing; give up only when it persists.
          const MAX_FAILURES = 30;
          if (++failures >= MAX_FAILURES) {
            return finish(() =>
              progress.failed(`lost track of job ${jobId}: ${(error as Error).message}`),
            );
          }
        }
        if (Date.now() - started > this.o.giveUpMs) {
          return finish(() =>
            progress.failed(
              `job ${jobId} did not stream within ${Math.round(this.o.giveUpMs / 60_000)} min`,
            ),
          );
        }
        timer = setTimeout(() => void poll(), this.o.pollMs);
      };
      void poll();
    });
  }
}
