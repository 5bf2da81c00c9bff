#!/usr/bin/env bash
# A real single-node Slurm on this machine, from Debian's packages, for the slurmrestd integration
# tests (server/facilities/slurm/slurm.integration.test.ts) and for trying the local-cluster site:
# munged, slurmctld, slurmd, and slurmrestd on 127.0.0.1 with JWT auth. Idempotent: a daemon that
# already answers is left alone; the configuration is rewritten only when it differs.
#
# Needs root (it installs packages, writes /etc/slurm and starts the daemons). Jobs run as the
# unprivileged user `loupe`; slurmrestd runs as the unprivileged user `slurmrestd` (it refuses root
# and SlurmUser). cgroup-free (proctrack/linuxproc, task/none), so it works in containers.
#
#   scripts/ci/startSlurm.sh          # start (or check) everything, print how to reach it
#   scripts/ci/startSlurm.sh --stop   # stop the daemons this script starts
#
# Then:  export LOUPE_SLURM_URL=http://127.0.0.1:6820 LOUPE_SLURM_USER=loupe
#        export LOUPE_SLURM_TOKEN_FILE=/run/loupe-slurm/loupe.jwt   (written here, 24 h), or as root
#        export LOUPE_SLURM_TOKEN=$(scontrol token username=loupe lifespan=3600 | cut -d= -f2)
set -euo pipefail

PORT="${LOUPE_SLURMRESTD_PORT:-6820}"
JOB_USER="${LOUPE_SLURM_JOB_USER:-loupe}"
REST_USER=slurmrestd
CLUSTER=beamline
NODE=beamline-node1
PARTITION=beamline
CONF=/etc/slurm/slurm.conf
STATE=/var/spool/slurmctld
JWT_KEY="$STATE/jwt_hs256.key"
LOGS=/var/log/slurm
RUN=/run/loupe-slurm

log() { printf 'startSlurm: %s\n' "$*" >&2; }

# Stops the daemon whose pid file is $1, waiting (up to 15 s) until it has exited.
stop_daemon() {
  [[ -s "$1" ]] || return 0
  local pid
  pid="$(cat "$1")"
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log "stopped $(basename "$1" .pid)"
}

if [[ "${1:-}" == "--stop" ]]; then
  for pidfile in "$RUN/slurmrestd.pid" /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
    stop_daemon "$pidfile"
  done
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  if sudo -n true 2>/dev/null; then exec sudo -n --preserve-env=LOUPE_SLURMRESTD_PORT,LOUPE_SLURM_JOB_USER "$0" "$@"; fi
  log "must run as root (installs packages, writes $CONF, starts daemons)"
  exit 1
fi

# ---- packages (the dpkg lock may be held by another install on a shared machine: retry) ----
# Debian's 22.05.8-4+deb12u3 moved auth_jwt.so (slurmctld's side of JWT) into its own package.
PACKAGES=(slurm-wlm slurmrestd munge)
if ! dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1 && ! apt-cache show slurm-wlm-jwt-plugin >/dev/null 2>&1; then
  apt-get update >/dev/null 2>&1 || true # a fresh machine may hold package lists older than the split
fi
if apt-cache show slurm-wlm-jwt-plugin >/dev/null 2>&1; then PACKAGES+=(slurm-wlm-jwt-plugin); fi
if ! dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null; then break; fi
    if [[ $attempt == 10 ]]; then log "apt-get install failed"; exit 1; fi
    log "apt-get busy or failing (attempt $attempt); retrying in 15 s"
    apt-get update >/dev/null 2>&1 || true
    sleep 15
  done
fi

# ---- users ----
id "$JOB_USER" >/dev/null 2>&1 || useradd --system --create-home --home-dir "/var/lib/$JOB_USER" --shell /bin/bash "$JOB_USER"
id "$REST_USER" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$REST_USER"

mkdir -p "$STATE" /var/spool/slurmd "$LOGS" "$RUN" /run/munge "/var/tmp/loupe-slurm-jobs"
chown slurm:slurm "$STATE" "$LOGS"
chown munge:munge /run/munge
# Jobs write their stdout/stderr here (as $JOB_USER).
chown "$JOB_USER": /var/tmp/loupe-slurm-jobs

# ---- munge ----
if [[ ! -s /etc/munge/munge.key ]]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
  log "munged started"
fi

# ---- JWT key (HS256, read by slurmctld as SlurmUser) ----
if [[ ! -s "$JWT_KEY" ]]; then
  dd if=/dev/urandom of="$JWT_KEY" bs=32 count=1 status=none
  chown slurm:slurm "$JWT_KEY"
  chmod 0600 "$JWT_KEY"
fi

