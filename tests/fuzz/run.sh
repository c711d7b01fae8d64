#!/usr/bin/env bash
# Runs each fuzz target for the given number of seconds (default 60), one after another.
# Only the stable toolchain exists here; cargo-fuzz needs nightly flags, so RUSTC_BOOTSTRAP=1
# lets stable accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
export RUSTC_BOOTSTRAP=1
for target in response json request; do
    mkdir -p "corpus/$target"
    seeds=()
    [ -d "seeds/$target" ] && seeds=("seeds/$target")
    cargo fuzz run "$target" "corpus/$target" "${seeds[@]}" -- -max_total_time="$secs" -max_len=8192
done
