//! End to end: `lwa` through HTTP proxies, real processes and sockets: `lwa mock-server
//! --tls` behind tinyproxy from the distribution (with Basic authentication), the proxy
//! from `--proxy` or from the environment (`https_proxy` over `HTTPS_PROXY`, `NO_PROXY`),
//! `--proxy none`, a relay recording what the proxy sees, hostile proxies, and refused
//! proxy URLs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "../../tests/proxies/mod.rs"]
mod proxies;

use common::{Env, stderr, stdout};
use proxies::{Hostile, HostileProxy, Recorder, Tinyproxy};

const CLIENT_SECRET: &str = "s3cr3t-never-at-the-proxy";
const PROXY_USER: &str = "lwa";
const PROXY_PASSWORD: &str = "pr0xypass";

/// `lwa mock-server --tls` approving every device code at its first poll and asking for
/// the client secret; killed when dropped.
struct LookAlike {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    ca_pem: String,
}

impl LookAlike {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let mut child = common::bare()
            .args(["mock-server", "--tls", "--port", "0", "--ca-out"])
            .arg(&ca)
            .args(["--approve-after-polls", "0", "--poll-interval", "0"])
            .args(["--client-secret", CLIENT_SECRET])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first
            .strip_prefix("LWA look-alike at https://localhost:")
            .unwrap_or_else(|| panic!("{first}"))
            .parse()
            .unwrap();
        for line in lines.by_ref() {
            if line.unwrap() == "stop with Ctrl-C" {
                break;
            }
        }
        // Its request lines go nowhere from here on.
        std::thread::spawn(move || lines.for_each(drop));
        let ca_pem = std::fs::read_to_string(&ca).unwrap();
        Self {
            child,
            port,
            _dir: dir,
            ca_pem,
        }
    }

    fn origin(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// A store for this look-alike, signed in through `proxy` by `lwa device-login`.
    fn signed_in(&self, proxy: &str) -> Env {
        let env = Env::new(&self.origin(), Some(&self.ca_pem)).with_client_id();
        let o = run(env.command().env("HTTPS_PROXY", proxy).args([
            "device-login",
            "--product-id",
            "p",
            "--serial",
            "1",
        ]));
        assert_exit(&o, 0, "");
        env
    }
}

impl Drop for LookAlike {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(c: &mut Command) -> Output {
    c.env("LWA_CLIENT_SECRET", CLIENT_SECRET).output().unwrap()
}

#[track_caller]
fn assert_exit(o: &Output, code: i32, stderr_is: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    if code != 0 {
        assert_eq!(stderr(o), stderr_is, "stdout: {}", stdout(o));
    }
}

fn connects(log: &str) -> usize {
    log.matches("CONNECT localhost:").count()
}

/// The whole command through tinyproxy with Basic authentication: device-login, refresh
/// and token, the proxy from each place it can come from, and where each one wins.
#[test]
fn the_command_through_tinyproxy() {
    let server = LookAlike::start();
    let Some(proxy) = Tinyproxy::start(server.port, Some((PROXY_USER, PROXY_PASSWORD))) else {
        return;
    };
    let good = proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}")));
    let refusing = HostileProxy::start(Hostile::Status(403));
    let bad = refusing.url(None);

    // device-login: a code pair and a token poll, from HTTPS_PROXY.
    let env = server.signed_in(&good);
    let signed_in = env.load();
    assert_eq!(connects(&proxy.log()), 2, "{}", proxy.log());

    // https_proxy wins over HTTPS_PROXY, as in curl.
    let o = run(env
        .command()
        .env("HTTPS_PROXY", &bad)
        .env("https_proxy", &good)
        .arg("refresh"));
    assert_exit(&o, 0, "");
    assert_eq!(connects(&proxy.log()), 3);
    // ALL_PROXY when no HTTPS_PROXY is set.
    let o = run(env.command().env("ALL_PROXY", &good).arg("refresh"));
    assert_exit(&o, 0, "");
    assert_eq!(connects(&proxy.log()), 4);
    // --proxy wins over the environment.
    let o = run(env
        .command()
        .env("HTTPS_PROXY", &bad)
        .args(["refresh", "--proxy", &good]));
    assert_exit(&o, 0, "");
    assert_eq!(connects(&proxy.log()), 5);
    assert_eq!(refusing.connections(), 0);

    // --proxy none, and NO_PROXY listing the host: direct.
    let o = run(env
        .command()
        .env("HTTPS_PROXY", &bad)
        .args(["--proxy", "none", "refresh"]));
    assert_exit(&o, 0, "");
    let o = run(env
        .command()
        .env("HTTPS_PROXY", &bad)
        .env("NO_PROXY", "example.com,localhost")
        .arg("refresh"));
    assert_exit(&o, 0, "");
    assert_eq!(connects(&proxy.log()), 5);
    assert_eq!(refusing.connections(), 0);
    assert_ne!(env.load().access_token, signed_in.access_token);