# ---- slurm.conf: one node, this machine's real CPUs and memory (slurmd -C) ----
hw="$(slurmd -C | head -n1 | sed -E 's/^NodeName=[^ ]+ //')"
want="$(cat <<EOF
# Written by scripts/ci/startSlurm.sh: a single-node cluster on loopback for Loupe's tests.
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$JWT_KEY
StateSaveLocation=$STATE
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
# No cgroups: containers and CI machines rarely delegate them.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Backfill every 5 s (default 30): pending jobs get Slurm's start estimate within a test's patience.
SchedulerParameters=bf_interval=5
MpiDefault=none
ReturnToService=2
# Jobs the tests cancel end quickly.
KillWait=5
MinJobAge=300
NodeName=$NODE NodeHostname=$(hostname -s) NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=12:00:00 State=UP
EOF
)"
if [[ ! -f "$CONF" ]] || [[ "$(cat "$CONF")" != "$want" ]]; then
  printf '%s\n' "$want" >"$CONF"
  chmod 0644 "$CONF"
  log "wrote $CONF"
  # A changed configuration needs the daemons restarted.
  for pidfile in "$RUN/slurmrestd.pid" /run/slurmd.pid /run/slurmctld.pid; do stop_daemon "$pidfile"; done
fi

alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ! alive /run/slurmctld.pid; then
  /usr/sbin/slurmctld -f "$CONF"
  log "slurmctld started"
fi
for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
scontrol ping | grep -q UP || { log "slurmctld does not answer; see $LOGS/slurmctld.log"; exit 1; }

if ! alive /run/slurmd.pid; then
  /usr/sbin/slurmd -f "$CONF" -N "$NODE"
  log "slurmd started"
fi
# The node registers within a few seconds; a node left DOWN by an earlier crash is resumed.
for _ in $(seq 100); do
  state="$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)"
  [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]] && break
  if [[ "$state" == down* || "$state" == drain* ]]; then scontrol update NodeName="$NODE" State=RESUME || true; fi
  sleep 0.2
done

if ! alive "$RUN/slurmrestd.pid"; then
  # slurmrestd refuses root; SLURM_JWT=daemon makes it present each request's JWT to slurmctld.
  chown "$REST_USER" "$RUN"
  # From /: slurmrestd stays in the foreground with our working directory, and a job submit dies
  # on getcwd() once that checkout is removed (a CI clone deleted under a long-lived daemon).
  (cd / && exec runuser -u "$REST_USER" -- env SLURM_JWT=daemon SLURM_CONF="$CONF" \
    /usr/sbin/slurmrestd -a rest_auth/jwt -s openapi/v0.0.38,openapi/v0.0.37 "127.0.0.1:$PORT" \
    >>"$LOGS/slurmrestd.log" 2>&1) &
  echo $! >"$RUN/slurmrestd.pid"
  disown || true
  log "slurmrestd started on 127.0.0.1:$PORT"
fi
token="$(scontrol token username="$JOB_USER" lifespan=600 | cut -d= -f2)"
for _ in $(seq 100); do
  if curl -fs -o /dev/null -H "X-SLURM-USER-NAME: $JOB_USER" -H "X-SLURM-USER-TOKEN: $token" \
    "http://127.0.0.1:$PORT/slurm/v0.0.38/ping"; then
    break
  fi
  sleep 0.2
done
curl -fsS -o /dev/null -H "X-SLURM-USER-NAME: $JOB_USER" -H "X-SLURM-USER-TOKEN: $token" \
  "http://127.0.0.1:$PORT/slurm/v0.0.38/ping" ||
  { log "slurmrestd does not answer; see $LOGS/slurmrestd.log"; exit 1; }

# A day-long token for whoever ran this script (through sudo too), so tests need no root.
umask 077
scontrol token username="$JOB_USER" lifespan=86400 | cut -d= -f2 >"$RUN/$JOB_USER.jwt"
chown "${SUDO_UID:-0}" "$RUN/$JOB_USER.jwt"
umask 022

# Jobs run as $JOB_USER: it must be able to read the checkout and node (a clone under /root is not).
repo="$(cd "$(dirname "$0")/../.." && pwd)"
if ! runuser -u "$JOB_USER" -- test -r "$repo/consumers/recon/main.ts" || ! runuser -u "$JOB_USER" -- test -x "$(command -v node || echo /usr/bin/node)"; then
  log "warning: user $JOB_USER cannot read $repo or run node; Slurm jobs of this checkout will fail"
fi

cat <<EOF
Slurm $(sinfo -V | cut -d' ' -f2) is up: cluster $CLUSTER, node $NODE ($(sinfo -h -n "$NODE" -o %T)), partition $PARTITION.
slurmrestd: http://127.0.0.1:$PORT/slurm/v0.0.38 (JWT: headers X-SLURM-USER-NAME / X-SLURM-USER-TOKEN)
  export LOUPE_SLURM_URL=http://127.0.0.1:$PORT LOUPE_SLURM_USER=$JOB_USER
  export LOUPE_SLURM_TOKEN_FILE=$RUN/$JOB_USER.jwt   # valid 24 h; or, as root:
  export LOUPE_SLURM_TOKEN=\$(scontrol token username=$JOB_USER lifespan=3600 | cut -d= -f2)
EOF
