#!/usr/bin/env python3
"""The host side of the device test: QEMU's MPS2-AN386 with a Cortex-M4 runs the firmware
given as the first argument; its UART0 is a TCP socket to this script, which plays the
device's network (a Wi-Fi module's "connect host:port, data, close", in the frames that
src/wire.rs describes) and its operator (test controls).

Names the firmware can connect to, all on 127.0.0.1:
  lwa.test     `lwa mock-server --tls` with a certificate for lwa.test and api.amazon.com,
               chain as the firmware asks
  api.amazon.com  the same look-alike, as this network's DNS would have it (the device app)
  wrong.test   the same server: its certificate does not name wrong.test
  rogue.test   a second look-alike with a certificate for rogue.test from a CA the
               firmware does not trust (an ECDSA look-alike chain, keys made for the run)
  stall.test   reads the ClientHello, sends half a record header, then says nothing
  close.test   reads the ClientHello, sends half a record header, then closes
anything else is refused, as an unknown name would be.

Controls: `start CHAIN` starts the look-alikes with `--chain CHAIN` (LWA_DEVICE_CHAIN, when
set, overrides the firmware's choice: any shape `lwa mock-server --chain` knows) and answers
the root CA in DER; `offered XXXX,...` gives the signature schemes the firmware's verifier
checks (hex, in order), and every ClientHello the firmware sends must offer exactly those, or
the run fails; `time`
answers the Unix time (what SNTP would give a device);
`rotate 1|0`, `revoke`, `stats` (LWA requests answered) go to the look-alike's /mock/
endpoints. Exits with QEMU's exit code (the firmware's verdict); stops everything it
started, and gives up after TIMEOUT seconds (default 300).

Run by cargo as the firmware's runner: `cargo run --release --bin blocking`."""

import base64
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TIMEOUT = float(os.environ.get("LWA_DEVICE_TIMEOUT", "300"))
# LWA_QEMU_ICOUNT=1: one instruction per nanosecond of virtual time, so that the firmware's
# SysTick counts instructions (footprint.py uses it; it runs slower).
ICOUNT = os.environ.get("LWA_QEMU_ICOUNT") == "1"


def log(msg):
    print(f"harness: {msg}", flush=True)


class LookAlike:
    """One `lwa mock-server --tls` process."""

    def __init__(self, lwa, chain, name, tmp, extra=()):
        self.name = name
        self.ca_file = os.path.join(tmp, f"{name}-ca.pem")
        args = [lwa, "mock-server", "--tls", "--port", "0", "--chain", chain, "--name", name,
                "--ca-out", self.ca_file, *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 30
        while self.port is None:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"lwa mock-server for {name} exited: code {self.proc.wait()}")
            if line.startswith("LWA look-alike at "):
                self.port = int(line.rsplit(":", 1)[1])
            if time.time() > deadline:
                raise RuntimeError("lwa mock-server did not start")
        # Drain its output so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        while not os.path.exists(self.ca_file):
            time.sleep(0.05)
        self.ctx = ssl.create_default_context(cafile=self.ca_file)

    def ca_der(self):
        pem = open(self.ca_file).read()
        body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        return base64.b64decode("".join(body.split()))

    def call(self, method, path):
        """An HTTPS request to the look-alike's own endpoints; returns the body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with self.ctx.wrap_socket(raw, server_hostname=self.name) as s:
                s.sendall(f"{method} {path} HTTP/1.1\r\nHost: {self.name}\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{method} {path}: {head[:40]!r}")
        return body.decode()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def half_handshake_server(close):
    """A server that reads the ClientHello, sends half a TLS record header, then either
    closes or stays silent until the client goes away (at most 60 s)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.settimeout(60)
            try:
                conn.recv(4096)
                conn.sendall(b"\x16\x03")
                if not close:
                    while conn.recv(4096):
                        pass
            except OSError:
                pass
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener


class Bridge:
    """UART0 of the board <-> TCP connections, frame by frame."""

    def __init__(self, uart, routes, controls, hellos):
        self.uart = uart
        self.routes = routes
        self.controls = controls
        self.lock = threading.Lock()
        self.conn = None
        self.reader = None
        # What the device sent on the current connection before its first record was whole.
        self.first = None
        # The first record the device sent on each connection: its ClientHello.
        self.hellos = hellos

    def send(self, kind, payload=b""):
        with self.lock:
            self.uart.sendall(kind + struct.pack("<H", len(payload)) + payload)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.uart.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def close(self):
        if self.conn is not None:
            try:
                self.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.conn.close()
            self.reader.join()
            self.conn = self.reader = None

    def pump(self, conn):
        """Server -> device, until the server closes or the device closes the connection."""
        while True:
            try:
                data = conn.recv(1024)
            except OSError:
                return
            if not data:
                try:
                    self.send(b"F")
                except OSError:
                    pass
                return
            self.send(b"D", data)

    def serve(self):
        while True:
            try:
                kind, length = struct.unpack("<cH", self.recv_exact(3))
                payload = self.recv_exact(length)
            except (EOFError, OSError):
                self.close()
                return
            if kind == b"C":
                self.close()
                host = payload.decode(errors="replace").rsplit(":", 1)[0]
                port = self.routes.get(host)
                if port is None:
                    self.send(b"E", b"unknown host")
                    continue
                try:
                    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                    conn.settimeout(None)
                except OSError as e:
                    self.send(b"E", str(e).encode()[:200])
                    continue
                self.send(b"O")
                self.first = b""
                self.conn = conn
                self.reader = threading.Thread(target=self.pump, args=(conn,), daemon=True)
                self.reader.start()
            elif kind == b"D":
                if self.first is not None:
                    self.first += payload
                    if len(self.first) >= 5 and len(self.first) >= 5 + struct.unpack(">H", self.first[3:5])[0]:
                        self.hellos.append(self.first)
                        self.first = None
                if self.conn is not None:
                    try:
                        self.conn.sendall(payload)
                    except OSError:
                        pass
            elif kind == b"X":
                self.close()
            elif kind == b"M":
                try:
                    answer = self.controls(payload.decode())
                except Exception as e:  # the firmware sees an empty answer and fails its check
                    log(f"control {payload!r} failed: {e}")
                    answer = b""
                self.send(b"R", answer)
            else:
                log(f"unknown frame {kind!r}")


