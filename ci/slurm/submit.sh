#!/usr/bin/env bash
# Submits the grading array (N shards) and the merge job that waits for it.
#   SUBMISSIONS=/shared/lab3/submissions OUT=/shared/lab3/grades ci/slurm/submit.sh 8
# Extra arguments after N go to both sbatch calls (e.g. --partition=teaching).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${1:?usage: submit.sh N [sbatch options...]}"
shift
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive number" >&2; exit 2; }
: "${SUBMISSIONS:?set SUBMISSIONS to the directory of submissions}"

array=$(sbatch --parsable --array="0-$((n - 1))" "$@" "$here/grade-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" "$@" "$here/merge.sbatch")
echo "grading array job $array ($n shards), merge job $merge (runs when every shard succeeded)"
echo "if a shard fails: SHARDS=$n sbatch --array=<task> $here/grade-array.sbatch, then sbatch $here/merge.sbatch"
