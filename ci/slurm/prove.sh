#!/usr/bin/env bash
# Proves the Slurm recipe on a real Slurm: starts a throwaway single-node
# cluster on this machine, grades a small class with ci/slurm/submit.sh (an
# array job, one task per shard, and the merge job that depends on it),
# grades the same class here with one `socklab grade`, and compares the
# merged gradebook with the one-machine run.
#
#   sudo ci/slurm/prove.sh [--shards N] [--fixtures A,B,...] [--timeout SECS] [--keep]
#   sudo ci/slurm/prove.sh --use-existing-cluster [...] [-- SBATCH_OPTIONS...]
#
# Run as root on Debian. It installs slurm-wlm, munge and jq when they are
# missing (apt-get), writes a slurm.conf and a munge key of 1024 random bytes
# in a temporary folder, and starts munged, slurmctld and slurmd for this
# host only (loopback, ports it finds free). It never touches /etc/slurm: when
# a cluster is configured there (or in SLURM_CONF) and running, it refuses,
# unless told to submit to that cluster with --use-existing-cluster (the
# class and the outputs then go under target/ of this checkout, which the
# recipe already requires every node to see). On exit, also after a failure
# or Ctrl-C, it cancels the jobs it submitted, stops every daemon it started
# and removes its temporary folder (kept with --keep).
#
# The class: examples/submissions/good and fixtures laid out with
# `cargo run -p socklab --example fixture -- NAME OUT`, each a student named
# after its folder. The default fixtures have verdicts that do not depend on
# timing (no `may_fail` in their fixture.yaml) and fall two to a shard.
#
# What must be identical: grades.csv (after sorting), summary.txt, each
# student's resume key (submission, suite, socklab version and run
# settings), and everything in each student's report.json but what a second
# run cannot repeat: timings (`duration_secs`), the transcripts, the packet
# evidence (capture counts and ladders: client ports, packet times), and a
# check's text of what the programs did (`message`, `observed`, and
# `expected` or `sent` where a scenario puts in a value captured from an
# earlier step, and whether an observe-only check held, e.g. which FIN
# came first when both programs close at once), which holds the daytime
# clock, client port numbers, lottery draws and transcript timestamps.
# Those are counted and shown, not compared. Every student must be in
# exactly one shard.
#
# Exit status: 0 identical, 1 a difference or a failed job, 2 bad usage or
# refused, 3 the cluster or the build could not be set up, 130/143
# interrupted.
set -euo pipefail

readonly DEFAULT_FIXTURES="build-error,ft-whole-buffer,lottery-crash,echo-whole-buffer,lottery-no-full"
readonly TERMINAL_STATES=" BOOT_FAIL CANCELLED COMPLETED DEADLINE FAILED NODE_FAIL OUT_OF_MEMORY PREEMPTED TIMEOUT "

usage() {
  cat <<EOF
usage: ci/slurm/prove.sh [--shards N] [--fixtures A,B,...] [--timeout SECS] [--keep]
                         [--use-existing-cluster] [-- SBATCH_OPTIONS...]
  --shards N              array tasks (default 3)
  --fixtures A,B,...      fixtures of tests/fixtures/submissions graded beside
                          examples/submissions/good (default $DEFAULT_FIXTURES)
  --timeout SECS          deadline for the Slurm jobs (default 1800)
  --keep                  keep the temporary folder (class, outputs, cluster logs)
  --use-existing-cluster  submit to the Slurm cluster this machine is configured
                          for instead of starting a throwaway one
  -- SBATCH_OPTIONS       passed to both sbatch calls (e.g. --partition=teaching)
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'prove.sh: %s\n' "$*" >&2; }
fail_setup() {
  warn "$*"
  exit 3
}
now() { printf '%s' "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

shards=3
fixtures="$DEFAULT_FIXTURES"
timeout_secs=1800
keep=false
use_existing=false
sbatch_options=()
while (($# > 0)); do
  case "$1" in
    --shards)
      shards="${2:-}"
      shift 2 || true
      ;;
    --fixtures)
      fixtures="${2:-}"
      shift 2 || true
      ;;
    --timeout)
      timeout_secs="${2:-}"
      shift 2 || true
      ;;
    --keep)
      keep=true
      shift
      ;;
    --use-existing-cluster)
      use_existing=true
      shift
      ;;
    --)
      shift
      sbatch_options=("$@")
      break
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      warn "unknown argument \`$1\`"
      usage >&2
      exit 2
      ;;
  esac
