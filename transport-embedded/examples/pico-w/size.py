#!/usr/bin/env python3
"""Prints the Pico W firmware's flash and RAM from its ELF and fails if they do not fit.

Usage: python3 size.py [ELF]   (default: the release build)

Flash counts every allocated section the RP2040 runs from flash (.boot2, .vector_table,
.text, .rodata, ...) plus the initial values of .data, which the reset handler copies to RAM.
RAM counts .data, .bss and .uninit; the stack grows down from the top of RAM into what is
left. The limits are memory.x's: the flash below the token store (2 MiB less 32 KiB) and the
264 KiB of SRAM.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# CARGO_TARGET_DIR when set (cargo takes a relative one from the current folder), else ./target.
ELF = os.path.join(
    os.path.abspath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "target")),
    "thumbv6m-none-eabi",
    "release",
    "lwa-pico-w",
)

FLASH_START, FLASH_END = 0x1000_0000, 0x1020_0000
TOKEN_STORE_LEN = 32 * 1024
FLASH_LIMIT = (FLASH_END - FLASH_START) - TOKEN_STORE_LEN
RAM_START, RAM_LIMIT = 0x2000_0000, 264 * 1024

SHF_ALLOC = 0x2
SHT_NOBITS = 8


def sections(path):
    """(name, type, flags, address, size) of every section, from the ELF32 section headers."""
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1:
        sys.exit(f"{path}: not an ELF32 file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = []
    for h in headers:
        name = names[h[0]:names.index(b"\0", h[0])].decode()
        out.append((name, h[1], h[2], h[3], h[5]))
    return out


def kib(n):
    return f"{n / 1024:.1f} KiB"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else ELF
    flash = ram = 0
    print(f"{'section':<16}{'address':>12}{'bytes':>10}")
    for name, kind, flags, addr, size in sections(path):
        if not flags & SHF_ALLOC or size == 0:
            continue
        print(f"{name:<16}{addr:>#12x}{size:>10}")
        if FLASH_START <= addr < FLASH_END:
            flash += size
        elif addr >= RAM_START:
            ram += size
            if kind != SHT_NOBITS:
                flash += size  # the initial values, copied from flash at reset
    print(f"flash: {flash} bytes ({kib(flash)}) of {kib(FLASH_LIMIT)} (2 MiB less the 32 KiB token store)")
    print(f"static RAM: {ram} bytes ({kib(ram)}) of {kib(RAM_LIMIT)}; {kib(RAM_LIMIT - ram)} left for the stack")
    if flash > FLASH_LIMIT:
        sys.exit(f"the firmware needs {flash} bytes of flash; {FLASH_LIMIT} are free of the token store")
    if ram > RAM_LIMIT:
        sys.exit(f"the firmware needs {ram} bytes of static RAM; the RP2040 has {RAM_LIMIT}")


if __name__ == "__main__":
    main()
