#!/usr/bin/env bash
# Gradescope image setup: runs once, as root, when the autograder is built,
# with the bundle unpacked in /autograder/source.
#
# Installs what the students' programs and socklab need (gcc, make,
# iproute2), then socklab itself:
#   - the prebuilt `socklab` binary shipped in the bundle, if there is one;
#   - otherwise builds it from `socklab-src.tar.gz` in the bundle with a
#     Rust toolchain installed by rustup (make-bundle.sh --from-source).
set -euo pipefail

bundle="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rust_toolchain="${SOCKLAB_RUST_TOOLCHAIN:-stable}"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  gcc libc6-dev make iproute2 ca-certificates curl python3

if [[ -f "$bundle/socklab" ]]; then
  chmod 0755 "$bundle/socklab"
  echo "setup.sh: using the prebuilt socklab in the bundle"
elif [[ -f "$bundle/socklab-src.tar.gz" ]]; then
  echo "setup.sh: building socklab from source with Rust $rust_toolchain"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --default-toolchain "$rust_toolchain"
  src="$(mktemp -d)"
  tar -xzf "$bundle/socklab-src.tar.gz" -C "$src"
  "$HOME/.cargo/bin/cargo" build --release --locked -p socklab --manifest-path "$src/Cargo.toml"
  install -m 0755 "$src/target/release/socklab" "$bundle/socklab"
  rm -rf "$src"
else
  echo "setup.sh: the bundle has neither a socklab binary nor socklab-src.tar.gz" >&2
  exit 1
fi

"$bundle/socklab" --version || true
