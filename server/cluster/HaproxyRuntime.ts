import { connect, type Socket } from 'node:net';

/** Where one HAProxy's runtime API listens (`stats socket … level admin`). */
export type RuntimeAddress = { path: string } | { host: string; port: number };

/** What records, at the load balancer, which gateway serves a run (docs/cluster.md). */
export interface RunRouter {
  /** From now on a run's viewers and producer go to `gateway` while it is up. */
  route(run: string, gateway: string): Promise<void>;
  /** Forgets the run's route if it still names `gateway` (another may have taken it over since). */
  unroute(run: string, gateway: string): Promise<void>;
}

/** Run and gateway ids as they may appear in a runtime API command: no spaces, no `;`. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A map file path HAProxy names the map by. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]{1,400}$/;

/**
 * `unix:/run/haproxy/admin.sock`, `/run/haproxy/admin.sock` or `127.0.0.1:9999`; throws on
 * anything else.
 */
export function parseRuntimeAddress(text: string): RuntimeAddress {
  const trimmed = text.trim();
  const path = trimmed.startsWith('unix:') ? trimmed.slice(5) : trimmed;
  if (path.startsWith('/')) return { path };
  const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(trimmed);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535)
    throw new Error(
      `${JSON.stringify(text)} is not a runtime API address (unix:/path/to/socket or host:port)`,
    );
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** One line of a runtime API answer that means the command failed. */
function failure(answer: string): string | null {
  for (const raw of answer.split('\n')) {
    const line = raw.trim();
    // Empty lines end each command's answer; a del of a missing key, or a get, answers these.
    if (line === '' || line === 'Key not found.' || line.startsWith('type=')) continue;
    return line;
  }
  return null;
}

/**
 * Route by lease: keeps HAProxy's owners map (`run → gateway`) through its runtime API, so the
 * frontend's `use_backend` rules send a run's viewers and producer to the gateway that holds the
 * run's lease, and to the consistent hash when that gateway is down or nothing is recorded
 * (server/cluster/haproxyConfig.ts). Every balancer of an HA pair is told; one that cannot be
 * reached fails the call after the others were told.
 */
export class HaproxyRuntime implements RunRouter {
  private readonly timeoutMs: number;

  constructor(
    private readonly options: { balancers: RuntimeAddress[]; map: string; timeoutMs?: number },
  ) {
    if (!SAFE_PATH.test(options.map))
      throw new Error(
        `owners map ${JSON.stringify(options.map)}: an absolute path of [A-Za-z0-9._/-]`,
      );
    if (options.balancers.length === 0)
      throw new Error('no HAProxy runtime API to keep the map at');
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  async route(run: string, gateway: string): Promise<void> {
    const m = this.options.map;
    // One entry per run: a del first (answered "Key not found." the first time), then the add.
    await this.everywhere(`del map ${m} ${id(run)};add map ${m} ${id(run)} ${id(gateway)}`);
  }

  async unroute(run: string, gateway: string): Promise<void> {
    const m = this.options.map;
    await this.each(async (address) => {
      if ((await this.valueAt(address, run)) === gateway)
        await this.send(address, `del map ${m} ${id(run)}`);
    });
  }

  /** The gateway the first balancer routes `run` to, or null when it has no entry. */
  lookup(run: string): Promise<string | null> {
    return this.valueAt(this.options.balancers[0]!, run);
  }

  private async valueAt(address: RuntimeAddress, run: string): Promise<string | null> {
    const answer = await this.send(address, `get map ${this.options.map} ${id(run)}`);
    return /found=yes.*\bvalue="([^"]*)"/.exec(answer)?.[1] ?? null;
  }

  private everywhere(command: string): Promise<void> {
    return this.each((address) => this.send(address, command).then(() => undefined));
  }

  private async each(op: (address: RuntimeAddress) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(this.options.balancers.map(op));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
  }

  /** One non-interactive runtime API session: the command line, then HAProxy's answer and close. */
  private send(address: RuntimeAddress, command: string): Promise<string> {
    const where = 'path' in address ? address.path : `${address.host}:${address.port}`;
    return new Promise((resolve, reject) => {
      const socket: Socket =
        'path' in address ? connect(address.path) : connect(address.port, address.host);
      let answer = '';
      socket.setEncoding('utf8');
      socket.setTimeout(this.timeoutMs, () =>
        socket.destroy(
          new Error(`HAProxy runtime API at ${where}: no answer in ${this.timeoutMs} ms`),
        ),
      );
      // Non-interactive: HAProxy runs the line, answers and closes (a half-close first could abort it).
      socket.on('connect', () => socket.write(`${command}\n`));
      socket.on('data', (chunk: string) => {
        answer += chunk;
        if (answer.length > 64 * 1024)
          socket.destroy(new Error(`HAProxy runtime API at ${where}: answer too long`));
      });
      socket.on('error', (error) =>
        reject(new Error(`HAProxy runtime API at ${where}: ${error.message}`)),
      );
      socket.on('close', (hadError) => {
        if (hadError) return;
        const bad = failure(answer);
        if (bad) reject(new Error(`HAProxy runtime API at ${where}: ${bad}`));
        else resolve(answer);
      });
    });
  }
}

function id(text: string): string {
  if (!SAFE_ID.test(text)) throw new Error(`${JSON.stringify(text)} cannot go into a map command`);
  return text;
}
