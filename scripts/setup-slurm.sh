#!/usr/bin/env bash
# A one-node Slurm on this machine, for the tests of `--executor slurm`
# (test/unit/slurm.test.ts): Debian's slurmctld, slurmd, slurm-client and
# munge, configured for one node `ci1` with this machine's CPUs, partition
# `debug`, no accounting database (squeue -t all / scontrol show the finished
# jobs for an hour), and two GPUs in name only (gres gpu:2 over stand-in
# device files). Works offline, as root, with no systemd (CI starts no
# services, so this script starts the daemons itself).
#
# Idempotent and fast: when `sinfo` already answers with the node up, it does
# nothing. All of Slurm's state, spool, pid and log files live under
# $CELLSCOPE_SLURM_DIR (default /var/tmp/cellscope-slurm), never in the
# repository. `bash scripts/setup-slurm.sh stop` shuts the daemons down.
set -euo pipefail

SCRATCH="${CELLSCOPE_SLURM_DIR:-/var/tmp/cellscope-slurm}"
CONF=/etc/slurm/slurm.conf
MARK='# written by cellscope scripts/setup-slurm.sh'

say() { echo "setup-slurm: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "needs root (slurmd and munged run as root here); the Slurm tests will skip"
  exit 1
fi

if [ "${1:-}" = stop ]; then
  scontrol shutdown >/dev/null 2>&1 || true
  if [ -f "$SCRATCH/munged.pid" ]; then kill "$(cat "$SCRATCH/munged.pid")" 2>/dev/null || true; fi
  exit 0
fi

node_ready() {
  # The node answers and takes jobs: idle, mixed or allocated (not down/drained).
  local state
  state="$(timeout 3 sinfo -h -N -o '%T' 2>/dev/null | head -n 1)" || return 1
  case "$state" in idle* | mix* | alloc* | completing*) return 0 ;; *) return 1 ;; esac
}

if command -v sinfo >/dev/null 2>&1 && node_ready; then
  say "Slurm is up ($(sinfo -h -N -o '%N %T' | head -n 1))"
  exit 0
fi

missing=()
for pkg in slurmctld slurmd slurm-client munge; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  say "$CONF exists and was not written by this script; leaving it as it is"
  say "Slurm does not answer with an idle node; start it yourself (see its slurmctld/slurmd logs)"
  exit 1
fi

mkdir -p "$SCRATCH/state" "$SCRATCH/spool" /etc/slurm
# The node line with this machine's real CPU layout (slurmd -C), a fixed name
# and address so that the configuration does not depend on the host name.
layout="$(slurmd -C | head -n 1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')"
cat >"$CONF" <<EOF
$MARK
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
DependencyParameters=kill_invalid_depend
MailProg=/bin/true
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
KillWait=10
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/slurmctld.log
SlurmdLogFile=$SCRATCH/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=ci1 NodeHostname=localhost NodeAddr=127.0.0.1 ${layout}RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# Two GPUs in name only: --gres gpu:N passes through sbatch
# and the scheduler as on a real cluster; the trainer still computes on the CPU.
# (Slurm counts a GPU per device file; /dev/null and /dev/zero stand in, and
# with task/none no device is fenced off. Jobs get CUDA_VISIBLE_DEVICES.)
cat >/etc/slurm/gres.conf <<EOF
$MARK
Name=gpu File=/dev/null
Name=gpu File=/dev/zero
EOF

# munged, unless one answers already.
if ! munge -n </dev/null >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { say "/etc/munge/munge.key is missing (reinstall munge)"; exit 1; }
  mkdir -p /run/munge
  chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  pgrep -u munge -x munged | head -n 1 >"$SCRATCH/munged.pid" || true
fi

# A half-started pair (one daemon alive, the node down) is restarted whole.
scontrol shutdown >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
  sleep 0.1
done
slurmctld -i
slurmd -N ci1

for i in $(seq 1 100); do
  # A node drained by an earlier configuration (its old gres) is put back once.
  if [ "$i" = 10 ] && sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(drain|inval)'; then
    scontrol update nodename=ci1 state=resume >/dev/null 2>&1 || true
  fi
  if node_ready; then
    say "Slurm is up ($(sinfo -h -N -o '%N %T' | head -n 1)); state under $SCRATCH"
    exit 0
  fi
  sleep 0.2
done
say "the node did not become idle within 20 s:"
sinfo -N -l >&2 || true
tail -n 20 "$SCRATCH/slurmctld.log" "$SCRATCH/slurmd.log" >&2 || true
exit 1
