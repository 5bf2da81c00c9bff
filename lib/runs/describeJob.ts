import { JOB_ENDED, type RunJob } from '@/lib/protocol';

/** "45 s", "10 min", "2 h 05 min": a job's run time as staff read it. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** The facility's own word for the state (Slurm `TIMEOUT`), else PSI/J's in capitals. */
function stateWord(job: RunJob): string {
  return job.facilityState ?? job.state.toUpperCase();
}

/**
 * How a job ended, in one line: "Job 1234 on beamline-cluster ended: TIMEOUT after 10 min —
 * walltime reached (TimeLimit)". The facility's message is quoted as it gave it.
 */
export function jobEndedMessage(job: RunJob): string {
  const ran =
    job.startedAt !== null && job.endedAt !== null
      ? ` after ${formatDuration(job.endedAt - job.startedAt)}`
      : job.startedAt === null
        ? ' before it started'
        : '';
  const code =
    job.exitCode !== null && job.exitCode !== 0 && !(job.message ?? '').includes('exit code')
      ? `, exit code ${job.exitCode}`
      : '';
  const why = job.message ? ` — ${job.message}` : '';
  return `Job ${job.jobId} on ${job.system} ended: ${stateWord(job)}${ran}${code}${why}`;
}

/**
 * A job's state as its site gives it, for the run page: queued with the site's own start
 * estimate where it has one, running, or how it ended. `time` formats an epoch-ms instant.
 */
export function describeJob(job: RunJob, time: (ms: number) => string): string {
  if (JOB_ENDED.has(job.state)) return jobEndedMessage(job);
  const at = `Job ${job.jobId} on ${job.system}`;
  const why = job.message ? ` — ${job.message}` : '';
  switch (job.state) {
    case 'new':
      return `${at} submitted${why}`;
    case 'queued':
    case 'held':
      return `${at} ${job.state}${job.startEstimate !== null ? `; the site expects it to start at ${time(job.startEstimate)}` : ''}${why}`;
    case 'active':
      return `${at} running${job.startedAt !== null ? ` since ${time(job.startedAt)}` : ''}${why}`;
    default:
      return `${at} ${job.state}${why}`;
  }
}
