import { SourceError } from '../adapters/fetchJson';
import {
  type Parsed,
  parseJobs,
  parseNodes,
  parsePartitions,
  parsePings,
  parseReservations,
  parseSubmitted,
  SlurmAnswerError,
  type SlurmApiVersion,
  slurmErrors,
  type SlurmJob,
  type SlurmJobRequest,
  type SlurmNode,
  type SlurmPartition,
  type SlurmPing,
  type SlurmReservation,
  submitBody,
} from './slurmApi';

/** A token, or a function asked before every request (a file re-read, a refreshed grant). */
export type SlurmToken = string | (() => string | null | Promise<string | null>);

export interface SlurmRestClientOptions {
  /** slurmrestd's root, without `/slurm/v0.0.NN`, e.g. http://127.0.0.1:6820 */
  baseUrl: string;
  version: SlurmApiVersion;
  /** The Slurm user the JWT was issued to (X-SLURM-USER-NAME). */
  user: string;
  /** The JWT (X-SLURM-USER-TOKEN), from `scontrol token` or the site's issuer. */
  token: SlurmToken;
  timeoutMs?: number;
}

/** Answers larger than this are refused: a site's full job list is a few MB at most. */
const MAX_BODY_BYTES = 32 * 2 ** 20;

/**
 * A slurmrestd client: JWT headers, one API version, every answer validated and normalised by
 * slurmApi. Failures are SourceErrors with a short reason (timeout, HTTP status, Slurm's own
 * `errors`); list answers keep their good entries and report the dropped ones.
 */
export class SlurmRestClient {
  readonly version: SlurmApiVersion;

  constructor(private readonly o: SlurmRestClientOptions) {
    this.version = o.version;
  }

  private get root(): string {
    return `${this.o.baseUrl.replace(/\/+$/, '')}/slurm/${this.o.version}`;
  }

  ping(): Promise<Parsed<SlurmPing>> {
    return this.get('/ping', (b) => parsePings(this.version, b));
  }

  nodes(): Promise<Parsed<SlurmNode>> {
    return this.get('/nodes', (b) => parseNodes(this.version, b));
  }

  partitions(): Promise<Parsed<SlurmPartition>> {
    return this.get('/partitions', (b) => parsePartitions(this.version, b));
  }

  jobs(): Promise<Parsed<SlurmJob>> {
    return this.get('/jobs', (b) => parseJobs(this.version, b));
  }

  reservations(): Promise<Parsed<SlurmReservation>> {
    return this.get('/reservations', (b) => parseReservations(this.version, b));
  }

  /** One job; null when slurmctld no longer knows it (ended longer ago than MinJobAge). */
  async job(id: string): Promise<SlurmJob | null> {
    const answer = await this.request('GET', `/job/${encodeURIComponent(id)}`);
    if (answer.status === 200 || answer.status === 500) {
      // slurmrestd 22.05 answers an unknown id with HTTP 500 and "Invalid job id specified".
      const why = slurmErrors(answer.body);
      if (why && /invalid job id|unable to find/i.test(why)) return null;
    }
    this.check(answer);
    const parsed = this.parse(answer.body, (b) => parseJobs(this.version, b));
    return parsed.items.find((j) => j.id === id) ?? null;
  }

  /** Submits a batch job; answers its id. */
  async submit(job: SlurmJobRequest): Promise<{ jobId: string; message: string | null }> {
    const answer = await this.request('POST', '/job/submit', submitBody(this.version, job));
    if (answer.status >= 400 && answer.status !== 500) this.check(answer);
    return this.parse(answer.body, (b) => parseSubmitted(this.version, b));
  }

  /** Cancels a job (SIGKILL after KillWait, as scancel does). */
  async cancel(id: string): Promise<void> {
    const answer = await this.request('DELETE', `/job/${encodeURIComponent(id)}`);
    this.check(answer);
  }

  private async get<T>(path: string, parse: (body: unknown) => T): Promise<T> {
    const answer = await this.request('GET', path);
    this.check(answer);
    return this.parse(answer.body, parse);
  }

  private parse<T>(body: unknown, parse: (body: unknown) => T): T {
    try {
      return parse(body);
    } catch (error) {
      if (error instanceof SlurmAnswerError) throw new SourceError(error.message);
      throw error;
    }
  }

  /** A failing HTTP status becomes a SourceError quoting Slurm's errors when it gave any. */
  private check(answer: { status: number; body: unknown }): void {
    if (answer.status >= 200 && answer.status < 300) return;
    const why = slurmErrors(answer.body);
    const auth = answer.status === 401 || answer.status === 403;
    throw new SourceError(
      `${auth ? 'credentials refused: ' : ''}HTTP ${answer.status}${why ? `: ${why}` : ''}`.slice(
        0,
        200,
      ),
      auth,
    );
  }

  private async token(): Promise<string> {
    const t = typeof this.o.token === 'function' ? await this.o.token() : this.o.token;
    if (!t) throw new SourceError('no Slurm token available', true);
    return t;
  }

  private async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const timeoutMs = this.o.timeoutMs ?? 5000;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-slurm-user-name': this.o.user,
      'x-slurm-user-token': await this.token(),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.root}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError')
        throw new SourceError(`no answer within ${timeoutMs} ms`);
      const cause =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
      throw new SourceError(`unreachable${cause ? `: ${cause}` : ''}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new SourceError(`answer cut off or too slow (HTTP ${response.status})`);
    }
    if (text.length > MAX_BODY_BYTES)
      throw new SourceError(`answer too large (${text.length} bytes)`);
    if (text.trimStart().startsWith('<'))
      throw new SourceError(`answered HTML, not JSON (HTTP ${response.status})`);
    let parsed: unknown = null;
    if (text.trim().length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new SourceError(`invalid JSON (HTTP ${response.status}, ${text.length} bytes)`);
      }
    }
    return { status: response.status, body: parsed };
  }
}
