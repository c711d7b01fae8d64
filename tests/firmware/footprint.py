#!/usr/bin/env python3
"""Measures lwa's refresh path on a Cortex-M4 (QEMU's MPS2-AN386), side by side with a
hand-written reqwless + serde-json-core refresh (the `peer` feature):

- flash (.text + .rodata + .data) and static RAM of each build, and what it adds to the
  baseline, a build of the same firmware without any exchange and without `core::fmt`;
- peak stack;
- instructions executed per exchange: QEMU runs with `-icount shift=0` (one instruction per
  nanosecond of virtual time) and the firmware reads TIMER0 around each exchange. Exact and
  repeatable, unlike time.

Run from this folder: `python3 footprint.py` (needs qemu-system-arm). Prints Markdown tables
for BENCHMARKS.md, and exits 1 if a firmware fails its checks or lwa's refresh executes as
many instructions as the peer's on either framing."""

import os
import re
import shutil
import struct
import subprocess
import sys

# Where cargo puts the build: CARGO_TARGET_DIR when set (relative to here, as cargo takes it),
# else ./target.
TARGET = os.path.abspath(os.environ.get("CARGO_TARGET_DIR") or "target")
ELF = os.path.join(TARGET, "thumbv7em-none-eabihf", "release", "lwa-firmware")
QEMU = ["qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel"]


def sections(path):
    """Section name -> size, from the ELF32 section headers."""
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1:
        sys.exit(f"{path}: not an ELF32 file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = {}
    for h in headers:
        name = names[h[0]:names.index(b"\0", h[0])].decode()
        out[name] = h[5]
    return out


def build_and_run(features):
    args = ["cargo", "build", "--release", "--quiet", "--no-default-features"]
    if features:
        args += ["--features", features]
    subprocess.run(args, check=True)
    s = sections(ELF)
    elf = os.path.join(TARGET, f"lwa-firmware-{features.replace(',', '+') or 'baseline'}.elf")
    shutil.copy(ELF, elf)
    run = subprocess.run(QEMU + [elf], capture_output=True, text=True, timeout=300)
    sys.stdout.write("".join(f"    [{features or 'baseline'}] {l}\n" for l in run.stdout.splitlines()))
    if run.returncode != 0:
        sys.exit(f"firmware ({features or 'baseline'}) failed:\n{run.stdout}{run.stderr}")
    stack = next(int(l.split()[2]) for l in run.stdout.splitlines() if l.startswith("peak stack:"))
    counts = {m.group(1): int(m.group(2))
              for m in re.finditer(r"^(.*): ok, (\d+) instructions$", run.stdout, re.M)}
    return s, stack, counts


# Instructions per byte for an answer read a byte at a time: about 490 are the calls of one
# read (the stream, `read_buf`, `handle_read`); measured 540 for the code pair, 410 for the
# chunked refresh (BENCHMARKS.md).
MAX_PER_BYTE = 800


def main():
    variants = [
        ("baseline: the stream and the checks, no exchange, no `core::fmt`", ""),
        ("lwa: refresh", "refresh"),
        ("lwa: refresh + code pair", "refresh,code-pair"),
        ("peer: reqwless 0.14 + serde-json-core 0.7 refresh, by hand", "peer"),
    ]
    rows = []
    base = None
    counts = {}
    for label, features in variants:
        s, stack, c = build_and_run(features)
        counts[features] = c
        flash = s.get(".text", 0) + s.get(".rodata", 0) + s.get(".data", 0)
        ram = s.get(".data", 0) + s.get(".bss", 0) + s.get(".uninit", 0)
        if base is None:
            base = flash
        rows.append((label, flash, flash - base, ram, stack))
    print()
    print("| firmware (Cortex-M4, opt-level z, LTO) | flash | added to the baseline | static RAM | peak stack |")
    print("|---|---|---|---|---|")
    for label, flash, dflash, ram, stack in rows:
        print(f"| {label} | {flash} B | {dflash} B ({dflash / 1024:.1f} KiB) | {ram} B | {stack} B |")
    print()
    print("| exchange (2048-byte tokens) | lwa | peer | lwa / peer |")
    print("|---|---|---|---|")
    failed = False
    lwa, peer = counts["refresh"], counts["peer"]
    for name, n in lwa.items():
        p = peer.get(name)
        if p is None:
            print(f"| {name} | {n} | (the peer cannot read it) | |")
            continue
        print(f"| {name} | {n} | {p} | {n / p:.2f} |")
        if n >= p:
            failed = True
    for name, n in counts["refresh,code-pair"].items():
        if name not in lwa:
            print(f"| {name} | {n} | | |")
    # Work must not grow with the number of reads: the head is parsed once per line and each
    # chunk line scanned once, however the answer arrives. Read a byte at a time, an answer
    # costs a call per byte and nothing more (once, a 10-line head was parsed 300 times:
    # 703 160 instructions for the 420-byte code pair, 1 674 per byte).
    both = {**counts["refresh"], **counts["refresh,code-pair"]}
    print()
    for name, recorded in (("code pair, 1-byte reads", "codepair.http"),
                           ("refresh, chunked + extension + trailer, 1-byte reads",
                            "refresh-chunked.http"),
                           ("refresh, chunked with 1 KiB chunk lines, 1-byte reads",
                            "refresh-long-extensions.http")):
        size = os.path.getsize(os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorded", recorded))
        per_byte = both[name] / size
        print(f"{name}: {per_byte:.0f} instructions per byte of the {size}-byte answer "
              f"(at most {MAX_PER_BYTE})")
        if per_byte > MAX_PER_BYTE:
            failed = True
    if failed:
        sys.exit("lwa's refresh executed at least as many instructions as the peer's, "
                 "or its work grew with the number of reads")


if __name__ == "__main__":
    main()
