#!/usr/bin/env python3
"""Measures the device firmware on the Cortex-M4 and prints Markdown tables for
BENCHMARKS.md: the device app (what a device carries) against every chain shape of the
look-alike, with lwa-embedded's default trust anchors plus the run's test root: flash (the
whole firmware and its networking part), static RAM, peak stack, heap high-water and the
instructions of one handshake (QEMU with -icount shift=0, so the firmware's busy counter
counts instructions); the P-256-only build (no `rsa` feature) against the shapes it can
verify, the `rsa` build against all. Then what each addition costs (the anchor set, P-384,
Ed25519, SHA-384/512), the scenario firmwares of both drivers (flash, RAM, instructions for
one refresh with and without the handshake, wall time under plain QEMU), and the split of
the TLS-only firmware by crate.

Run from this folder: `python3 footprint.py` (needs qemu-system-arm and python3; about ten
minutes). `python3 footprint.py sealing` measures only what sealing the token store costs
(a minute). Flash is .text + .rodata + .data from the ELF section headers.

How flash is split: `baseline` (board, clock, report; no network), `tls_only` (the same
wire and verified TLS handshake, a fixed request written raw, no lwa) and `device` (what a
device carries: linking and a refresh through the blocking driver, no scenario checks) are
built beside the scenario firmwares. networking part = firmware - baseline; lwa adds =
device - tls_only; TLS, X.509 and crypto split tls_only's symbols by crate (LTO inlines
across crates, so that split is approximate; the subtractions are exact)."""

import os
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# CARGO_TARGET_DIR when set (cargo takes a relative one from the current folder), else ./target.
ELF = os.path.join(
    os.path.abspath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "target")),
    "thumbv7em-none-eabihf",
    "release",
)

TLS = {"embedded_tls", "heapless"}
X509 = {"webpki", "rustls_pki_types", "untrusted", "der", "const_oid", "spki", "pkcs1", "pkcs8"}
CRYPTO = {"p256", "primeorder", "elliptic_curve", "ecdsa", "crypto_bigint", "aes", "aes_gcm",
          "ghash", "polyval", "sha2", "digest", "hkdf", "hmac", "cipher", "universal_hash",
          "crypto_common", "block_buffer", "generic_array", "subtle", "ff", "group", "signature",
          "rsa", "num_bigint_dig", "num_bigint", "num_traits", "num_integer", "num_iter",
          "rfc6979", "typenum", "zeroize", "ctr", "inout", "rand_core", "rand_chacha",
          "ppv_lite86", "smallvec", "spin", "embedded_alloc", "linked_list_allocator",
          "alloc", "const_default", "sec1", "aead", "zerocopy"}


