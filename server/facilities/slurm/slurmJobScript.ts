/** Quotes one word for bash: single quotes, with embedded ones closed, escaped and reopened. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The batch script of a job Loupe submits: go to the job's directory and replace the shell with
 * the consumer, so Slurm's signals (scancel, walltime) reach it directly. Credentials never go in
 * the script (slurmctld keeps scripts readable to operators); they come through the job's
 * environment.
 */
export function slurmJobScript(job: { directory: string; argv: string[] }): string {
  if (job.argv.length === 0) throw new Error('a job needs a command');
  return [
    '#!/bin/bash',
    '# Submitted by Loupe: a reconstruction consumer that dials out to the gateway.',
    'set -euo pipefail',
    `cd ${shellQuote(job.directory)}`,
    `exec ${job.argv.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}
