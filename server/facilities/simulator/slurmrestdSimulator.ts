import { z } from 'zod';
import { queueFeatures } from '../queueFeatures';
import type { SchedulerModel, SimJob } from './SchedulerModel';
import type { SimSystem } from './systems';

/**
 * slurmrestd's v0.0.38 API (what Debian 12's Slurm 22.05.8 speaks) over a SchedulerModel: the
 * shapes, status codes and error texts of the real daemon as recorded in
 * server/facilities/slurm/fixtures, for the beamline's own cluster in the embedded default.
 *
 * Unplanned outages take nodes down (NOT_RESPONDING), degraded spells drain some, a planned window
 * is a MAINT reservation whose nodes carry the MAINTENANCE flag while it runs.
 */

/** Ids Slurm gives Loupe's jobs: the model's `…-xN` becomes 2 000 000 + N (load jobs are 1 000 000 + N). */
const EXTERNAL_BASE = 2_000_000;

export function slurmJobId(modelId: string): string {
  const m = /-x(\d+)$/.exec(modelId);
  return m ? String(EXTERNAL_BASE + Number(m[1])) : modelId;
}

export function modelJobId(system: string, slurmId: string): string {
  const n = Number(slurmId);
  return Number.isInteger(n) && n > EXTERNAL_BASE ? `${system}-x${n - EXTERNAL_BASE}` : slurmId;
}

const META = {
  plugin: { type: 'openapi/v0.0.38', name: 'Slurm OpenAPI v0.0.38' },
  Slurm: { version: { major: 22, micro: 8, minor: 5 }, release: '22.05.8' },
};

/** The keys v0.0.38's job_properties defines (slurmrestd 22.05.8 `GET /openapi/v3`). */
const JOB_KEYS = new Set(
  (
    'account account_gather_frequency argv array batch_features begin_time burst_buffer ' +
    'cluster_constraint comment constraints container core_specification cores_per_socket ' +
    'cpu_binding cpu_binding_hint cpu_frequency cpus_per_gpu cpus_per_task ' +
    'current_working_directory deadline delay_boot dependency distribution environment exclusive ' +
    'get_user_environment gres gres_flags gpu_binding gpu_frequency gpus gpus_per_node ' +
    'gpus_per_socket gpus_per_task hold kill_on_invalid_dependency licenses mail_type mail_user ' +
    'mcs_label memory_binding memory_per_cpu memory_per_gpu memory_per_node ' +
    'minimum_cpus_per_node minimum_nodes name nice no_kill nodes open_mode oversubscribe ' +
    'partition prefer priority qos requeue reservation signal sockets_per_node spread_job ' +
    'standard_error standard_input standard_output tasks tasks_per_core tasks_per_node ' +
    'tasks_per_socket thread_specification threads_per_core time_limit time_minimum ' +
    'wait_all_nodes wckey'
  ).split(' '),
);

const Submission = z.object({
  script: z.string(),
  job: z
    .object({
      name: z.string().optional(),
      nodes: z
        .union([z.number().int().min(1), z.array(z.number().int().min(1)).min(1).max(2)])
        .optional(),
      time_limit: z.number().int().min(1).optional(),
      partition: z.string().optional(),
      account: z.string().optional(),
      current_working_directory: z.string().optional(),
      environment: z.record(z.string(), z.string()).optional(),
    })
    .passthrough(),
});

export interface SlurmrestdSimulatorOptions {
  id: string;
  system: SimSystem;
  model: SchedulerModel;
  /** Whether a JWT is one the simulator issued. */
  tokenValid(token: string): boolean;
}

type Answer = { status: number; body: unknown };

