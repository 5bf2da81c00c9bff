import type { FacilityId } from '@/lib/protocol';
import type { SchedulerConfig, SimWindow } from './SchedulerModel';

const HOUR = 3600;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Minutes local time is ahead of UTC in `timeZone` at instant `ms` (negative in the Americas). */
function offsetMinutes(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(ms);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return Math.round((local - ms) / 60_000);
}

/** Epoch seconds of a wall-clock time in `timeZone` (daylight saving included). */
export function zonedEpoch(
  year: number,
  month0: number,
  day: number,
  hour: number,
  timeZone: string,
): number {
  const guess = Date.UTC(year, month0, day, hour);
  const first = guess - offsetMinutes(guess, timeZone) * 60_000;
  const second = guess - offsetMinutes(first, timeZone) * 60_000;
  return second / 1000;
}

/**
 * ALCF's Monday maintenance, 09:00–17:00 US Central, on alternate Mondays (`parity` 0 or 1 picks
 * which), announced two weeks ahead.
 */
export function alcfMondays(parity: number, machine: string) {
  return (from: number, to: number): SimWindow[] => {
    const out: SimWindow[] = [];
    const d = new Date(from * 1000);
    // Walk calendar days in Chicago from a day before `from`.
    for (
      let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - DAY * 1000;
      t < to * 1000;
      t += DAY * 1000
    ) {
      const day = new Date(t);
      if (day.getUTCDay() !== 1) continue;
      const week = Math.floor(t / 1000 / WEEK);
      if (week % 2 !== parity) continue;
      const start = zonedEpoch(
        day.getUTCFullYear(),
        day.getUTCMonth(),
        day.getUTCDate(),
        9,
        'America/Chicago',
      );
      const end = zonedEpoch(
        day.getUTCFullYear(),
        day.getUTCMonth(),
        day.getUTCDate(),
        17,
        'America/Chicago',
      );
      if (end <= from || start >= to) continue;
      out.push({
        id: '',
        kind: 'planned',
        start,
        end,
        announced: start - 2 * WEEK,
        description: `${machine} scheduled maintenance (Monday 09:00–17:00 US Central)`,
      });
    }
    return out;
  };
}

/** Windows every `everyDays` ± a few days, `hours` long, announced `noticeDays` ahead. */
export function periodicWindows(
  everyDays: number,
  hours: number,
  noticeDays: number,
  description: string,
) {
  return (from: number, to: number, random: () => number): SimWindow[] => {
    const out: SimWindow[] = [];
    let t = from + (0.1 + 0.8 * random()) * everyDays * DAY;
    while (t < to) {
      // Maintenance starts on the hour.
      const start = Math.floor(t / HOUR) * HOUR;
      out.push({
        id: '',
        kind: 'planned',
        start,
        end: start + hours * HOUR,
        announced: start - noticeDays * DAY,
        description,
      });
      t += (0.8 + 0.4 * random()) * everyDays * DAY;
    }
    return out;
  };
}

export interface SimSystem {
  facility: FacilityId;
  /** Human name, as the facility writes it. */
  fullName: string;
  description: string;
  config: SchedulerConfig;
  /** Served through slurmrestd (the beamline's own cluster) rather than a facility's APIs. */
  slurm?: { cluster: string; partition: string; nodePrefix: string };
}

/** Polaris routes prod jobs by size (ALCF's published limits); ≤ 2 nodes may use debug. */
export function polarisQueue(nodes: number, walltimeS: number): string {
  if (nodes <= 2 && walltimeS <= HOUR) return 'debug';
  if (nodes < 10) return 'debug-scaling';
  if (nodes <= 24) return 'small';
  if (nodes <= 99) return 'medium';
  return 'large';
}

/**
 * The five systems the embedded simulator runs: four DOE machines (their real node counts) and the
 * beamline's own Slurm cluster, a few dozen GPU nodes next to the detector.
 */
export function defaultSystems(): Record<string, SimSystem> {
  return {
    perlmutter: {
      facility: 'NERSC',
      fullName: 'Perlmutter',
      description: 'HPE Cray EX, GPU partition (4× A100 per node)',
      config: {
        system: 'perlmutter',
        totalNodes: 1792,
        load: 0.98,
        maxJobShare: 0.15,
        queueFor: (nodes, walltimeS) => (nodes <= 8 && walltimeS <= 1800 ? 'debug' : 'regular'),
        plannedWindows: periodicWindows(28, 12, 21, 'Perlmutter scheduled maintenance'),
        outageEveryDays: 12,
        degradedEveryDays: 5,
      },
    },
    polaris: {
      facility: 'ALCF',
      fullName: 'Polaris',
      description: 'HPE Apollo 6500, 4× A100 per node',
      config: {
        system: 'polaris',
        totalNodes: 560,
        load: 0.95,
        maxJobShare: 0.5,
        queueFor: polarisQueue,
        plannedWindows: alcfMondays(0, 'Polaris'),
        outageEveryDays: 15,
        degradedEveryDays: 6,
      },
    },
    aurora: {
      facility: 'ALCF',
      fullName: 'Aurora',
      description: 'HPE Cray EX, 6× Intel Max GPU per node',
      config: {
        system: 'aurora',
        totalNodes: 10_624,
        load: 0.95,
        maxJobShare: 0.2,
        queueFor: (nodes, walltimeS) => (nodes <= 2 && walltimeS <= HOUR ? 'debug' : 'prod'),
        plannedWindows: alcfMondays(1, 'Aurora'),
        outageEveryDays: 8,
        degradedEveryDays: 4,
      },
    },
    frontier: {
      facility: 'OLCF',
      fullName: 'Frontier',
      description: 'HPE Cray EX, 4× MI250X per node',
      config: {
        system: 'frontier',
        totalNodes: 9408,
        load: 0.97,
        maxJobShare: 0.15,
        queueFor: (nodes) => (nodes <= 64 ? 'debug' : 'batch'),
        plannedWindows: periodicWindows(21, 10, 14, 'Frontier scheduled maintenance'),
        outageEveryDays: 14,
        degradedEveryDays: 6,
      },
    },
    'beamline-cluster': {
      facility: 'APS',
      fullName: 'Beamline cluster',
      description: 'Slurm cluster at the beamline, 2× A100 per node',
      config: {
        system: 'beamline-cluster',
        totalNodes: 24,
        // Shared by a few beamlines: busy, but queues stay short.
        load: 0.8,
        maxJobShare: 0.5,
        queueFor: () => 'beamline',
        plannedWindows: periodicWindows(14, 8, 7, 'Beamline cluster maintenance reservation'),
        outageEveryDays: 30,
        degradedEveryDays: 10,
      },
      slurm: { cluster: 'beamline', partition: 'beamline', nodePrefix: 'bc' },
    },
  };
}
