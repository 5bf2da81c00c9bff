#!/usr/bin/env bash
# What `npm run test:scale`, `npm run bench:cluster` and `npm run cluster` need from Debian:
# PostgreSQL (a throwaway cluster is created per run with initdb in a temp directory, as the
# package's unprivileged `postgres` user), HAProxy (started per run with a generated config) and
# Prometheus's promtool (the metrics test's lint).
# Neither is started as a system service here. The Socket.IO adapter is PostgreSQL's, so no
# redis-server is needed. Idempotent: installs only what is missing. Needs root for apt-get.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
# promtool (server/metrics/GatewayMetrics.test.ts lints /metrics with `promtool check metrics`).
[ -x /usr/bin/promtool ] || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
  # Debian's packages start system services; the suite runs its own loopback instances instead.
  for svc in postgresql haproxy prometheus; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
  done
fi
echo "cluster dependencies: $(ls -d /usr/lib/postgresql/*/bin | head -1), $(/usr/sbin/haproxy -v | head -1)"