export function slurmrestdSimulator(o: SlurmrestdSimulatorOptions) {
  const { model } = o;
  const slurm = o.system.slurm!;
  const total = model.config.totalNodes;
  const nodeName = (i: number) => `${slurm.nodePrefix}${String(i + 1).padStart(2, '0')}`;
  const nodeRange = `${slurm.nodePrefix}[01-${String(total).padStart(2, '0')}]`;
  /** Loupe's jobs, also after the model forgets them (slurmctld keeps them MinJobAge). */
  const mine = new Map<string, SimJob>();

  const ok = (body: Record<string, unknown>): Answer => ({
    status: 200,
    body: { meta: META, errors: [], ...body },
  });
  const fail = (status: number, errors: Record<string, unknown>[]): Answer => ({
    status,
    body: { meta: META, errors },
  });

  /** Which job holds each node: running jobs fill nodes in order, after the unavailable ones. */
  function owners(): (SimJob | null)[] {
    const owner: (SimJob | null)[] = new Array<SimJob | null>(total).fill(null);
    let cursor = total - model.availableNodes();
    for (const j of model.running)
      for (let k = 0; k < j.nodes && cursor < total; k++) owner[cursor++] = j;
    return owner;
  }

  /** Slurm's compressed host list of node indices, e.g. bc[03-05,09]. */
  function hostlist(indices: number[]): string {
    if (indices.length === 0) return '';
    const pad = (i: number) => String(i + 1).padStart(2, '0');
    const parts: string[] = [];
    let from = indices[0]!;
    let prev = from;
    for (const i of [...indices.slice(1), -2]) {
      if (i === prev + 1) {
        prev = i;
        continue;
      }
      parts.push(from === prev ? pad(from) : `${pad(from)}-${pad(prev)}`);
      from = prev = i;
    }
    return indices.length === 1 ? nodeName(indices[0]!) : `${slurm.nodePrefix}[${parts.join(',')}]`;
  }

  function nodes() {
    const active = model.activeWindows();
    const maint = active.some((w) => w.kind === 'planned');
    const down = active.some((w) => w.kind === 'unplanned');
    const unavailable = total - model.availableNodes();
    return owners().map((job, i) => {
      let state = job ? 'allocated' : 'idle';
      const flags: string[] = [];
      let reason = '';
      if (maint) {
        flags.push('MAINTENANCE', 'RESERVED');
      } else if (i < unavailable) {
        if (down) {
          state = 'down';
          flags.push('NOT_RESPONDING');
          reason = 'Not responding';
        } else {
          flags.push('DRAIN');
          reason = 'GPU Xid 79: fallen off the bus';
        }
      }
      return {
        architecture: 'x86_64',
        boards: 1,
        cores: 32,
        cpus: 64,
        features: 'gpu,a100',
        active_features: 'gpu,a100',
        gres: 'gpu:a100:2',
        name: nodeName(i),
        address: nodeName(i),
        hostname: nodeName(i),
        state,
        state_flags: flags,
        partitions: [slurm.partition],
        real_memory: 512_000,
        reason,
        reason_changed_at: reason ? Math.floor(model.statusSince()) : 0,
        slurmd_version: '22.05.8',
        alloc_cpus: job ? 64 : 0,
        idle_cpus: job ? 0 : 64,
      };
    });
  }

  function slurmState(j: SimJob): string {
    switch (j.state) {
      case 'queued':
        return 'PENDING';
      case 'running':
        return 'RUNNING';
      case 'canceled':
        return 'CANCELLED';
      case 'failed':
        return 'FAILED';
      case 'completed':
        // A job killed at its limit is TIMEOUT to Slurm.
        return j.start !== null && j.end !== null && j.end - j.start >= j.walltimeS
          ? 'TIMEOUT'
          : 'COMPLETED';
    }
  }

  function job(j: SimJob, expectedStart: number | null, owner: (SimJob | null)[]) {
    const state = slurmState(j);
    const maint = model.activeWindows().some((w) => w.kind === 'planned');
    const start = j.start ?? expectedStart ?? 0;
    return {
      account: j.project.toLowerCase(),
      batch_flag: true,
      cluster: slurm.cluster,
      job_id: Number(slurmJobId(j.id)),
      job_state: state,
      name: j.name,
      user_name: j.external ? 'loupe' : j.project.toLowerCase(),
      partition: slurm.partition,
      node_count: j.nodes,
      nodes: hostlist(owner.flatMap((o, i) => (o === j ? [i] : []))),
      time_limit: Math.ceil(j.walltimeS / 60),
      submit_time: Math.floor(j.submit),
      eligible_time: Math.floor(j.submit),
      start_time: Math.floor(start),
      end_time: j.end !== null ? Math.floor(j.end) : start ? Math.floor(start + j.walltimeS) : 0,
      state_reason:
        state !== 'PENDING'
          ? 'None'
          : maint
            ? 'ReqNodeNotAvail, Reserved for maintenance'
            : expectedStart !== null && model.queue[0] === j
              ? 'Resources'
              : 'Priority',
      exit_code: state === 'FAILED' ? 1 : 0,
      current_working_directory: '/home/loupe',
    };
  }

  /** The scheduler's own start estimates for the first pending jobs, as backfill would give. */
  function estimates(): Map<string, number> {
    const out = new Map<string, number>();
    const running = model.running
      .filter((r) => r.start !== null)
      .map((r) => ({ nodes: r.nodes, start: r.start!, walltimeS: r.walltimeS }));
    // Backfill tests a bounded number of jobs per cycle (bf_max_job_test); so does this.
    const BACKFILL_DEPTH = 50;
    model.queue.slice(0, BACKFILL_DEPTH).forEach((j, k) => {
      const ahead = model.queue.slice(0, k);
      const f = queueFeatures(
        { now: model.now, totalNodes: model.availableNodes() || total, running, queued: ahead },
        { nodes: j.nodes, walltimeS: j.walltimeS },
      );
      if (f.simulatedWaitFullS !== null) out.set(j.id, model.now + f.simulatedWaitFullS);
    });
    return out;
  }

  /** Answers `/slurm/v0.0.38/<rest>`, or null for a path slurmrestd would not know. */
  return function handle(
    method: string,
    rest: string,
    headers: { user?: string | undefined; token?: string | undefined },
    body: () => Promise<string>,
  ): Promise<Answer> | Answer | null {
    if (!headers.user || !headers.token)
      return { status: 401, body: { meta: META, errors: [{ error: 'Authentication failure' }] } };
    // slurmrestd 22.05 with SLURM_JWT=daemon: a bad token fails slurmctld's RPC, not the HTTP auth.
    if (!o.tokenValid(headers.token))
      return fail(500, [
        {
          description: 'slurmctld config is unable to load',
          error_number: -1,
          error: 'Unspecified error',
          source: 'slurm_load_ctl_conf',
        },
      ]);
    let m: RegExpExecArray | null;
    if (rest === '/ping' && method === 'GET')
      return ok({
        pings: [{ hostname: `${slurm.nodePrefix}-ctl`, ping: 'UP', status: 0, mode: 'primary' }],
      });
    if (rest === '/nodes' && method === 'GET') return ok({ nodes: nodes() });
    if (rest === '/partitions' && method === 'GET')
      return ok({
        partitions: [
          {
            flags: ['default'],
            name: slurm.partition,
            nodes: nodeRange,
            state: 'UP',
            total_cpus: total * 64,
            total_nodes: total,
            max_time_limit: 720,
            maximum_nodes_per_job: Math.floor(total * model.config.maxJobShare),
            priority_tier: 1,
            tres: `cpu=${total * 64},mem=${total * 512_000}M,node=${total},gres/gpu=${total * 2}`,
          },
        ],
      });
    if (rest === '/reservations' && method === 'GET')
      return ok({
        reservations: model.upcomingPlanned().map((w) => ({
          name: `maint_${w.id.replace(/\W/g, '_')}`,
          flags: ['MAINT', 'IGNORE_JOBS', 'SPEC_NODES', 'ALL_NODES'],
          accounts: '',
          core_count: total * 32,
          start_time: Math.floor(w.start),
          end_time: Math.floor(w.end),
          node_count: total,
          node_list: nodeRange,
          partition: '',
          users: 'root',
          tres: `cpu=${total * 64}`,
        })),
      });
    if (rest === '/jobs' && method === 'GET') {
      const est = estimates();
      const owner = owners();
      return ok({
        jobs: [...model.running, ...model.queue].map((j) => job(j, est.get(j.id) ?? null, owner)),
      });
    }
    if (rest === '/job/submit' && method === 'POST')
      return (async () => {
        let data: unknown;
        try {
          data = JSON.parse(await body());
        } catch {
          return fail(400, [{ error: 'Unable to parse query', error_code: 9001 }]);
        }
        const parsed = Submission.safeParse(data);
        if (!parsed.success)
          return fail(400, [{ error: 'Failure during parsing', error_code: 9001 }]);
        const spec = parsed.data.job;
        const unknown = Object.keys(spec).find((k) => !JOB_KEYS.has(k));
        if (unknown)
          return fail(500, [
            { description: `Unknown key "${unknown}"`, source: 'hsearch_r' },
            { error_code: 9001, error: 'Failure during parsing' },
          ]);
        if (!spec.environment)
          return fail(400, [
            { error: 'environment must be set', error_code: 2127 },
            { error_code: 9001, error: 'Failure during parsing' },
          ]);
        if (spec.partition && spec.partition !== slurm.partition)
          return fail(500, [{ error_code: 2000, error: 'Invalid partition name specified' }]);
        const nodes = Array.isArray(spec.nodes) ? spec.nodes[0]! : (spec.nodes ?? 1);
        if (nodes > total)
          return fail(500, [
            { error_code: 2014, error: 'Requested node configuration is not available' },
          ]);
        const j = model.submit({
          nodes,
          walltimeS: (spec.time_limit ?? 60) * 60,
          queue: slurm.partition,
          project: spec.account,
          name: spec.name,
        });
        mine.set(j.id, j);
        return ok({ job_id: Number(slurmJobId(j.id)), step_id: 'BATCH', job_submit_user_msg: '' });
      })();
    if ((m = /^\/job\/(\d+)$/.exec(rest))) {
      const id = modelJobId(model.config.system, m[1]!);
      const j = model.jobs.get(id) ?? mine.get(id);
      if (!j)
        return fail(500, [
          {
            description: `Unable to find JobId=${m[1]}`,
            error_number: 2017,
            error: 'Invalid job id specified',
            source: 'slurm_load_job',
          },
        ]);
      if (method === 'GET') return ok({ jobs: [job(j, estimates().get(j.id) ?? null, owners())] });
      if (method === 'DELETE') {
        model.cancel(j.id);
        return ok({});
      }
    }
    return null;
  };
}
