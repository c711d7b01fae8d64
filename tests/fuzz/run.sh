#!/usr/bin/env bash
# Runs fuzz targets one after another, each for SECONDS (default 60), single-threaded.
#
#   ./run.sh [SECONDS] [TARGET...]        targets: response json request (default: all three)
#
# FUZZ_FLAGS adds cargo-fuzz options, e.g. FUZZ_FLAGS=--no-default-features for the device
# build (no JSON fast path), or FUZZ_FLAGS="-s none" where the address sanitizer will not
# build. Only the stable toolchain exists here; cargo-fuzz needs nightly flags, so
# RUSTC_BOOTSTRAP=1 lets stable accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(response json request)
export RUSTC_BOOTSTRAP=1
read -r -a flags <<< "${FUZZ_FLAGS:-}"

# The response target reads a control byte and piece sizes before the server's bytes (see
# fuzz_targets/response.rs); give each raw answer in seeds/response a few such prefixes.
response_seeds() {
    local out=corpus/seeds-response
    mkdir -p "$out"
    local prefix name
    for seed in seeds/response/*.http; do
        name=$(basename "$seed" .http)
        # whole; code pair; 1-byte pieces; reads of 7; tight buffer with 64,3; code pair
        # with reads of 1,5,32.
        for prefix in '\x00' '\x80' '\x01\x01' '\x09\x07' '\x42\x40\x03' '\x8b\x01\x05\x20'; do
            { printf "$prefix"; cat "$seed"; } > "$out/$name-$(printf '%s' "$prefix" | tr -d '\\x')"
        done
    done
    echo "$out"
}

for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    dirs=("corpus/$target")
    if [ "$target" = response ]; then
        dirs+=("$(response_seeds)")
    elif [ -d "seeds/$target" ]; then
        dirs+=("seeds/$target")
    fi
    [ -d "regressions/$target" ] && dirs+=("regressions/$target")
    cargo fuzz run "${flags[@]}" "$target" "${dirs[@]}" -- \
        -max_total_time="$secs" -max_len=8192 -print_final_stats=1
done