def elf(path):
    """(sections: name -> size, symbols: [(name, size, section)]) of an ELF32 file."""
    d = open(path, "rb").read()
    shoff, = struct.unpack_from("<I", d, 0x20)
    es, n, si = struct.unpack_from("<HHH", d, 0x2E)
    hs = [struct.unpack_from("<IIIIIIIIII", d, shoff + i * es) for i in range(n)]
    st = hs[si]
    names = d[st[4]:st[4] + st[5]]
    nm = lambda o: names[o:names.index(b"\0", o)].decode()
    secs = [(nm(h[0]), h) for h in hs]
    sizes = {name: h[5] for name, h in secs}
    symtab = next(h for name, h in secs if name == ".symtab")
    strh = hs[symtab[6]]
    strs = d[strh[4]:strh[4] + strh[5]]
    syms = []
    for i in range(symtab[5] // 16):
        name, _, size, _, _, shndx = struct.unpack_from("<IIIBBH", d, symtab[4] + i * 16)
        if size and 0 < shndx < len(secs):
            syms.append((strs[name:strs.index(b"\0", name)].decode(), size, secs[shndx][0]))
    return sizes, syms


def crate(symbol):
    """The crate a mangled Rust symbol belongs to (legacy or v0 mangling); '' if none."""
    if symbol.startswith("_ZN"):
        m = re.match(r"_ZN(\d+)", symbol)
        seg = symbol[m.end():m.end() + int(m.group(1))]
        seg = seg.replace("_$LT$", "").replace("$LT$", "").replace("$RF$", "").replace("$u20$", " ")
        seg = seg.lstrip("_. ").removeprefix("mut ")
        # A blanket impl `<T as krate::Trait>::f` belongs to the trait's crate.
        m = re.match(r"[A-Z] as (\w+)", seg)
        if m:
            return m.group(1)
        return re.split(r"\.\.|\$| ", seg)[0]
    if symbol.startswith("_R"):
        m = re.search(r"C(?:s[0-9a-zA-Z]*_)?(\d+)([A-Za-z_][A-Za-z0-9_]*)", symbol)
        if m:
            return m.group(2)[:int(m.group(1))]
    return ""


def flash(sizes):
    return sizes.get(".text", 0) + sizes.get(".rodata", 0) + sizes.get(".data", 0)


def static_ram(sizes):
    return sizes.get(".data", 0) + sizes.get(".bss", 0) + sizes.get(".uninit", 0)


def build(features, bins=("baseline", "tls_only", "device", "blocking", "async")):
    args = ["cargo", "build", "--release", "--quiet"] + [a for b in bins for a in ("--bin", b)]
    if features:
        args += ["--features", features]
    subprocess.run(args, cwd=HERE, check=True)
    return {b: elf(os.path.join(ELF, b)) for b in bins}


def run(features, binary, icount, chain=None):
    env = dict(os.environ, LWA_QEMU_ICOUNT="1" if icount else "0")
    if chain:
        env["LWA_DEVICE_CHAIN"] = chain
    args = ["cargo", "run", "--release", "--quiet", "--bin", binary] + (["--features", features] if features else [])
    t = time.time()
    out = subprocess.run(args, cwd=HERE, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        sys.exit(f"{binary} ({features or 'p256'}, chain {chain}) failed:\n{out.stdout}{out.stderr}")
    text = out.stdout + out.stderr
    num = lambda pattern: int(re.search(pattern, text).group(1))
    result = {"stack": num(r"peak stack: (\d+)"), "heap": num(r"heap peak: (\d+)"),
              "handshake": num(r"last handshake \d+ ms, (\d+) work")}
    m = re.search(r"one refresh: (\d+) \S+.* with the handshake, (\d+) without; (\d+) ms", text)
    if m:
        result.update(work=int(m.group(1)), exchange=int(m.group(2)), ms=int(m.group(3)))
    return result


def kib(n):
    return f"{n:,} B ({n / 1024:.1f} KiB)".replace(",", " ")


def num(n):
    return "-" if n is None else f"{n:,}".replace(",", " ")


# The look-alike's chain shapes (`lwa mock-server --chain`); the P-256-only build cannot
# verify RSA signatures, so it meets the ECDSA shapes only.
ECDSA_SHAPES = ["p256", "amazon-p256", "amazon-p384"]
ALL_SHAPES = ["p256", "amazon-p256", "amazon-p384", "rsa", "digicert-rsa", "amazon-rsa",
              "amazon-rsa4096", "cross-signed"]

# What each verifier added to lwa-embedded links, by symbol (LTO may inline some of it into
# its callers: a lower bound, against the exact subtractions of the anchor set).
ADDITIONS = [
    ("ECDSA P-384 (certificates and handshake)", re.compile(r"p384|P384")),
    ("Ed25519 (certificates and handshake)", re.compile(r"ed25519|Ed25519")),
    ("their shared Montgomery arithmetic (on crypto-bigint)", re.compile(r"algorithms(5|\.\.)field")),
    ("SHA-384/512 (sha2, compact rounds)", re.compile(r"sha512|Sha512")),
]


def additions(syms):
    out = {}
    for label, pattern in ADDITIONS:
        out[label] = sum(size for name, size, sec in syms
                         if sec in (".text", ".rodata", ".data") and pattern.search(name))
    return out


def main():
    shape_rows, scenario_rows, splits, costs = [], [], [], []
    for build_name, features in (("P-256 only", ""), ("with `rsa`", "rsa")):
        # The same device app trusting the run's root alone: built first, as the next build
        # writes the same file.
        one = build(",".join(f for f in (features, "one-anchor") if f), bins=("device",))
        elves = build(features)
        base = flash(elves["baseline"][0])
        dev_sizes, dev_syms = elves["device"]
        costs.append((build_name, flash(dev_sizes) - flash(one["device"][0]), additions(dev_syms)))
        for chain in (ALL_SHAPES if features else ECDSA_SHAPES):
            r = run(features, "device", icount=True, chain=chain)
            total, ram = flash(dev_sizes), static_ram(dev_sizes)
            shape_rows.append((chain, build_name, total, total - base, ram, r["stack"], r["heap"],
                               r["handshake"]))
        tls = flash(elves["tls_only"][0])
        groups = {"embedded-tls": 0, "X.509 (webpki)": 0, "crypto": 0, "other": 0}
        for name, size, sec in elves["tls_only"][1]:
            if sec not in (".text", ".rodata", ".data"):
                continue
            c = crate(name)
            group = "embedded-tls" if c in TLS else "X.509 (webpki)" if c in X509 else "crypto" if c in CRYPTO else "other"
            groups[group] += size
        splits.append((build_name, base, tls, flash(dev_sizes), groups))
        for driver in ("blocking", "async"):
            sizes = elves[driver][0]
            timed = run(features, driver, icount=False)
            counted = run(features, driver, icount=True)
            total, ram = flash(sizes), static_ram(sizes)
            scenario_rows.append((build_name, driver, total, total - base, ram, timed["stack"],
                                  timed["heap"], counted.get("work"), counted.get("exchange"), timed.get("ms")))

    print("Device app, one build per row group, against each chain shape (default anchor set plus the run's root):")
    print()
    print("| chain shape | build | flash | networking part | static RAM | peak stack | heap peak | RAM in all | instructions, one handshake |")
    print("|---|---|---|---|---|---|---|---|---|")
    for chain, build_name, total, net, ram, stack, heap, hs in shape_rows:
        print(f"| {chain} | {build_name} | {kib(total)} | **{kib(net)}** | {kib(ram)} | {kib(stack)} "
              f"| {kib(heap)} | **{kib(ram + stack)}** | {num(hs)} |")
    print()
    print("What each addition costs in the device app's flash:")
    print()
    labels = ["the default anchor set (device app - the same trusting one root)"] + [a[0] for a in ADDITIONS]
    print("| addition | " + " | ".join(c[0] for c in costs) + " |")
    print("|---|" + "---|" * len(costs))
    print(f"| {labels[0]} | " + " | ".join(kib(c[1]) for c in costs) + " |")
    for label, _ in ADDITIONS:
        print(f"| {label} | " + " | ".join(kib(c[2][label]) for c in costs) + " |")
    print()
    print("| build | scenario | flash | networking part | static RAM | peak stack | heap peak "
          "| RAM in all | instructions, one refresh with handshake | without | wall time of that refresh |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for build_name, driver, total, net, ram, stack, heap, work, exch, ms in scenario_rows:
        print(f"| {build_name} | {driver} | {kib(total)} | {kib(net)} | {kib(ram)} | {kib(stack)} "
              f"| {kib(heap)} | {kib(ram + stack)} | {num(work)} | {num(exch)} | {num(ms)}{'' if ms is None else ' ms'} |")
    print()
    print("| build | baseline | TLS-only firmware | of which embedded-tls | X.509 (webpki) | crypto | other (runtime, wire, board, RNG) | device app | lwa adds (device app - TLS-only) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for build_name, base, tls, dev, g in splits:
        print(f"| {build_name} | {kib(base)} | {kib(tls)} | {kib(g['embedded-tls'])} | {kib(g['X.509 (webpki)'])} "
              f"| {kib(g['crypto'])} | {kib(g['other'])} | {kib(dev)} | {kib(dev - tls)} |")
    print()
    print("Networking part = firmware - baseline. Static RAM includes the RSA build's 24 KiB heap "
          "arena; RAM in all = static RAM + peak stack.")


def qemu(path):
    """Runs a firmware that needs no harness under plain QEMU; its peak stack."""
    out = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
                          "-semihosting-config", "enable=on,target=native", "-kernel", path],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"{path} failed:\n{out.stdout}{out.stderr}")
    return int(re.search(r"peak stack: (\d+)", out.stdout).group(1))


def sealing():
    """What sealing the token store costs (`python3 footprint.py sealing`): the flash store
    alone (`store_only`: store, load, forget; no TLS, so AES-GCM, HMAC and SHA-256 come in
    with the seal) and the device app (TLS linked), each built plain and with `sealed`."""
    rows = []
    for features in ("", "sealed"):
        bins = build(features, bins=("store_only", "device"))
        store_stack = qemu(os.path.join(ELF, "store_only"))
        device_stack = run(features, "device", icount=False)["stack"]
        rows.append((features, bins, store_stack, device_stack))
    print("| firmware | store | flash | static RAM | peak stack |")
    print("|---|---|---|---|---|")
    for name, key in (("flash store alone, no TLS (`store_only`)", "store_only"), ("device app, TLS linked (`device`)", "device")):
        for features, bins, store_stack, device_stack in rows:
            sizes = bins[key][0]
            stack = store_stack if key == "store_only" else device_stack
            print(f"| {name} | {'sealed' if features else 'plain'} | {kib(flash(sizes))} | {kib(static_ram(sizes))} | {kib(stack)} |")
    for name, key in (("without TLS", "store_only"), ("with TLS", "device")):
        (_, plain, ps, pd), (_, sealed, ss, sd) = rows
        stack = (ss - ps) if key == "store_only" else (sd - pd)
        print(f"sealing adds, {name}: flash {flash(sealed[key][0]) - flash(plain[key][0])} B, "
              f"static RAM {static_ram(sealed[key][0]) - static_ram(plain[key][0])} B, peak stack {stack} B")


if __name__ == "__main__":
    if sys.argv[1:] == ["sealing"]:
        sealing()
    else:
        main()