    // The token printed is the one stored, without a request.
    let o = run(env.command().env("HTTPS_PROXY", &bad).arg("token"));
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), format!("{}\n", env.load().access_token));

    // No credentials: 407; wrong ones: tinyproxy's 401. Exit 3, the password never shown.
    let before = std::fs::read(env.store()).unwrap();
    let o = run(env.command().args(["refresh", "--proxy", &proxy.url(None)]));
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: proxy http://127.0.0.1:{}: refused the tunnel: HTTP 407 (proxy \
             authentication required or wrong: check the user and password in the proxy URL)\n",
            proxy.port
        ),
    );
    let o = run(env
        .command()
        .env("HTTPS_PROXY", proxy.url(Some("lwa:Wr0ngPass")))
        .arg("refresh"));
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: proxy http://lwa:***@127.0.0.1:{}: refused the tunnel: HTTP 401 (proxy \
             authentication required or wrong: check the user and password in the proxy URL)\n",
            proxy.port
        ),
    );
    let o = run(env
        .command()
        .env("HTTPS_PROXY", proxy.url(Some("lwa:Wr0ngPass")))
        .args(["--json", "refresh"]));
    assert_eq!(o.status.code(), Some(3));
    assert!(!stderr(&o).contains("Wr0ngPass"), "{}", stderr(&o));
    assert!(stderr(&o).contains("HTTP 401"), "{}", stderr(&o));
    assert_eq!(std::fs::read(env.store()).unwrap(), before);
}

/// What the proxy sees of a whole `lwa refresh`, both ways: CONNECT, its own credentials,
/// TLS records; never the refresh token, the client secret or an access token.
#[test]
fn the_proxy_sees_no_secret_of_the_command() {
    let server = LookAlike::start();
    let Some(proxy) = Tinyproxy::start(server.port, Some((PROXY_USER, PROXY_PASSWORD))) else {
        return;
    };
    let env = server.signed_in(&proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}"))));
    let old = env.load();
    let recorder = Recorder::start(proxy.port);
    let through = format!(
        "http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{}",
        recorder.port
    );
    let o = run(env
        .command()
        .env("https_proxy", &through)
        .args(["refresh", "--json"]));
    assert_exit(&o, 0, "");
    let new = env.load();
    assert_ne!(new.access_token, old.access_token);
    let sent = recorder.sent.lock().unwrap().clone();
    let head = format!(
        "CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: lwa/{v}\r\n\
         Proxy-Authorization: Basic bHdhOnByMHh5cGFzcw==\r\n\r\n",
        port = server.port,
        v = env!("CARGO_PKG_VERSION")
    );
    assert!(
        sent.starts_with(head.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&sent[..sent.len().min(300)])
    );
    let all = recorder.all();
    assert!(all.len() > 1000, "{}", all.len());
    for secret in [
        old.refresh_token.as_str(),
        new.refresh_token.as_str(),
        old.access_token.as_str(),
        new.access_token.as_str(),
        CLIENT_SECRET,
        "grant_type",
    ] {
        assert!(
            !all.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the proxy saw {secret}"
        );
    }
}

/// A proxy that stalls after CONNECT ends by --exchange-timeout; others that close or
/// answer garbage are named; the store is untouched.
#[test]
fn hostile_proxies_and_the_command() {
    let env = Env::new("https://localhost:9", None).with_client_id();
    env.save("Atza|old", "Atzr|old", 1);
    let before = std::fs::read(env.store()).unwrap();
    let stall = HostileProxy::start(Hostile::Stall);
    let started = Instant::now();
    let o = run(env.command().env("HTTPS_PROXY", stall.url(None)).args([
        "refresh",
        "--timeout",
        "10",
        "--exchange-timeout",
        "2",
    ]));
    let took = started.elapsed();
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: proxy http://127.0.0.1:{}: timed out before the tunnel was open (see \
             --timeout and --exchange-timeout)\n",
            stall.port
        ),
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(3000),
        "{took:?}"
    );
    eprintln!("a stalling proxy: lwa exited after {took:?}");

    let closing = HostileProxy::start(Hostile::OkThenClose);
    let o = run(env
        .command()
        .env("HTTPS_PROXY", closing.url(Some("u:pw-in-url")))
        .arg("refresh"));
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: proxy http://u:***@127.0.0.1:{}: accepted the tunnel, then closed it before \
             the TLS handshake finished\n",
            closing.port
        ),
    );
    let garbage = HostileProxy::start(Hostile::Garbage);
    let o = run(env
        .command()
        .args(["refresh", "--proxy", &garbage.url(None)]));
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: proxy http://127.0.0.1:{}: its answer to CONNECT is not HTTP: invalid HTTP \
             version\n",
            garbage.port
        ),
    );
    let refusing = HostileProxy::start(Hostile::Status(502));
    let o = run(env
        .command()
        .args(["refresh", "--proxy", &refusing.url(None)]));
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: proxy http://127.0.0.1:{}: refused the tunnel: HTTP 502 (bad gateway: the \
             proxy could not reach the host)\n",
            refusing.port
        ),
    );
    assert_eq!(std::fs::read(env.store()).unwrap(), before);
}