def signature_algorithms(record):
    """The signature_algorithms of a ClientHello record, as hex codes; None if it is not one."""
    try:
        if record[0] != 22:
            return None
        hello = record[5:5 + struct.unpack(">H", record[3:5])[0]]
        if hello[0] != 1:
            return None
        i = 4 + 2 + 32
        i += 1 + hello[i]
        i += 2 + struct.unpack(">H", hello[i:i + 2])[0]
        i += 1 + hello[i]
        end = i + 2 + struct.unpack(">H", hello[i:i + 2])[0]
        i += 2
        while i < end:
            kind, length = struct.unpack(">HH", hello[i:i + 4])
            if kind == 13:
                data = hello[i + 6:i + 4 + length]
                return [data[j:j + 2].hex() for j in range(0, len(data), 2)]
            i += 4 + length
    except (IndexError, struct.error):
        return None
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: harness.py FIRMWARE.elf")
    firmware = sys.argv[1]
    # Where cargo puts it: CARGO_TARGET_DIR when set (from the current folder if relative, as
    # cargo takes it; handed on absolute, since the build runs in the workspace), else the
    # workspace's target folder.
    target = os.environ.get("CARGO_TARGET_DIR")
    target = os.path.abspath(target) if target else os.path.join(ROOT, "target")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "lwa"], cwd=ROOT, check=True,
                   env={**os.environ, "CARGO_TARGET_DIR": target})
    lwa = os.path.join(target, "release", "lwa")
    tmp = tempfile.mkdtemp(prefix="lwa-device-")
    started = []
    stall = half_handshake_server(close=False)
    closer = half_handshake_server(close=True)
    routes = {"stall.test": stall.getsockname()[1], "close.test": closer.getsockname()[1]}
    state = {}

    def controls(command):
        words = command.split()
        if words[0] == "start":
            chain = os.environ.get("LWA_DEVICE_CHAIN") or words[1]
            main = LookAlike(lwa, chain, "lwa.test", tmp,
                             ["--name", "api.amazon.com", "--approve-after-polls", "2", "--poll-interval", "1"])
            started.append(main)
            # An ECDSA chain whatever the device verifies (its keys are made for the run, while
            # the look-alike's RSA chains share fixed test keys: ring cannot make RSA keys), and
            # a root of another name than the main one's, so that the device finds no anchor
            # for it (UnknownIssuer) rather than an anchor whose key does not match.
            rogue_chain = "amazon-p384" if chain == "amazon-p256" else "amazon-p256"
            rogue = LookAlike(lwa, rogue_chain, "rogue.test", tmp)
            started.append(rogue)
            routes.update({"lwa.test": main.port, "api.amazon.com": main.port, "wrong.test": main.port,
                           "rogue.test": rogue.port})
            state["main"] = main
            log(f"look-alikes up ({chain} chains): lwa.test on {main.port}, rogue.test on {rogue.port}")
            return main.ca_der()
        if words[0] == "offered":
            state["offered"] = words[1].split(",")
            return b"ok"
        main = state["main"]
        if words[0] == "rotate":
            main.call("POST", f"/mock/rotate?on={words[1]}")
            return b"ok"
        if words[0] == "revoke":
            main.call("POST", "/mock/revoke")
            return b"ok"
        if words[0] == "time":
            return str(int(time.time())).encode()
        if words[0] == "icount":
            return b"1" if ICOUNT else b"0"
        if words[0] == "stats":
            body = main.call("GET", "/mock/stats")
            return body.split('"requests":')[1].split("}")[0].split(",")[0].strip().encode()
        raise ValueError(f"unknown control {command!r}")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    qemu = subprocess.Popen([
        "qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none",
        "-semihosting-config", "enable=on,target=native",
        "-chardev", f"socket,id=wire,host=127.0.0.1,port={port}", "-serial", "chardev:wire",
        "-kernel", firmware,
    ] + (["-icount", "shift=0"] if ICOUNT else []))
    code = 1
    try:
        listener.settimeout(30)
        uart, _ = listener.accept()
        hellos = []
        bridge = threading.Thread(target=Bridge(uart, routes, controls, hellos).serve, daemon=True)
        bridge.start()
        t0 = time.time()
        code = qemu.wait(timeout=TIMEOUT)
        log(f"firmware exited with {code} after {time.time() - t0:.1f} s under QEMU")
        offered = state.get("offered")
        wrong = [h for h in hellos if signature_algorithms(h) != offered]
        if offered is None or wrong:
            log(f"ClientHello check failed: verifier checks {offered}, "
                f"{len(wrong)} of {len(hellos)} ClientHellos offered otherwise "
                f"({signature_algorithms(wrong[0]) if wrong else None})")
            code = code or 1
        else:
            log(f"{len(hellos)} ClientHellos offered exactly the verifier's schemes ({','.join(offered)})")
    except subprocess.TimeoutExpired:
        log(f"firmware still running after {TIMEOUT:.0f} s: stopped")
    except OSError as e:
        log(f"QEMU did not connect its UART: {e}")
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        for server in started:
            server.stop()
        for s in (stall, closer, listener):
            s.close()
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)
    sys.exit(code)


if __name__ == "__main__":
    main()
