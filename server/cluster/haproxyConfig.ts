/**
 * HAProxy configuration for a cluster of gateways (the example in deploy/haproxy.cfg is the same,
 * annotated). Owner routing: the viewer and producer engines carry the run in the handshake query
 * (`?run=`), REST calls for a run name it in their path (`/api/runs/<id>/…`), and HAProxy hashes on
 * it with a consistent hash, so a run's producer, its viewers and the readers of its recording
 * reach the same gateway; when that gateway goes down, all are rehashed to the same next one.
 * Requests for no run (the overview page, the run list) are spread; a command reaching a non-owner
 * is forwarded by the gateway (server/cluster/GatewayCluster.ts).
 *
 * Route by lease (`ownersMap`): the gateways keep a map `run → gateway` through the runtime API
 * (server/cluster/HaproxyRuntime.ts) and the frontend sends a run to the gateway that holds its
 * lease while that gateway is up, to the hash otherwise. Without it, after a failover the owner
 * need not be the run's hash target (docs/cluster.md).
 */
export interface HaproxyConfigOptions {
  /** `host:port` to listen on. */
  bind: string;
  gateways: { name: string; address: string }[];
  /** Health check interval, ms: a dead gateway is out after `fall` × this. */
  checkIntervalMs?: number;
  /** Host header of health checks: one the gateways serve (LOUPE_ALLOWED_HOSTS). */
  checkHost?: string;
  /** Where HAProxy's runtime socket goes, if any (needed for `ownersMap`: the gateways write it). */
  statsSocket?: string;
  /** The owners map file (must exist, may be empty): route by lease. */
  ownersMap?: string;
}

export function haproxyConfig(options: HaproxyConfigOptions): string {
  const inter = options.checkIntervalMs ?? 1000;
  const map = options.ownersMap;
  if (map && !options.statsSocket)
    throw new Error(
      'route by lease needs the runtime socket: the gateways keep the map through it',
    );
  // One backend per gateway, tracking the hashed backend's health check: used while it is up.
  const byLease = map
    ? `  # Route by lease: the gateway holding the run's lease (the map the gateways keep), while up.
${options.gateways
  .map(
    (g) =>
      `  use_backend owner_${g.name} if { var(txn.run),map(${map}) -m str ${g.name} } { nbsrv(owner_${g.name}) gt 0 }`,
  )
  .join('\n')}
`
    : '';
  const owners = map
    ? options.gateways
        .map(
          (g) =>
            `\nbackend owner_${g.name}\n  server ${g.name} ${g.address} track gateways/${g.name}\n`,
        )
        .join('')
    : '';
  return `global
  # Each connection costs two descriptors (client and gateway); stay under a default ulimit.
  maxconn 4000
${options.statsSocket ? `  stats socket ${options.statsSocket} mode 600 level admin\n` : ''}
defaults
  mode http
  option http-server-close
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  # WebSockets: an upgraded connection lives as long as the viewer or producer stays.
  timeout tunnel 1h
  # No redispatch: a client whose gateway just died must wait for the health check to take it out
  # (≤ fall × inter), then the consistent hash sends the run's producer and its viewers to the same
  # next gateway. Redispatched, the producer could land on one gateway and its viewers on another.
  retries 2

frontend loupe
  bind ${options.bind}
  # The run a request is for: the Socket.IO handshake's ?run=, else a /api/runs/<id>/… path (the
  # timeline's recording, commands), so a run's REST calls reach the gateway its sockets do.
  http-request set-var(txn.run) url_param(run)
  http-request set-var(txn.run) path,field(4,/) if { path_beg /api/runs/ } !{ var(txn.run) -m found }
${byLease}  default_backend gateways

backend gateways
  # Owner routing: the run picks the gateway; requests for no run are spread.
  balance hash var(txn.run)
  hash-type consistent
  # The gateways check the Host header of every request, health checks included.
  option httpchk
  http-check send meth GET uri /api/health/ready ver HTTP/1.1 hdr Host ${options.checkHost ?? 'localhost'}
  http-check expect status 200
  # A gateway is out after two failed checks; a slow answer on a busy machine is not a failure.
  timeout check 2s
  default-server inter ${inter} fastinter ${inter} downinter ${inter} fall 2 rise 2
${options.gateways.map((g) => `  server ${g.name} ${g.address} check`).join('\n')}
${owners}`;
}
