#!/usr/bin/env bash
# Tests run_autograder's plumbing on fake /autograder trees, with a fake
# socklab (a shell script) standing in for the real one:
#   - the fake's results are copied to results/results.json; socklab ran in a
#     copy of the submission with the bundle's lab manifest;
#   - a socklab found on PATH is used when the bundle has none;
#   - socklab exiting 3, writing garbage, running out of time, or missing
#     altogether still leaves a valid results.json with score 0 and the reason.
# With SOCKLAB_BIN=/path/to/socklab it also grades a real submission
# (SOCKLAB_SUBMISSION, default examples/submissions/good) with the real lab
# (LAB_DIR, default scenarios/lab3) and checks the results are valid.
#
# Needs bash, python3, zip, unzip and coreutils. Exits non-zero on any
# problem (2 when a tool it needs is missing).
set -euo pipefail

missing=()
for tool in python3 zip unzip; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "test-run-autograder.sh needs ${missing[*]}, not found on PATH (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
passed=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Creates a fake autograder tree for case $1 and prints its root.
make_tree() {
  local root="$tmp/$1/autograder"
  mkdir -p "$root/submission" "$root/results" "$root/source/lab3"
  printf 'int main(void) { return 0; }\n' >"$root/submission/LotteryServer.c"
  printf 'lab: lab3\n' >"$root/source/lab3/lab.yaml"
  install -m 0755 "$here/run_autograder" "$root/source/run_autograder"
  printf '%s\n' "$root"
}

# Writes a fake socklab to $1 that behaves as $2 says:
#   ok       check its arguments and write fixed results to --out
#   exit3    print an error and exit 3 without results
#   garbage  write a truncated JSON file and exit 0
#   slow     sleep past the timeout
fake_socklab() {
  local path=$1 mode=$2
  cat >"$path" <<FAKE
#!/usr/bin/env bash
set -euo pipefail
mode=$mode
FAKE
  cat >>"$path" <<'FAKE'
[[ "$1" == check ]] || { echo "fake socklab: expected 'check', got $1" >&2; exit 64; }
shift
lab="" format="" out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lab) lab=$2; shift ;;
    --format) format=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "fake socklab: unexpected argument $1" >&2; exit 64 ;;
  esac
  shift
done
printf '%s\n' "$PWD" >"$FAKE_RECORD.cwd"
printf '%s\n' "$lab" >"$FAKE_RECORD.lab"
printf '%s\n' "$format" >"$FAKE_RECORD.format"
touch built-by-fake-socklab
case "$mode" in
  ok)
    cat >"$out" <<'JSON'
{"score": 7.5, "max_score": 10, "execution_time": 1, "output": "fake", "output_format": "md",
 "visibility": "visible", "stdout_visibility": "hidden",
 "tests": [{"name": "lottery", "score": 7.5, "max_score": 10, "status": "failed",
            "output": "got: You lost", "output_format": "md", "visibility": "visible", "tags": []}]}
JSON
    exit 1 ;;
  exit3) echo "fake socklab: cannot read lab manifest: <broken> \"quoted\"" >&2; exit 3 ;;
  garbage) printf '{"score": 1, "tests": [' >"$out"; exit 0 ;;
  slow) sleep 30 ;;
esac
FAKE
  chmod +x "$path"
}

# Checks that $1 is valid Gradescope results; $2 holds extra Python
# assertions on `r` (the results) and `expect` (the EXPECT variable).
check_results() {
  python3 - "$1" "${2:-}" <<'PY'
import json, os, sys
path, extra = sys.argv[1], sys.argv[2]
expect = os.environ.get("EXPECT", "")
with open(path, encoding="utf-8") as f:
    r = json.load(f)
assert isinstance(r, dict), "not an object"
assert isinstance(r.get("score"), (int, float)), "no numeric score"
assert isinstance(r.get("tests"), list), "no tests list"
for key in ("output", "output_format", "visibility"):
    assert isinstance(r.get(key, ""), str), key
if extra:
    exec(extra)
PY
}

run_case() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    fail "$name"
  fi
}

case_fake_in_bundle() {
  local root
  root="$(make_tree bundle)"
  fake_socklab "$root/source/socklab" ok
  FAKE_RECORD="$tmp/bundle/record" AUTOGRADER_ROOT="$root" SOCKLAB_BIN="" \
    "$root/source/run_autograder" >"$tmp/bundle/stdout" 2>&1 || return 1
  check_results "$root/results/results.json" '
assert r["score"] == 7.5, r["score"]
assert r["tests"][0]["name"] == "lottery"' || return 1
  [[ "$(cat "$tmp/bundle/record.lab")" == "$root/source/lab3/lab.yaml" ]] || return 1
  [[ "$(cat "$tmp/bundle/record.format")" == gradescope ]] || return 1
  local cwd
  cwd="$(cat "$tmp/bundle/record.cwd")"
  # socklab ran in a copy holding the student's files, not in the upload itself.
  [[ "$cwd" != "$root/submission" && ! -e "$root/submission/built-by-fake-socklab" ]] || return 1
  grep -q 'socklab exit status: 1' "$tmp/bundle/stdout"
}

