#!/usr/bin/env bash
# Builds socklab-autograder.zip, the bundle a TA uploads to Gradescope:
#   setup.sh, run_autograder, socklab (or socklab-src.tar.gz), lab3/
#
# Usage: ci/gradescope/make-bundle.sh [--from-source] [--out FILE]
#   --from-source  ship the source (git HEAD) instead of a binary; setup.sh
#                  then builds socklab inside Gradescope's image
#   --out FILE     where to write the zip (default ./socklab-autograder.zip)
# Environment:
#   SOCKLAB_BIN    ship this binary instead of building one (e.g. a static
#                  musl build, or one built on Gradescope's Ubuntu release)
#   LAB_DIR        the lab directory to ship (default scenarios/lab3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
from_source=false
out="$PWD/socklab-autograder.zip"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --from-source) from_source=true ;;
    --out)
      [[ $# -ge 2 ]] || { echo "make-bundle.sh: --out needs a file" >&2; exit 2; }
      out="$2"
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "make-bundle.sh: unknown argument $1" >&2
      exit 2
      ;;
  esac
  shift
done
[[ "$out" = /* ]] || out="$PWD/$out"

lab_dir="${LAB_DIR:-$repo/scenarios/lab3}"
if [[ ! -f "$lab_dir/lab.yaml" ]]; then
  echo "make-bundle.sh: no lab manifest at $lab_dir/lab.yaml" >&2
  exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

install -m 0755 "$here/setup.sh" "$stage/setup.sh"
install -m 0755 "$here/run_autograder" "$stage/run_autograder"
cp -R "$lab_dir" "$stage/lab3"

if $from_source; then
  git -C "$repo" archive --format=tar.gz -o "$stage/socklab-src.tar.gz" HEAD
elif [[ -n "${SOCKLAB_BIN:-}" ]]; then
  install -m 0755 "$SOCKLAB_BIN" "$stage/socklab"
else
  cargo build --release --locked -p socklab --manifest-path "$repo/Cargo.toml"
  install -m 0755 "${CARGO_TARGET_DIR:-$repo/target}/release/socklab" "$stage/socklab"
fi

rm -f "$out"
(cd "$stage" && zip -qr "$out" .)
echo "wrote $out"
unzip -l "$out"