done
if ! [[ "$shards" =~ ^[1-9][0-9]*$ ]]; then
  warn "--shards \`$shards\`: give a positive number, e.g. --shards 3"
  exit 2
fi
if ! [[ "$timeout_secs" =~ ^[1-9][0-9]*$ ]]; then
  warn "--timeout \`$timeout_secs\`: give a number of seconds, e.g. --timeout 1800"
  exit 2
fi
if [[ "$(id -u)" -ne 0 ]]; then
  warn "run as root (sudo ci/slurm/prove.sh): it installs packages, starts slurmctld, slurmd and munged, and socklab's namespaces level needs root"
  exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
IFS=, read -r -a fixture_names <<<"$fixtures"
for name in "${fixture_names[@]}"; do
  if [[ ! -f "tests/fixtures/submissions/$name/fixture.yaml" ]]; then
    warn "--fixtures: \`$name\` is not a fixture (no tests/fixtures/submissions/$name/fixture.yaml); \`cargo run -q -p socklab --example fixture\` lists them"
    exit 2
  fi
done

# ---------------------------------------------------------------- clean-up
work=""
cluster=""
daemon_names=()
daemon_pids=()
job_ids=()

# The jobs of this run still queued or running: on the throwaway cluster
# every job is this run's (also one submitted before its id was read).
our_queued_jobs() {
  if [[ -n "$cluster" ]]; then
    squeue -h -o %A 2>/dev/null
  elif ((${#job_ids[@]} > 0)); then
    squeue -h -j "$(IFS=,; echo "${job_ids[*]}")" -o %A 2>/dev/null
  fi
}

cancel_jobs() {
  [[ -n "$cluster" ]] || ((${#job_ids[@]} > 0)) || return 0
  local queued
  queued=$(our_queued_jobs | sort -u | tr '\n' ' ')
  [[ -n "${queued// /}" ]] || return 0
  say "cancelling the jobs this run submitted: $queued"
  # shellcheck disable=SC2086 # job ids, split on purpose
  scancel $queued 2>/dev/null
  if [[ -n "$cluster" ]] && ! daemon_alive slurmd; then
    warn "slurmd is not running, so nothing confirms the jobs' end: a job's processes may outlive this run"
    return 0
  fi
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    [[ -z "$(our_queued_jobs)" ]] && return 0
    sleep 0.5
  done
  warn "jobs $queued still listed by squeue 60 s after scancel"
}

# Whether the daemon $1 (a child of this script) runs: not gone, not a
# zombie waiting to be reaped (kill -0 succeeds on those).
alive() {
  local _pid _comm state
  read -r _pid _comm state _ 2>/dev/null <"/proc/$1/stat" || return 1
  [[ "$state" != Z ]]
}

# Whether the daemon this script started as $1 runs.
daemon_alive() {
  local i
  for i in "${!daemon_names[@]}"; do
    if [[ "${daemon_names[i]}" == "$1" ]]; then
      # Explicit status: a bare `return` in the EXIT trap returns the status
      # from before the trap.
      alive "${daemon_pids[i]}"
      return $?
    fi
  done
  return 1
}

stop_daemons() {
  local i pid name deadline
  for ((i = ${#daemon_pids[@]} - 1; i >= 0; i--)); do
    pid=${daemon_pids[i]}
    name=${daemon_names[i]}
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null
      continue
    fi
    kill -TERM "$pid" 2>/dev/null
    deadline=$((SECONDS + 30))
    while alive "$pid" && ((SECONDS < deadline)); do
      sleep 0.2
    done
    if alive "$pid"; then
      warn "$name (pid $pid) still running 30 s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  cancel_jobs
  stop_daemons
  if [[ -n "$work" && -d "$work" ]]; then
    if $keep; then
      say "kept: $work"
    else
      rm -rf "$work"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- packages
missing=()
for cmd in slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
  command -v "$cmd" >/dev/null 2>&1 || { missing+=(slurm-wlm); break; }
done
for cmd in munged munge unmunge; do
  command -v "$cmd" >/dev/null 2>&1 || { missing+=(munge); break; }
done
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null 2>&1 || fail_setup "missing ${missing[*]} and no apt-get: install them, then re-run"
  say "installing ${missing[*]} (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      fail_setup "apt-get install ${missing[*]} failed"
  fi
fi
command -v cargo >/dev/null 2>&1 || fail_setup "cargo not found: install Rust (README.md, Prerequisites), then re-run"

# ---------------------------------------------------------------- the cluster
existing_conf="${SLURM_CONF:-/etc/slurm/slurm.conf}"
existing_running=false
if [[ -f "$existing_conf" ]]; then
  if timeout 20 scontrol ping 2>/dev/null | grep -q ' is UP'; then
    existing_running=true
  elif pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    existing_running=true
  fi
fi

if $use_existing; then
  timeout 20 scontrol ping 2>/dev/null | grep -q ' is UP' ||
    fail_setup "--use-existing-cluster: no Slurm controller answers \`scontrol ping\` with $existing_conf"
  # The jobs read the class and write the grades on the compute nodes: put
  # them beside the checkout, which the recipe needs on a shared filesystem.
  mkdir -p "$repo/target"
  work=$(mktemp -d "$repo/target/slurm-prove.XXXXXX")
  cluster_desc="the existing cluster of $existing_conf"
else
  if $existing_running; then
    warn "a Slurm cluster is configured ($existing_conf) and running on or for this machine."
    warn "prove.sh starts a throwaway cluster of its own and will not run beside it, nor change it."
    warn "To submit the recipe to that cluster instead: ci/slurm/prove.sh --use-existing-cluster [-- --partition=...]"
    exit 2
  fi
  if [[ -f "$existing_conf" ]]; then
    say "note: $existing_conf exists but no controller answers; it is left untouched"
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/socklab-slurm-prove.XXXXXX")
fi
chmod 711 "$work"
class="$work/class"
grades="$work/grades"
local_out="$work/one-machine"
mkdir -p "$class"

# A free TCP port on this host, from $1 upwards, not in "$@"[1..].
free_port() {
  local port=$1
  shift
  while ss -Htln "sport = :$port" | grep -q . || [[ " $* " == *" $port "* ]]; do
    port=$((port + 1))
  done
  echo "$port"
}

# Starts a daemon in its own session (so a Ctrl-C reaches this script, not
# the cluster) and records its pid for the clean-up.
start_daemon() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$cluster/log/$name.out" 2>&1 &
  daemon_names+=("$name")
  daemon_pids+=("$!")
}

check_daemons() {
  local i
  for i in "${!daemon_pids[@]}"; do
    if ! alive "${daemon_pids[i]}"; then
      warn "${daemon_names[i]} (pid ${daemon_pids[i]}) has exited; its output:"
      tail -n 20 "$cluster/log/${daemon_names[i]}.out" "$cluster/log/${daemon_names[i]}.log" >&2
      exit 3
    fi
  done
}

# Runs "$@" every half second until it succeeds; fails after $2 seconds.
wait_until() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    check_daemons
    ((SECONDS < deadline)) || fail_setup "$what: not within ${secs} s"
    sleep 0.5
  done
}

munge_answers() { munge -n -S "$cluster/munge/munge.socket" | unmunge -S "$cluster/munge/munge.socket"; }
controller_up() { scontrol ping | grep -q ' is UP'; }
node_idle() { [[ "$(sinfo -h -N -n "$node" -o %T)" == idle ]]; }

if ! $use_existing; then
  cluster="$work/cluster"
  mkdir -p "$cluster/state" "$cluster/spool" "$cluster/log"
  mkdir -m 755 "$cluster/munge"
  # munged: its own key, socket, pid and seed files; the socket's folder is
  # world-searchable (munged requires it), the key readable by root only.
  head -c 1024 /dev/urandom >"$cluster/munge.key"
  chmod 400 "$cluster/munge.key"
  start_daemon munged munged --foreground \
    --key-file="$cluster/munge.key" --socket="$cluster/munge/munge.socket" \
    --pid-file="$cluster/munge/munged.pid" --seed-file="$cluster/munge.seed" \
    --log-file="$cluster/log/munged.log"
  wait_until "munged answering on $cluster/munge/munge.socket" 30 munge_answers

  # This host as the only node, with what slurmd detects (CPUs, sockets,
  # memory), reached on loopback.
  node_line=$(slurmd -C | head -n 1)
  node=$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node_line")
  [[ -n "$node" && "$node_line" == NodeName=* ]] || fail_setup "slurmd -C printed no NodeName line: $node_line"
  ctld_port=$(free_port 16817)
  slurmd_port=$(free_port $((ctld_port + 1)) "$ctld_port")
  : >"$cluster/plugstack.conf"
  cat >"$cluster/slurm.conf" <<EOF
# Throwaway single-node cluster of ci/slurm/prove.sh; removed on exit.
ClusterName=socklabprove
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$cluster/munge/munge.socket
StateSaveLocation=$cluster/state
SlurmdSpoolDir=$cluster/spool
SlurmctldPidFile=$cluster/slurmctld.pid
SlurmdPidFile=$cluster/slurmd.pid
SlurmctldLogFile=$cluster/log/slurmctld.log
SlurmdLogFile=$cluster/log/slurmd.log
PlugStackConfig=$cluster/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# Finished jobs stay visible to scontrol for an hour (no accounting database).
MinJobAge=3600
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=prove Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$cluster/slurm.conf"
  start_daemon slurmctld slurmctld -D -f "$SLURM_CONF"
  wait_until "slurmctld answering scontrol ping" 60 controller_up
  start_daemon slurmd slurmd -D -f "$SLURM_CONF"
  wait_until "node $node idle in sinfo" 60 node_idle
  cluster_desc="throwaway single-node cluster on $node ($(sinfo --version)), slurmctld :$ctld_port, slurmd :$slurmd_port, munged; config $SLURM_CONF"
fi
say "cluster: $cluster_desc"

# ---------------------------------------------------------------- build and class
started=$(now)
say "building: cargo build --release -p socklab"
cargo build --release -p socklab --quiet || fail_setup "cargo build --release -p socklab failed"
build_secs=$(seconds_since "$started")
socklab="$repo/target/release/socklab"

cp -r examples/submissions/good "$class/good"
students=(good)
for name in "${fixture_names[@]}"; do
  cargo run -q -p socklab --example fixture -- "$name" "$class/$name" >"$work/fixture-$name.txt" ||
    fail_setup "laying out fixture $name failed: $(cat "$work/fixture-$name.txt")"
  students+=("$name")
done
say "class: ${#students[@]} students in $class: ${students[*]}"

# ---------------------------------------------------------------- on Slurm
# From the checkout, as ci/README.md says, with LAB and SOCKLAB at their
# defaults; only SUBMISSIONS and OUT are given.
started=$(now)
submitted=$(SUBMISSIONS="$class" OUT="$grades" ci/slurm/submit.sh "$shards" "${sbatch_options[@]}")
printf '%s\n' "$submitted" | sed 's/^/  | /'
if ! [[ "$submitted" =~ grading\ array\ job\ ([0-9]+)\ .*merge\ job\ ([0-9]+) ]]; then
  fail_setup "could not read the job ids from submit.sh's output"
fi
array=${BASH_REMATCH[1]}
merge=${BASH_REMATCH[2]}
job_ids=("$array" "$merge")

# The last seen state of each job, from scontrol: the merge job by its id,
# array tasks as ARRAY_TASK (ARRAY_FIRST-LAST while tasks wait together). A
# record scontrol no longer shows (a finished job, after MinJobAge) keeps its
# last state.
declare -A state exit_code run_time reason
read_states() {
  local line id task seen=" "
  while read -r line; do
    [[ -n "$line" ]] || continue
    id=$(sed -nE 's/^JobId=([0-9]+) .*/\1/p' <<<"$line")
    task=$(sed -nE 's/.* ArrayTaskId=([^ ]+) .*/\1/p' <<<"$line")
    if [[ -n "$task" ]]; then
      id="${array}_$task"
    fi
    seen+="$id "
    state[$id]=$(sed -nE 's/.* JobState=([^ ]+) .*/\1/p' <<<"$line")
    exit_code[$id]=$(sed -nE 's/.* ExitCode=([^ ]+) .*/\1/p' <<<"$line")
    run_time[$id]=$(sed -nE 's/.* RunTime=([^ ]+) .*/\1/p' <<<"$line")
    reason[$id]=$(sed -nE 's/.* Reason=([^ ]+) .*/\1/p' <<<"$line")
  done < <(scontrol -o show job "$array" 2>/dev/null; scontrol -o show job "$merge" 2>/dev/null)
  # Tasks that waited together and now have records of their own.
  for id in "${!state[@]}"; do
    if [[ "$id" == *[-,%]* && "$seen" != *" $id "* ]]; then
      unset "state[$id]" "exit_code[$id]" "run_time[$id]" "reason[$id]"
    fi
  done
}
is_terminal() { [[ "$TERMINAL_STATES" == *" ${1%%+*} "* ]]; }
all_done() {
  local t
  for ((t = 0; t < shards; t++)); do
    is_terminal "${state[${array}_$t]:-UNKNOWN}" || return 1
  done
  is_terminal "${state[$merge]:-UNKNOWN}"
}
describe_states() {
  local id tasks
  tasks=$(for id in "${!state[@]}"; do
    if [[ "$id" == "${array}_"* ]]; then
      printf '%s:%s\n' "${id#"${array}_"}" "${state[$id]}"
    fi
  done | sort -n | tr '\n' ' ')
  printf 'tasks %s; merge %s' "${tasks% }" "${state[$merge]:-?}${reason[$merge]:+ (${reason[$merge]})}"
}

deadline=$((SECONDS + timeout_secs))
last=""
while :; do
  read_states
  now_desc=$(describe_states)
  if [[ "$now_desc" != "$last" ]]; then
    say "  [$(seconds_since "$started") s] $now_desc"
    last=$now_desc
  fi
  all_done && break
  if ! $use_existing; then check_daemons; fi
  if ((SECONDS >= deadline)); then
    warn "the Slurm jobs did not finish within ${timeout_secs} s (--timeout): $now_desc"
    exit 1
  fi
  sleep 1
done
slurm_secs=$(seconds_since "$started")

jobs_ok=true
for ((t = 0; t < shards; t++)); do
  id="${array}_$t"
  if [[ "${state[$id]}" != COMPLETED || "${exit_code[$id]}" != 0:0 ]]; then
    jobs_ok=false
    warn "task $id (shard $((t + 1))/$shards): ${state[$id]}, exit ${exit_code[$id]}; its log:"
    tail -n 20 "$grades/logs/socklab-grade-${array}_$t.log" >&2 || true
  fi
done
if [[ "${state[$merge]}" != COMPLETED || "${exit_code[$merge]}" != 0:0 ]]; then
  jobs_ok=false
  warn "merge job $merge: ${state[$merge]} (${reason[$merge]}), exit ${exit_code[$merge]}"
  tail -n 20 "$grades/logs/socklab-merge-$merge.log" >&2 || true
fi
$jobs_ok || exit 1

# ---------------------------------------------------------------- on one machine
# The same -j as each array task (the recipe's --cpus-per-task).
jobs=$(sed -nE 's/^#SBATCH --cpus-per-task=([0-9]+).*/\1/p' ci/slurm/grade-array.sbatch)
jobs=${jobs:-2}
started=$(now)
say "one machine: socklab grade scenarios/lab3/lab.yaml -j $jobs"
"$socklab" grade scenarios/lab3/lab.yaml --submissions "$class" --out "$local_out" -j "$jobs" \
  >"$work/one-machine.txt" 2>"$work/one-machine.err" ||
  { cat "$work/one-machine.err" >&2; fail_setup "socklab grade on this machine failed"; }
local_secs=$(seconds_since "$started")

# ---------------------------------------------------------------- comparison
problems=()
merged="$grades/merged"

# Student name -> folder, for every complete result under $1/students.
students_of() {
  local dir
  for dir in "$1"/students/*/; do
    [[ -f "$dir/key" ]] || continue
    printf '%s\t%s\n' "$(jq -r .submission "$dir/report.json")" "$(basename "$dir")"
  done | sort
}

# Each student in exactly one shard, and the shards' union is the class.
declare -A shard_of
shard_lines=()
for ((k = 1; k <= shards; k++)); do
  names=()
  while IFS=$'\t' read -r name _; do
    [[ -n "$name" ]] || continue
    if [[ -n "${shard_of[$name]:-}" ]]; then
      problems+=("$name is in shard ${shard_of[$name]} and in shard $k")
    fi
    shard_of[$name]=$k
    names+=("$name")
  done < <(students_of "$grades/shards/$k")
  time_of_task=${run_time[${array}_$((k - 1))]:-?}
  shard_lines+=("$(printf 'shard %d/%d (task %s_%d, %s): %s' "$k" "$shards" "$array" "$((k - 1))" \
    "$time_of_task" "${names[*]:-(no students)}")")
done
for name in "${students[@]}"; do
  [[ -n "${shard_of[$name]:-}" ]] || problems+=("$name is in no shard")
done

if ! diff <(students_of "$merged") <(students_of "$local_out") >"$work/students.diff"; then
  problems+=("the merged gradebook and the one-machine run hold different students: $(tr '\n' ' ' <"$work/students.diff")")
fi

csv_note=""
if diff <(sort "$merged/grades.csv") <(sort "$local_out/grades.csv") >"$work/grades.diff"; then
  if cmp -s "$merged/grades.csv" "$local_out/grades.csv"; then
    csv_note="identical, byte for byte ($(wc -l <"$merged/grades.csv") lines)"
  else
    csv_note="identical after sorting ($(wc -l <"$merged/grades.csv") lines)"
  fi
else
  problems+=("grades.csv differs: $(head -c 2000 "$work/grades.diff")")
  csv_note="DIFFERENT"
fi
if cmp -s "$merged/summary.txt" "$local_out/summary.txt"; then
  summary_note="identical"
else
  problems+=("summary.txt differs: $(diff "$merged/summary.txt" "$local_out/summary.txt" | head -c 2000)")
  summary_note="DIFFERENT"
fi

# A report.json without what a second run cannot repeat: timings, the
# transcripts, each scenario's packet evidence (`packets`: the capture's
# counts and the ladders, with client ports and packet times), and the
# fields of a check that hold what the programs did, including whether an
# observe-only check held (`held`: it weighs nothing, and some observe
# races the lab only asks about, such as which FIN comes first when both
# programs close right after END)
# (`message`, `observed`, and `expected` or `sent` where a scenario puts in a
# value captured from an earlier step, e.g. the numbers a lottery server
# drew). What is left (score, isolation, build, and per scenario and check
# the name, source, status, points, weight, title, step, line, hint) must be
# identical; the resume key already proves the same suite and settings.
read -r -d '' verdicts_only <<'JQ' || true
del(.duration_secs, .build.duration_secs)
| .scenarios |= map(del(.duration_secs, .transcripts, .packets)
    | .checks |= map(del(.duration_secs, .message, .observed, .expected, .sent, .held)))
JQ

# The values left out above that differ, in two reports ($a: one machine, $b:
# Slurm) whose verdicts are identical (so their scenarios and checks pair up
# by position): one line each, fields split by the unit separator (\x1f):
#   kind, where, one-machine value, Slurm value
read -r -d '' what_differs <<'JQ' || true
def shown: if type == "string" then "\"" + gsub("\n"; "\\n") + "\"" else tojson end;
def row($kind; $where; $one; $two): [$kind, $where, ($one | shown), ($two | shown)] | join("\u001f");
$a[0] as $x | $b[0] as $y
| (if $x.duration_secs != $y.duration_secs then row("timing"; "submission"; $x.duration_secs; $y.duration_secs) else empty end),
  (if $x.build.duration_secs != $y.build.duration_secs then row("timing"; "build"; $x.build.duration_secs; $y.build.duration_secs) else empty end),
  (range($x.scenarios | length) as $i
   | $x.scenarios[$i] as $s | $y.scenarios[$i] as $t
   | (if $s.duration_secs != $t.duration_secs then row("timing"; $s.name; $s.duration_secs; $t.duration_secs) else empty end),
     (if $s.transcripts != $t.transcripts then row("transcripts"; $s.name; "..."; "...") else empty end),
     (if $s.packets != $t.packets then row("packets"; $s.name; "..."; "...") else empty end),
     (range($s.checks | length) as $j
      | $s.checks[$j] as $c | $t.checks[$j] as $d
      | ("duration_secs", "message", "observed", "expected", "sent", "held") as $f
      | select($c[$f] != $d[$f])
      | row(if $f == "duration_secs" then "timing" else $f end;
            "\($s.name): check \($c.step) (\($c.title)), \($f)"; $c[$f]; $d[$f])))
JQ

# $1, cut to 100 characters.
clip() {
  if ((${#1} > 100)); then
    printf '%s...' "${1:0:100}"
  else
    printf '%s' "$1"
  fi
}
declare -A may_differ shown_for
examples=()
keys_same=0
reports_same=0
checks_total=0
while IFS=$'\t' read -r name folder; do
  [[ -n "$name" ]] || continue
  one="$local_out/students/$folder"
  two="$merged/students/$folder"
  [[ -d "$two" ]] || continue
  if cmp -s "$one/key" "$two/key"; then
    keys_same=$((keys_same + 1))
  else
    problems+=("$name: the resume keys differ (submission, suite, socklab version or run settings)")
  fi
  checks_total=$((checks_total + $(jq '[.scenarios[].checks[]] | length' "$one/report.json")))
  if ! diff <(jq -S "$verdicts_only" "$one/report.json") <(jq -S "$verdicts_only" "$two/report.json") \
    >"$work/verdicts-$folder.diff"; then
    problems+=("$name: report.json differs beyond timings and program output (< one machine, > Slurm):
$(head -n 20 "$work/verdicts-$folder.diff")")
    continue
  fi
  reports_same=$((reports_same + 1))
  while IFS=$'\x1f' read -r kind place one_value two_value; do
    may_differ[$kind]=$((${may_differ[$kind]:-0} + 1))
    # A few examples a reader can follow: one per kind of field and per
    # program family (daytime, echo, lottery, ft).
    family=${place%%/*}
    if [[ "$kind" != timing && "$kind" != transcripts && "$kind" != packets && ${#examples[@]} -lt 6 ]] &&
      [[ -z "${shown_for[$kind]:-}" || -z "${shown_for[$family]:-}" ]]; then
      shown_for[$kind]=1
      shown_for[$family]=1
      examples+=("$name, $place: $(clip "$one_value") (one machine), $(clip "$two_value") (Slurm)")
    fi
  done < <(jq -r -n --slurpfile a "$one/report.json" --slurpfile b "$two/report.json" "$what_differs")
done < <(students_of "$local_out")

# ---------------------------------------------------------------- summary
n=${#students[@]}
say ""
say "socklab on Slurm, compared with one machine"
say "  cluster      $cluster_desc"
say "  class        $n students: ${students[*]}"
say "  build        cargo build --release -p socklab: ${build_secs} s"
say "  Slurm        ci/slurm/submit.sh $shards: array job $array, merge job $merge (${run_time[$merge]}); submitted to merged: ${slurm_secs} s"
for line in "${shard_lines[@]}"; do
  say "                 $line"
done
say "  one machine  socklab grade -j $jobs: ${local_secs} s"
say "  compared     merged gradebook ($merged) with the one-machine run"
say "    grades.csv      $csv_note"
say "    summary.txt     $summary_note"
say "    shards          every student in exactly one shard: $([[ ${#shard_of[@]} -eq $n ]] && echo yes || echo NO)"
say "    resume keys     identical for $keys_same of $n"
say "    report.json     identical for $reports_same of $n ($checks_total checks): score, isolation, build, and per scenario"
say "                    and check the status, points, weight, title, step, line and hint"
say "    left out        what a second run cannot repeat (the values that differ):"
say "                      timings (duration_secs): ${may_differ[timing]:-0}"
say "                      what the programs did, per check: message ${may_differ[message]:-0}, observed ${may_differ[observed]:-0},"
say "                      expected ${may_differ[expected]:-0} and sent ${may_differ[sent]:-0} (where a scenario puts in a value captured"
say "                      from an earlier step); observe-only checks that went the other way (held): ${may_differ[held]:-0};"
say "                      scenarios whose transcripts differ: ${may_differ[transcripts]:-0},"
say "                      whose packet evidence (capture counts, ladders) differs: ${may_differ[packets]:-0}"
say "                      (the daytime clock, client ports, lottery draws, transcript and packet timestamps, ...)"
for example in "${examples[@]}"; do
  say "                      e.g. $example"
done
if ((${#problems[@]} > 0)); then
  say ""
  say "DIFFERENCES (${#problems[@]}):"
  for problem in "${problems[@]:0:30}"; do
    say "  - $problem"
  done
  say "FAIL: the merged Slurm gradebook differs from the one-machine run"
  exit 1
fi
say "PASS: the merged Slurm gradebook equals the one-machine run"
