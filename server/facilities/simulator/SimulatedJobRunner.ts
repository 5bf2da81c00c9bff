import { spawn } from 'node:child_process';
import type { FacilitySimulator, SimulatedJobEvent } from './startFacilitySimulator';

export interface SimulatedJobRunnerOptions {
  simulator: FacilitySimulator;
  /** The run a job is for, if Loupe submitted it; other jobs are the simulator's own load. */
  jobFor(system: string, jobId: string): SimulatedJob | undefined;
  gatewayUrl: string;
  /** Reports what the consumer printed and when it ended. */
  log?: (line: string) => void;
  /** Starts the job's consumer; by default the reference consumer as a child process. */
  launch?: (job: SimulatedJob, key: string) => { stop(): void };
}

/** A job Loupe submitted: its run, and the producer token minted for that run only. */
export interface SimulatedJob {
  run: string;
  title: string;
  producerToken: string;
}

/** How long a started job may remain unknown: the submitter learns its id when the POST answers. */
const LOOKUP_PATIENCE_MS = 5000;
const LOOKUP_EVERY_MS = 50;

/**
 * What a compute node does when the simulated scheduler starts a job Loupe submitted: runs the
 * reference reconstruction consumer, which dials out to the gateway; kills it when the job ends.
 */
export class SimulatedJobRunner {
  private readonly running = new Map<string, { stop(): void }>();
  private closed = false;
  private readonly onStart = (e: SimulatedJobEvent) => this.start(e);
  private readonly onEnd = (e: SimulatedJobEvent) => this.stop(`${e.system}/${e.jobId}`);

  constructor(private readonly o: SimulatedJobRunnerOptions) {
    o.simulator.events.on('job:start', this.onStart);
    o.simulator.events.on('job:end', this.onEnd);
  }

  get active(): number {
    return this.running.size;
  }

  close(): void {
    this.closed = true;
    this.o.simulator.events.off('job:start', this.onStart);
    this.o.simulator.events.off('job:end', this.onEnd);
    for (const key of [...this.running.keys()]) this.stop(key);
  }

  private start(e: SimulatedJobEvent, waited = 0): void {
    if (this.closed) return;
    const job = this.o.jobFor(e.system, e.jobId);
    if (!job) {
      // Only Loupe's own jobs run a consumer; one may start before its submission's answer is in.
      if (e.jobId.length > 0 && waited < LOOKUP_PATIENCE_MS) {
        setTimeout(() => this.start(e, waited + LOOKUP_EVERY_MS), LOOKUP_EVERY_MS).unref();
      }
      return;
    }
    const key = `${e.system}/${e.jobId}`;
    if (this.running.has(key)) return;
    const log = this.o.log ?? ((line: string) => console.log(line));
    log(`job ${key} started: launching the reconstruction consumer for run ${job.run}`);
    this.running.set(key, (this.o.launch ?? this.spawnConsumer)(job, key));
  }

  private readonly spawnConsumer = (job: SimulatedJob, key: string) => {
    const log = this.o.log ?? ((line: string) => console.log(line));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'consumers/recon/main.ts',
        '--run',
        job.run,
        '--title',
        job.title,
        '--gateway',
        this.o.gatewayUrl,
      ],
      // The token goes through the environment, where `ps` does not show it.
      {
        env: { ...process.env, LOUPE_PRODUCER_TOKEN: job.producerToken },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[${key}] ${line}`);
    };
    child.stdout?.on('data', relay);
    child.stderr?.on('data', relay);
    child.on('error', (error) => log(`job ${key}: consumer could not start: ${error.message}`));
    child.on('exit', (code, signal) => {
      this.running.delete(key);
      log(`job ${key}: consumer exited (${signal ?? `code ${code}`})`);
    });
    return { stop: () => child.kill('SIGTERM') };
  };

  private stop(key: string): void {
    const consumer = this.running.get(key);
    if (!consumer) return;
    this.running.delete(key);
    consumer.stop();
  }
}
