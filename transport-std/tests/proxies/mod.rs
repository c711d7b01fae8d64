//! Proxies for the tests, over real sockets: tinyproxy from the distribution (started and
//! stopped by the test), a relay that records every byte a proxy sees, and scripted hostile
//! proxies. lwa-std's tests and the command's (`cli/tests/proxy.rs`, by `#[path]`) share it.

// Each test file uses its part of this module.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// tinyproxy's binary, if the distribution's package is installed.
fn tinyproxy_binary() -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain(["/usr/bin".into(), "/usr/sbin".into()])
        .map(|d| d.join("tinyproxy"))
        .find(|p| p.is_file())
}

/// A free port on 127.0.0.1 (free when this returns: tinyproxy cannot take port 0).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// tinyproxy running in the foreground on 127.0.0.1, killed when dropped.
pub(crate) struct Tinyproxy {
    child: Child,
    /// Its port.
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// tinyproxy allowing `CONNECT` to `connect_port` only, with Basic authentication when
    /// `auth` is a user and password. `None` when tinyproxy is not installed: the test then
    /// says it is skipped, and fails if `LWA_REQUIRE_SERVICES=1` (CI installs it).
    pub(crate) fn start(connect_port: u16, auth: Option<(&str, &str)>) -> Option<Self> {
        let Some(binary) = tinyproxy_binary() else {
            assert!(
                std::env::var_os("LWA_REQUIRE_SERVICES").is_none_or(|v| v != "1"),
                "tinyproxy is not installed and LWA_REQUIRE_SERVICES=1: apt-get install tinyproxy"
            );
            eprintln!("SKIPPED: tinyproxy is not installed (apt-get install tinyproxy)");
            return None;
        };
        // A port taken by someone else between free_port and tinyproxy's bind: try again.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n\
                 ConnectPort {connect_port}\nMaxClients 20\nLogLevel Info\nLogFile \"{}\"\n",
                dir.path().join("tinyproxy.log").display()
            );
            if let Some((user, password)) = auth {
                conf.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            let conf_path = dir.path().join("tinyproxy.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let child = Command::new(&binary)
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut proxy = Self { child, port, dir };
            if proxy.wait_listening() {
                return Some(proxy);
            }
        }
        panic!("tinyproxy did not start");
    }

    /// Waits up to 10 s for the port to accept connections; false if tinyproxy exited.
    fn wait_listening(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// `http://127.0.0.1:PORT`, with `user:password@` if given.
    pub(crate) fn url(&self, credentials: Option<&str>) -> String {
        match credentials {
            Some(c) => format!("http://{c}@127.0.0.1:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// What tinyproxy logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay on 127.0.0.1 to `upstream` that records every byte both ways: put in front
/// of a proxy, it holds exactly what the proxy saw and said.
pub(crate) struct Recorder {
    /// Its port.
    pub(crate) port: u16,
    /// Bytes from the client, per connection in order, all connections appended.
    pub(crate) sent: Arc<Mutex<Vec<u8>>>,
    /// Bytes from the upstream.
    pub(crate) received: Arc<Mutex<Vec<u8>>>,
    pub(crate) connections: Arc<Mutex<usize>>,
}

impl Recorder {
    pub(crate) fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (s, r, c) = (sent.clone(), received.clone(), connections.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                *c.lock().unwrap() += 1;
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    s.clone(),
                );
                pump(server, client, r.clone());
            }
        });
        Self {
            port,
            sent,
            received,
            connections,
        }
    }

    /// Everything recorded, both ways.
    pub(crate) fn all(&self) -> Vec<u8> {
        let mut all = self.sent.lock().unwrap().clone();
        all.extend_from_slice(&self.received.lock().unwrap());
        all
    }
}

/// Copies `from` to `to` on a thread of its own, recording what passes.
fn pump(mut from: TcpStream, mut to: TcpStream, record: Arc<Mutex<Vec<u8>>>) {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// What a hostile proxy does once it has read a request head.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Hostile {
    /// Reads the request, then says nothing and keeps the connection open.
    Stall,
    /// Accepts the connection and never reads nor answers.
    Silent,
    /// Sends a valid-looking status line a byte every 200 ms, forever.
    Trickle,
    /// Answers `HTTP/1.1 200 Connection established`, then closes.
    OkThenClose,
    /// Answers `HTTP/1.1 200 Connection established`, then says nothing more.
    OkThenStall,
    /// Answers bytes that are not HTTP.
    Garbage,
    /// Answers this status with a small HTML body.
    Status(u16),
}

/// A scripted proxy on 127.0.0.1; records each request head it read.
pub(crate) struct HostileProxy {
    pub(crate) port: u16,
    pub(crate) heads: Arc<Mutex<Vec<Vec<u8>>>>,
    pub(crate) connections: Arc<Mutex<usize>>,
}

impl HostileProxy {
    pub(crate) fn start(behaviour: Hostile) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (h, c) = (heads.clone(), connections.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                *c.lock().unwrap() += 1;
                let h = h.clone();
                thread::spawn(move || serve(stream, behaviour, &h));
            }
        });
        Self {
            port,
            heads,
            connections,
        }
    }

    pub(crate) fn url(&self, credentials: Option<&str>) -> String {
        match credentials {
            Some(c) => format!("http://{c}@127.0.0.1:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    pub(crate) fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

fn serve(mut stream: TcpStream, behaviour: Hostile, heads: &Mutex<Vec<Vec<u8>>>) {
    if let Hostile::Silent = behaviour {
        thread::sleep(Duration::from_secs(60));
        return;
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    heads.lock().unwrap().push(head);
    match behaviour {
        Hostile::Silent => {}
        Hostile::Stall => thread::sleep(Duration::from_secs(60)),
        Hostile::Trickle => {
            for b in b"HTTP/1.1 200 Connection established\r\nX-Pad: "
                .iter()
                .chain(std::iter::repeat(&b'a'))
            {
                if stream.write_all(&[*b]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(200));
            }
        }
        Hostile::OkThenClose => {
            let _ = stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        }
        Hostile::OkThenStall => {
            let _ = stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            thread::sleep(Duration::from_secs(60));
        }
        Hostile::Garbage => {
            let _ = stream.write_all(b"\x00\xffSSH-2.0-nonsense\r\n\r\n");
        }
        Hostile::Status(status) => {
            let body = "<html>no</html>";
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Nope\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Proxy-Authenticate: Basic realm=\"test\"\r\n\r\n{body}",
                body.len()
            );
        }
    }
}
