#!/usr/bin/env python3
"""Measures the firmware's footprint: flash (.text + .rodata), static RAM (.data + .bss)
and peak stack, for the baseline (no exchange), the refresh path alone, and refresh plus
code pair. Run from this folder: `python3 footprint.py` (needs qemu-system-arm).
Prints a Markdown table for BENCHMARKS.md."""

import shutil
import struct
import subprocess
import sys

ELF = "target/thumbv7em-none-eabihf/release/lwa-firmware"


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
    args = ["cargo", "build", "--release", "--quiet"]
    if features is not None:
        args += ["--no-default-features"] + (["--features", features] if features else [])
    subprocess.run(args, check=True)
    s = sections(ELF)
    shutil.copy(ELF, f"target/lwa-firmware-{features or 'baseline'}.elf")
    run = subprocess.run(["cargo", "run", "--release", "--quiet"] + args[4:], capture_output=True, text=True, timeout=300)
    stack = next((int(l.split()[2]) for l in run.stdout.splitlines() if l.startswith("peak stack:")), None)
    if run.returncode != 0:
        sys.exit(f"firmware ({features}) failed:\n{run.stdout}{run.stderr}")
    return s, stack


def main():
    variants = [("baseline (no exchange)", ""), ("refresh path", "refresh"), ("refresh + code pair", "refresh,code-pair")]
    rows = []
    base = None
    for label, features in variants:
        s, stack = build_and_run(features)
        flash = s.get(".text", 0) + s.get(".rodata", 0)
        ram = s.get(".data", 0) + s.get(".bss", 0) + s.get(".uninit", 0)
        if base is None:
            base = (flash, ram, stack)
        rows.append((label, flash, flash - base[0], ram, ram - base[1], stack))
    print("| firmware | flash (.text + .rodata) | added by lwa | static RAM (.data + .bss) | added | peak stack |")
    print("|---|---|---|---|---|---|")
    for label, flash, dflash, ram, dram, stack in rows:
        print(f"| {label} | {flash} B | {dflash} B ({dflash / 1024:.1f} KiB) | {ram} B | {dram} B | {stack} B |")


if __name__ == "__main__":
    main()
