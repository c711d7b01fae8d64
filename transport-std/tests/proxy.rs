//! The client through HTTP proxies, over real sockets: tinyproxy from the distribution with
//! and without Basic authentication, a relay recording what the proxy sees, and hostile
//! proxies (silent, stalling, trickling, closing, garbage, refusing).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::time::{Duration, Instant};

use lwa_mock::{MockConfig, MockServer};
use lwa_std::client::{Client, Error};
use lwa_std::core::endpoint::Endpoint;
use lwa_std::core::exchange::Outcome;
use lwa_std::core::request::Request;
use lwa_std::core::secret::Secret;
use lwa_std::proxy::{NoProxy, Proxy, TunnelError};

mod proxies;

use proxies::{Hostile, HostileProxy, Recorder, Tinyproxy};

const CLIENT_ID: &str = "amzn1.application-oa2-client.mock";
const CLIENT_SECRET: &str = "s3cr3t-never-at-the-proxy";

fn tls_server() -> MockServer {
    MockServer::start(
        MockConfig {
            client_secret: Some(CLIENT_SECRET.into()),
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap()
}

/// A client of `server` through `proxy` (a URL), trusting the look-alike's CA.
fn client(server: &MockServer, proxy: Option<&str>, exchange_timeout: Duration) -> Client {
    Client::builder(&Endpoint::parse_origin(server.origin()).unwrap())
        .add_ca_pem(server.ca_pem().unwrap())
        .unwrap()
        .proxy(proxy.map(|p| Proxy::parse(p).unwrap()))
        .exchange_timeout(exchange_timeout)
        .user_agent("lwa-test")
        .build()
        .unwrap()
}

/// Refreshes a token the look-alike issued; the access token on success.
fn refresh(client: &Client, refresh_token: &str) -> Result<String, Error> {
    let request = Request::Refresh {
        client_id: CLIENT_ID,
        refresh_token: Secret::new(refresh_token),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
    };
    let mut buf = [0u8; lwa_std::client::BUFFER_LEN];
    match client.execute(&request, &mut buf)? {
        Outcome::Token(t) => Ok(t.access_token.expose().to_owned()),
        other => panic!("not tokens: {other:?}"),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_refresh_through_tinyproxy() {
    let server = tls_server();
    let Some(proxy) = Tinyproxy::start(server.port(), None) else {
        return;
    };
    let client = client(&server, Some(&proxy.url(None)), Duration::from_secs(20));
    assert_eq!(
        client.proxy().map(ToString::to_string),
        Some(proxy.url(None))
    );
    let with_password = Proxy::parse(&proxy.url(Some("u:hunter2"))).unwrap();
    let builder = Client::builder(&Endpoint::parse_origin(server.origin()).unwrap())
        .proxy(Some(with_password));
    assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
    let debug = format!("{:?}", builder.build().unwrap());
    assert!(
        debug.contains(&format!(
            "proxy: Some(\"http://u:***@127.0.0.1:{}\")",
            proxy.port
        )),
        "{debug}"
    );
    assert!(!debug.contains("hunter2"));
    let access = refresh(&client, &server.issue_refresh_token()).unwrap();
    assert!(server.issued(&access), "{access}");
    assert_eq!(server.requests(), 1);
    let log = proxy.log();
    assert!(
        log.contains(&format!("CONNECT localhost:{} HTTP/1.1", server.port())),
        "{log}"
    );
}

/// With `BasicAuth`: the right credentials pass (percent-decoded), none get 407, wrong
/// ones tinyproxy's 401; refusals name the proxy without the password, and nothing reaches
/// the host.
#[test]
fn tinyproxy_with_basic_authentication() {
    let server = tls_server();
    let Some(proxy) = Tinyproxy::start(server.port(), Some(("lwa", "pr0xypass"))) else {
        return;
    };
    let long = Duration::from_secs(20);
    let refused = |credentials: Option<&str>| {
        let c = client(&server, Some(&proxy.url(credentials)), long);
        refresh(&c, &server.issue_refresh_token()).unwrap_err()
    };
    let e = refused(None);
    assert!(
        matches!(
            e,
            Error::Proxy {
                error: TunnelError::Refused { status: 407 },
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "proxy http://127.0.0.1:{}: refused the tunnel: HTTP 407 (proxy authentication \
             required or wrong: check the user and password in the proxy URL)",
            proxy.port
        )
    );
    let e = refused(Some("lwa:wrong-pass"));
    assert_eq!(
        e.to_string(),
        format!(
            "proxy http://lwa:***@127.0.0.1:{}: refused the tunnel: HTTP 401 (proxy \
             authentication required or wrong: check the user and password in the proxy URL)",
            proxy.port
        )
    );
    assert!(!format!("{e:?}").contains("wrong-pass"));
    assert_eq!(server.requests(), 0);

    // %6C is "l": the user is percent-decoded before it is sent.
    let c = client(&server, Some(&proxy.url(Some("%6Cwa:pr0xypass"))), long);
    let access = refresh(&c, &server.issue_refresh_token()).unwrap();
    assert!(server.issued(&access));
    assert_eq!(server.requests(), 1);
}

/// Everything the proxy sees, both ways, recorded by a relay in front of tinyproxy: the
/// CONNECT request (with the proxy's own credentials) and TLS records, never the refresh
/// token, the client secret or the access token.
#[test]
fn the_proxy_sees_no_secret() {
    let server = tls_server();
    let Some(proxy) = Tinyproxy::start(server.port(), Some(("lwa", "pr0xypass"))) else {
        return;
    };
    let recorder = Recorder::start(proxy.port);
    let url = format!("http://lwa:pr0xypass@127.0.0.1:{}", recorder.port);
    let c = client(&server, Some(&url), Duration::from_secs(20));
    let refresh_token = server.issue_refresh_token();
    let access = refresh(&c, &refresh_token).unwrap();
    assert!(server.issued(&access));
    let sent = recorder.sent.lock().unwrap().clone();
    let head = format!(
        "CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: lwa-test\r\n\
         Proxy-Authorization: Basic bHdhOnByMHh5cGFzcw==\r\n\r\n",
        port = server.port()
    );
    assert!(
        sent.starts_with(head.as_bytes()),
        "{}",
        String::from_utf8_lossy(&sent)
    );
    // Then a TLS handshake record: the ClientHello.
    assert_eq!(sent[head.len()..head.len() + 2], [0x16, 0x03]);
    let received = recorder.received.lock().unwrap().clone();
    // tinyproxy's answer ("Proxy-agent: tinyproxy/VERSION" in it), then the server's first
    // TLS record, come back through the tunnel.
    let text = String::from_utf8_lossy(&received[..received.len().min(120)]).into_owned();
    assert!(
        received.starts_with(b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/"),
        "{text:?}"
    );
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(received[head_end..head_end + 2], [0x16, 0x03], "{text:?}");
    let all = recorder.all();
    assert!(all.len() > 1000, "{}", all.len());
    for secret in [
        refresh_token.as_str(),
        CLIENT_SECRET,
        access.as_str(),
        "refresh_token",
        "grant_type",
    ] {
        assert!(!contains(&all, secret), "the proxy saw {secret}");
    }
    assert_eq!(*recorder.connections.lock().unwrap(), 1);
}

/// A refusal with a status names the proxy and the status; the host gets nothing.
#[test]
fn refusals_name_the_proxy_and_the_status() {
    let server = tls_server();
    for (status, meaning) in [
        (
            407,
            " (proxy authentication required or wrong: check the user and password in the proxy URL)",
        ),
        (
            403,
            " (forbidden: the proxy does not allow this host or port)",
        ),
        (502, " (bad gateway: the proxy could not reach the host)"),
        (500, ""),
    ] {
        let hostile = HostileProxy::start(Hostile::Status(status));
        let c = client(
            &server,
            Some(&hostile.url(Some("u:hunter2"))),
            Duration::from_secs(20),
        );
        let e = refresh(&c, "Atzr|x").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "proxy http://u:***@127.0.0.1:{}: refused the tunnel: HTTP {status}{meaning}",
                hostile.port
            )
        );
        assert!(!format!("{e:?}").contains("hunter2"));
        // What the proxy got, exactly: its own credentials, no token.
        let heads = hostile.heads.lock().unwrap().clone();
        assert_eq!(
            heads,
            [format!(
                "CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\
                 User-Agent: lwa-test\r\nProxy-Authorization: Basic dTpodW50ZXIy\r\n\r\n",
                port = server.port()
            )
            .into_bytes()]
        );
    }
    assert_eq!(server.requests(), 0);
}

/// Hostile proxies: each phase ends by the exchange deadline (2 s here, against a 10 s
/// per-operation timeout), and a broken answer is an error that says so.
#[test]
fn hostile_proxies_end_by_the_deadline() {
    let server = tls_server();
    let deadline = Duration::from_secs(2);
    for behaviour in [Hostile::Silent, Hostile::Stall, Hostile::Trickle] {
        let hostile = HostileProxy::start(behaviour);
        let c = client(&server, Some(&hostile.url(None)), deadline);
        let started = Instant::now();
        let e = refresh(&c, "Atzr|x").unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                e,
                Error::Proxy {
                    error: TunnelError::Timeout,
                    ..
                }
            ),
            "{behaviour:?}: {e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "proxy http://127.0.0.1:{}: timed out before the tunnel was open",
                hostile.port
            )
        );
        assert!(
            took >= deadline && took < deadline + Duration::from_millis(500),
            "{behaviour:?} took {took:?}"
        );
        eprintln!("{behaviour:?}: ended after {took:?}");
    }
    // A tunnel that opens, then carries nothing: the TLS handshake ends by the deadline.
    let hostile = HostileProxy::start(Hostile::OkThenStall);
    let c = client(&server, Some(&hostile.url(None)), deadline);
    let started = Instant::now();
    let e = refresh(&c, "Atzr|x").unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(
        took >= deadline && took < deadline + Duration::from_millis(500),
        "{took:?}"
    );
    eprintln!("OkThenStall: ended after {took:?}");
    let ended = |behaviour| {
        let hostile = HostileProxy::start(behaviour);
        let c = client(&server, Some(&hostile.url(None)), Duration::from_secs(20));
        let started = Instant::now();
        let e = refresh(&c, "Atzr|x").unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{behaviour:?}");
        (e.to_string(), hostile.port)
    };
    let (text, port) = ended(Hostile::OkThenClose);
    assert_eq!(
        text,
        format!(
            "proxy http://127.0.0.1:{port}: accepted the tunnel, then closed it before the TLS \
             handshake finished"
        )
    );
    let (text, port) = ended(Hostile::Garbage);
    assert_eq!(
        text,
        format!(
            "proxy http://127.0.0.1:{port}: its answer to CONNECT is not HTTP: invalid HTTP version"
        )
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn an_unreachable_proxy_is_named() {
    let server = tls_server();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(
        &server,
        Some(&format!("http://127.0.0.1:{port}")),
        Duration::from_secs(5),
    );
    let e = refresh(&c, "Atzr|x").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Proxy {
                error: TunnelError::Connect(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("proxy http://127.0.0.1:{port}: cannot connect: ")),
        "{e}"
    );
}

/// NO_PROXY's hosts and plain http:// go direct: the proxy (one that would refuse) gets
/// no connection.
#[test]
fn listed_hosts_and_plain_http_go_around_the_proxy() {
    let hostile = HostileProxy::start(Hostile::Status(403));
    let proxy = Proxy::parse(&hostile.url(None)).unwrap();

    let server = tls_server();
    let listed = Client::builder(&Endpoint::parse_origin(server.origin()).unwrap())
        .add_ca_pem(server.ca_pem().unwrap())
        .unwrap()
        .proxy(Some(
            proxy
                .clone()
                .with_no_proxy(NoProxy::parse("example.com,localhost")),
        ))
        .build()
        .unwrap();
    assert!(listed.proxy().is_none());
    let access = refresh(&listed, &server.issue_refresh_token()).unwrap();
    assert!(server.issued(&access));

    let plain_server = MockServer::start(
        MockConfig {
            client_secret: Some(CLIENT_SECRET.into()),
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let plain = Client::builder(&Endpoint::parse_origin(plain_server.origin()).unwrap())
        .proxy(Some(proxy.clone()))
        .build()
        .unwrap();
    assert!(plain.proxy().is_none());
    let access = refresh(&plain, &plain_server.issue_refresh_token()).unwrap();
    assert!(plain_server.issued(&access));
    assert_eq!(hostile.connections(), 0);

    // And the same proxy, not listed, is used: it refuses.
    let through = client(&server, Some(&hostile.url(None)), Duration::from_secs(5));
    assert!(matches!(
        refresh(&through, "Atzr|x"),
        Err(Error::Proxy {
            error: TunnelError::Refused { status: 403 },
            ..
        })
    ));
    assert_eq!(hostile.connections(), 1);
}

/// TLS through the tunnel is verified as without a proxy: a client that does not trust
/// the look-alike's CA fails the handshake, and sends nothing.
#[test]
fn tls_through_the_tunnel_is_verified() {
    let server = tls_server();
    let Some(proxy) = Tinyproxy::start(server.port(), None) else {
        return;
    };
    let untrusting = Client::builder(&Endpoint::parse_origin(server.origin()).unwrap())
        .proxy(Some(Proxy::parse(&proxy.url(None)).unwrap()))
        .build()
        .unwrap();
    let e = refresh(&untrusting, "Atzr|x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "TLS: invalid peer certificate: UnknownIssuer"
    );
    assert_eq!(server.requests(), 0);
}
