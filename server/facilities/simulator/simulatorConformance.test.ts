import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { IriAdapter } from '../adapters/IriAdapter';
import { startFacilitySimulator, type FacilitySimulator } from './startFacilitySimulator';

/**
 * The simulator's IRI answers validated against the published OpenAPI files (the same ones the
 * adapter's types are generated from), so the fake cannot drift from the real API.
 */
type Spec = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
};
const specs: Record<'v1' | 'v2', Spec> = {
  v1: parseYaml(
    readFileSync(new URL('../iri/specs/iri_all_spec_v1.yaml', import.meta.url), 'utf8'),
  ) as Spec,
  v2: parseYaml(
    readFileSync(new URL('../iri/specs/iri_all_spec_v2.yaml', import.meta.url), 'utf8'),
  ) as Spec,
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
for (const [v, spec] of Object.entries(specs)) ajv.addSchema(spec as object, `iri-${v}`);

/** The spec's schema for one answer, by path template, method and status. */
function responseValidator(v: 'v1' | 'v2', path: string, method: string, status: number) {
  const op = specs[v].paths[`/api/${v}${path}`]?.[method];
  const content = op?.responses[String(status)]?.content?.['application/json'];
  if (!content) throw new Error(`${v} ${method} ${path} ${status} is not in the spec`);
  // Compile the schema within the spec document so its $refs resolve.
  const pointer = `/paths/${`/api/${v}${path}`.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses/${status}/content/application~1json/schema`;
  return ajv.getSchema(`iri-${v}#${pointer}`) as ValidateFunction;
}
function jobSpecValidator(v: 'v1' | 'v2') {
  return ajv.getSchema(`iri-${v}#/components/schemas/JobSpec`) as ValidateFunction;
}

function conforms(validate: ValidateFunction, body: unknown): string[] {
  return validate(body)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

let sim: FacilitySimulator;
beforeAll(async () => {
  sim = await startFacilitySimulator({
    seed: 3,
    manualClock: true,
    startTime: Date.UTC(2025, 0, 8, 12),
    tokens: ['tok'],
  });
  // Incidents of every kind the simulator makes: announced, running, finished.
  sim.addWindow('perlmutter', { startInS: 3600, durationS: 7200 });
  sim.addWindow('polaris', { startInS: 0, durationS: 600, kind: 'unplanned' });
  sim.addWindow('frontier', { startInS: 0, durationS: 60, kind: 'degraded' });
  sim.advance(120);
});
afterAll(() => sim.close());

const get = async (url: string) => {
  const r = await fetch(url, { headers: { authorization: 'Bearer tok' } });
  return { status: r.status, body: (await r.json()) as unknown };
};
const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(url, {
    method: 'POST',
    headers: { authorization: 'Bearer tok', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as unknown };
};

const job = {
  name: 'loupe-run-1',
  executable: 'loupe-recon',
  arguments: ['--run', 'run-1'],
  nodes: 2,
  walltimeS: 1800,
  account: 'm1234',
  queue: 'regular',
  customAttributes: { constraint: 'gpu' },
  directory: '/pscratch/loupe/run-1',
  stdoutPath: '/pscratch/loupe/run-1/out',
  stderrPath: '/pscratch/loupe/run-1/err',
  idempotencyKey: 'k1',
};

describe.each(['v1', 'v2'] as const)('simulator against IRI %s', (v) => {
  it.each(['nersc', 'alcf', 'olcf'])('%s: status, incidents, events, facility', async (f) => {
    const base = `${sim.urls.iri[f.toUpperCase() as 'NERSC']}/api/${v}`;
    const resources = await get(`${base}/status/resources`);
    expect(resources.status).toBe(200);
    expect(conforms(responseValidator(v, '/status/resources', 'get', 200), resources.body)).toEqual(
      [],
    );
    expect((resources.body as unknown[]).length).toBeGreaterThan(0);
    // The validator has teeth: a resource without its required fields is refused.
    const [first] = resources.body as Record<string, unknown>[];
    const { self_uri: _s, ...broken } = first!;
    expect(conforms(responseValidator(v, '/status/resources', 'get', 200), [broken])).toEqual([
      "/0 must have required property 'self_uri'",
    ]);
    const incidents = await get(`${base}/status/incidents`);
    expect(conforms(responseValidator(v, '/status/incidents', 'get', 200), incidents.body)).toEqual(
      [],
    );
    const events = await get(`${base}/status/events`);
    expect(conforms(responseValidator(v, '/status/events', 'get', 200), events.body)).toEqual([]);
    const facility = await get(`${base}/facility`);
    expect(conforms(responseValidator(v, '/facility', 'get', 200), facility.body)).toEqual([]);
    const missing = await get(`${base}/status/resources/nope`);
    expect(missing.status).toBe(404);
    expect(
      conforms(responseValidator(v, '/status/resources/{resource_id}', 'get', 404), missing.body),
    ).toEqual([]);
  });

  it('job submission: the JobSpec Loupe sends and the Job the simulator answers', async () => {
    const spec = IriAdapter.jobSpec(job);
    expect(conforms(jobSpecValidator(v), spec)).toEqual([]);
    const base = `${sim.urls.iri.NERSC}/api/${v}`;
    const [resource] = (await get(`${base}/status/resources`)).body as { id: string }[];
    const submitted = await post(`${base}/compute/job/${resource!.id}`, spec, {
      'idempotency-key': `${v}-key`,
    });
    expect(submitted.status).toBe(200);
    expect(
      conforms(responseValidator(v, '/compute/job/{resource_id}', 'post', 200), submitted.body),
    ).toEqual([]);
    const id = (submitted.body as { id: string }).id;
    const status = await get(`${base}/compute/status/${resource!.id}/${id}`);
    expect(
      conforms(
        responseValidator(v, '/compute/status/{resource_id}/{job_id}', 'get', 200),
        status.body,
      ),
    ).toEqual([]);
    if (v === 'v2') {
      // The same key and body is the same job; another body under that key is refused.
      const again = await post(`${base}/compute/job/${resource!.id}`, spec, {
        'idempotency-key': 'v2-key',
      });
      expect((again.body as { id: string }).id).toBe(id);
      const other = await post(
        `${base}/compute/job/${resource!.id}`,
        { ...spec, name: 'other' },
        { 'idempotency-key': 'v2-key' },
      );
      expect(other.status).toBe(422);
      expect(
        conforms(responseValidator(v, '/compute/job/{resource_id}', 'post', 422), other.body),
      ).toEqual([]);
      // No project anywhere: 400 with an RFC 9457 problem saying so.
      const { account: _a, ...noAccount } = job;
      const refused = await post(
        `${base}/compute/job/${resource!.id}`,
        IriAdapter.jobSpec(noAccount as typeof job),
      );
      expect(refused.status).toBe(400);
      expect(
        conforms(responseValidator(v, '/compute/job/{resource_id}', 'post', 400), refused.body),
      ).toEqual([]);
      expect((refused.body as { detail: string }).detail).toMatch(/project\/account/);
    }
  });
});
