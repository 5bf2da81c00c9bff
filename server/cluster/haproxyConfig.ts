/**
 * HAProxy configuration for a cluster of gateways (the example in deploy/haproxy.cfg is the same,
 * annotated). Owner routing: the viewer and producer engines carry the run in the handshake query
 * (`?run=`), and HAProxy hashes on it with a consistent hash, so a run's producer and its viewers
 * reach the same gateway; when that gateway goes down, both are rehashed to the same next one.
 * Requests without a run (the overview page, REST) go round robin; a command reaching a non-owner
 * is forwarded by the gateway (server/cluster/GatewayCluster.ts).
 */
export interface HaproxyConfigOptions {
  /** `host:port` to listen on. */
  bind: string;
  gateways: { name: string; address: string }[];
  /** Health check interval, ms: a dead gateway is out after `fall` × this. */
  checkIntervalMs?: number;
  /** Host header of health checks: one the gateways serve (LOUPE_ALLOWED_HOSTS). */
  checkHost?: string;
  /** Where HAProxy's runtime socket goes, if any. */
  statsSocket?: string;
}

export function haproxyConfig(options: HaproxyConfigOptions): string {
  const inter = options.checkIntervalMs ?? 1000;
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
  default_backend gateways

backend gateways
  # Owner routing: the run in the handshake query picks the gateway; no run, round robin.
  balance url_param run
  hash-type consistent
  # The gateways check the Host header of every request, health checks included.
  option httpchk
  http-check send meth GET uri /api/health/ready ver HTTP/1.1 hdr Host ${options.checkHost ?? 'localhost'}
  http-check expect status 200
  # A gateway is out after two failed checks; a slow answer on a busy machine is not a failure.
  timeout check 2s
  default-server inter ${inter} fastinter ${inter} downinter ${inter} fall 2 rise 2
${options.gateways.map((g) => `  server ${g.name} ${g.address} check`).join('\n')}
`;
}
