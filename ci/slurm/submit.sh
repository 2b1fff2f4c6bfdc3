#!/usr/bin/env bash
# Submits the grading array (N shards) and the merge job that waits for it.
#   SUBMISSIONS=/shared/lab3/submissions OUT=/shared/lab3/grades ci/slurm/submit.sh 8
# Extra arguments after N go to both sbatch calls (e.g. --partition=teaching).
#
# Run it from the socklab checkout: the jobs start in the directory sbatch
# was called from, and LAB and SOCKLAB default to paths inside the checkout.
# The jobs' logs go to OUT/logs/ (socklab-grade-<array job>_<task>.log,
# socklab-merge-<job>.log), beside the shards they write.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${1:?usage: submit.sh N [sbatch options...]}"
shift
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive number" >&2; exit 2; }
: "${SUBMISSIONS:?set SUBMISSIONS to the directory of submissions}"
out="${OUT:-grades}"

# Slurm does not create the directory of --output: a job whose log cannot
# be opened fails before its script runs.
mkdir -p "$out/logs"

# SHARDS tells the merge which shard folders belong to this class (a folder
# left by an earlier run with more shards is not merged).
array=$(SHARDS="$n" sbatch --parsable --array="0-$((n - 1))" \
  --output="$out/logs/socklab-grade-%A_%a.log" "$@" "$here/grade-array.sbatch")
array=${array%%;*}
# Without --kill-on-invalid-dep a failed shard leaves the merge job pending
# for ever (reason DependencyNeverSatisfied); with it the merge is cancelled.
merge=$(SHARDS="$n" sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --output="$out/logs/socklab-merge-%j.log" "$@" "$here/merge.sbatch")
echo "grading array job $array ($n shards), merge job $merge (runs when every shard succeeded; cancelled if one fails)"
echo "logs: $out/logs/"

# The variables given on this command line are not in the caller's shell,
# so the commands for a retry spell them out.
env_args=$(printf '%q ' "SUBMISSIONS=$SUBMISSIONS" "OUT=$out" "SHARDS=$n")
for name in LAB SOCKLAB; do
  if [[ -n "${!name:-}" ]]; then
    env_args+=$(printf '%q ' "$name=${!name}")
  fi
done
extra=""
if (($# > 0)); then
  extra=$(printf '%q ' "$@")
fi
echo "if a shard fails, re-run it (task = shard - 1) from $(printf '%q' "$PWD"), then merge:"
echo "  ${env_args}sbatch --array=<task> --output=$(printf '%q' "$out/logs/socklab-grade-%A_%a.log") ${extra}$(printf '%q' "$here/grade-array.sbatch")"
echo "  ${env_args}sbatch --dependency=afterok:<that job> --output=$(printf '%q' "$out/logs/socklab-merge-%j.log") ${extra}$(printf '%q' "$here/merge.sbatch")"