/// Proxy URLs that are not ones: exit 2, the URL (and its password) never repeated.
#[test]
fn refused_proxy_urls() {
    let env = Env::new("https://localhost:9", None).with_client_id();
    env.save("Atza|old", "Atzr|old", 1);
    let o = run(env
        .command()
        .env("HTTPS_PROXY", "socks5://u:hunter2@proxy:1080")
        .arg("refresh"));
    assert_exit(
        &o,
        2,
        "lwa: proxy from the environment: HTTPS_PROXY: only http:// proxies are supported; \
         fix it, or pass --proxy URL or --proxy none\n",
    );
    // A broken variable does not matter with --proxy none.
    let o = run(env
        .command()
        .env("HTTPS_PROXY", "socks5://u:hunter2@proxy:1080")
        .args(["refresh", "--proxy", "none", "--exchange-timeout", "2"]));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("lwa: cannot connect to localhost:9: "),
        "{}",
        stderr(&o)
    );
    for (url, why) in [
        (
            "http://u:hunter2@proxy:99999",
            "the proxy port is not a number from 1 to 65535",
        ),
        (
            "https://u:hunter2@proxy",
            "only http:// proxies are supported",
        ),
        (
            "http://u:hunter2@proxy/path",
            "a path, query or fragment in the proxy URL (only host[:port] may follow http://)",
        ),
        ("", "empty proxy URL"),
    ] {
        let o = run(env.command().args(["refresh", "--proxy", url]));
        assert_exit(&o, 2, &format!("lwa: --proxy: {why}\n"));
    }
}

/// Plain http:// to the loopback look-alike never goes through a proxy, whatever the
/// environment says.
#[test]
fn plain_http_never_uses_a_proxy() {
    let server = lwa_mock::MockServer::start(lwa_mock::MockConfig::default(), false, 0).unwrap();
    let refusing = HostileProxy::start(Hostile::Status(403));
    let env = Env::new(server.origin(), None).with_client_id();
    env.save("Atza|old", &server.issue_refresh_token(), 1);
    let o = common::bare()
        .arg("--store")
        .arg(env.store())
        .args([
            "--endpoint",
            server.origin(),
            "--client-id",
            common::CLIENT_ID,
        ])
        .env("HTTPS_PROXY", refusing.url(None))
        .env("ALL_PROXY", refusing.url(None))
        .args(["refresh", "--proxy", &refusing.url(None)])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert!(server.issued(&env.load().access_token));
    assert_eq!(refusing.connections(), 0);
    // A --proxy that is not a proxy URL is refused all the same: it was typed to be used.
    let o = run(env.command().args(["refresh", "--proxy", "https://proxy"]));
    assert_exit(&o, 2, "lwa: --proxy: only http:// proxies are supported\n");
}

/// `lwa probe` through tinyproxy (from HTTPS_PROXY): the device's TLS runs end to end
/// through the tunnel, and the report names the proxy, its password hidden.
#[test]
fn probe_through_tinyproxy() {
    let server = LookAlike::start();
    let Some(proxy) = Tinyproxy::start(server.port, Some((PROXY_USER, PROXY_PASSWORD))) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, &server.ca_pem).unwrap();
    let probe = |proxy_url: &str, json: bool| {
        let mut c = common::bare();
        c.args(["--endpoint", &server.origin(), "--timeout", "5"])
            .env("HTTPS_PROXY", proxy_url);
        if json {
            c.arg("--json");
        }
        c.arg("probe")
            .arg("--anchors")
            .arg(&anchors)
            .output()
            .unwrap()
    };
    let good = proxy.url(Some(&format!("{PROXY_USER}:{PROXY_PASSWORD}")));
    let o = probe(&good, true);
    assert_exit(&o, 0, "");
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["connects"], true, "{report}");
    assert_eq!(
        report["proxy"],
        format!("http://{PROXY_USER}:***@127.0.0.1:{}", proxy.port)
    );
    assert!(connects(&proxy.log()) >= 1, "{}", proxy.log());
    let o = probe(&good, false);
    assert_exit(&o, 0, "");
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().take(2).collect();
    assert_eq!(
        lines,
        [
            format!(
                "probe: localhost:{} with lwa-embedded's TLS code",
                server.port
            ),
            format!(
                "  through the proxy http://{PROXY_USER}:***@127.0.0.1:{} (CONNECT; TLS end to end)",
                proxy.port
            ),
        ]
    );
    assert!(!stdout(&o).contains(PROXY_PASSWORD));
    // Refused by the proxy: the host cannot be reached, exit 3.
    let o = probe(&proxy.url(None), false);
    assert_exit(
        &o,
        3,
        &format!(
            "lwa: cannot reach localhost:{}: proxy http://127.0.0.1:{}: refused the tunnel: \
             HTTP 407 (proxy authentication required or wrong: check the user and password in \
             the proxy URL)\n",
            server.port, proxy.port
        ),
    );
}