case_fake_on_path() {
  local root
  root="$(make_tree path)"
  mkdir -p "$tmp/path/bin"
  fake_socklab "$tmp/path/bin/socklab" ok
  FAKE_RECORD="$tmp/path/record" AUTOGRADER_ROOT="$root" SOCKLAB_BIN="" PATH="$tmp/path/bin:$PATH" \
    "$root/source/run_autograder" >/dev/null 2>&1 || return 1
  check_results "$root/results/results.json" 'assert r["score"] == 7.5'
}

# Runs the failure mode $1 and checks for a score-0 fallback whose output
# contains $2.
failure_case() {
  local mode=$1 expect=$2 root
  root="$(make_tree "$mode")"
  fake_socklab "$root/source/socklab" "$mode"
  FAKE_RECORD="$tmp/$mode/record" AUTOGRADER_ROOT="$root" SOCKLAB_BIN="" SOCKLAB_TIMEOUT=1 \
    "$root/source/run_autograder" >/dev/null 2>&1 || return 1
  EXPECT="$expect" check_results "$root/results/results.json" '
assert r["score"] == 0, r["score"]
assert r["tests"] == []
assert expect in r["output"], r["output"]
assert "tell your TA" in r["output"]'
}

case_no_socklab() {
  local root
  root="$(make_tree missing)"
  AUTOGRADER_ROOT="$root" SOCKLAB_BIN="" PATH="/usr/bin:/bin" \
    "$root/source/run_autograder" >/dev/null 2>&1 || return 1
  check_results "$root/results/results.json" "
assert r['score'] == 0
assert 'status 127' in r['output'], r['output']"
}

case_real_binary() {
  local root submission lab_dir
  submission="${SOCKLAB_SUBMISSION:-$repo/examples/submissions/good}"
  lab_dir="${LAB_DIR:-$repo/scenarios/lab3}"
  root="$(make_tree real)"
  cp -a "$submission/." "$root/submission/"
  rm -rf "$root/source/lab3"
  cp -R "$lab_dir" "$root/source/lab3"
  AUTOGRADER_ROOT="$root" "$root/source/run_autograder" >"$tmp/real/stdout" 2>&1 || return 1
  cat "$tmp/real/stdout"
  check_results "$root/results/results.json" '
assert r["tests"], "the real socklab ran no test"
assert "max_score" in r
print("real socklab score:", r["score"], "/", r["max_score"])'
}

# make-bundle.sh with a given binary and lab: the zip has everything at its
# root, executable, and the unpacked bundle grades with its own socklab.
case_bundle() {
  local lab="$tmp/bundle-lab" zip="$tmp/bundle.zip" root
  mkdir -p "$lab"
  printf 'lab: lab3\n' >"$lab/lab.yaml"
  printf 'name: lottery\n' >"$lab/lottery.yaml"
  fake_socklab "$tmp/fake-socklab" ok
  LAB_DIR="$lab" SOCKLAB_BIN="$tmp/fake-socklab" "$here/make-bundle.sh" --out "$zip" >/dev/null || return 1
  root="$(make_tree unzipped)"
  rm -rf "$root/source"
  mkdir -p "$root/source"
  unzip -q "$zip" -d "$root/source" || return 1
  local f
  for f in setup.sh run_autograder socklab; do
    [[ -x "$root/source/$f" ]] || { echo "bundle: $f missing or not executable" >&2; return 1; }
  done
  [[ -f "$root/source/lab3/lab.yaml" && -f "$root/source/lab3/lottery.yaml" ]] || return 1
  FAKE_RECORD="$tmp/unzipped/record" AUTOGRADER_ROOT="$root" SOCKLAB_BIN="" \
    "$root/source/run_autograder" >/dev/null 2>&1 || return 1
  check_results "$root/results/results.json" 'assert r["score"] == 7.5' || return 1
  [[ "$(cat "$tmp/unzipped/record.lab")" == "$root/source/lab3/lab.yaml" ]]
}

run_case "fake socklab in the bundle: results copied, submission untouched" case_fake_in_bundle
run_case "fake socklab on PATH" case_fake_on_path
run_case "socklab exits 3: score-0 results with the reason" failure_case exit3 "exited with status 3"
run_case "socklab's error message reaches the output" failure_case exit3 'cannot read lab manifest: <broken> "quoted"'
run_case "socklab writes garbage: score-0 results" failure_case garbage "wrote no valid results"
run_case "socklab runs out of time: score-0 results" failure_case slow "ran out of time after 1 s"
run_case "no socklab at all: score-0 results" case_no_socklab
run_case "make-bundle.sh: a complete bundle that grades" case_bundle
if [[ -n "${SOCKLAB_BIN:-}" ]]; then
  run_case "real socklab ($SOCKLAB_BIN) on a real submission" case_real_binary
fi

echo "$passed passed, $failures failed"
[[ $failures -eq 0 ]]
