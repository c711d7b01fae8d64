//! The look-alike as a firmware test's peer, over real loopback sockets: its certificate
//! chains (ECDSA P-256 and Amazon-shaped RSA 2048), the names its certificate carries, the
//! `/mock/` test controls (revoke, rotate, stats), self-approval after N polls, and
//! `lwa mock-server` started as a process the way a test harness starts it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lwa_mock::{Chain, MockConfig, MockServer, Pki};
use lwa_std::client::{BUFFER_LEN, Client};
use lwa_std::core::endpoint::Endpoint;
use lwa_std::core::exchange::Outcome;
use lwa_std::core::json::ErrorCode;
use lwa_std::core::request::Request;
use lwa_std::core::secret::Secret;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, ProtocolVersion, RootCertStore};
use serde_json::{Value, json};

const CLIENT_ID: &str = "amzn1.application-oa2-client.mock";

/// DER of the sha256WithRSAEncryption algorithm identifier's OID (1.2.840.113549.1.1.11).
const SHA256_WITH_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
];
/// DER of the rsaEncryption public-key OID (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
/// DER of an INTEGER of 257 bytes with a leading zero: a 2048-bit RSA modulus.
const MODULUS_2048: &[u8] = &[0x02, 0x82, 0x01, 0x01, 0x00];
/// DER of the ecdsa-with-SHA256 OID (1.2.840.10045.4.3.2).
const ECDSA_WITH_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// DER of the prime256v1 curve OID (1.2.840.10045.3.1.7).
const P256_CURVE: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(lwa_std::client::crypto_provider())
}

fn roots(ca_der: &[u8]) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec())).unwrap();
    Arc::new(roots)
}

/// A client that trusts `ca_der` and nothing else, offering TLS 1.2 and 1.3.
fn client_config(ca_der: &[u8]) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots(ca_der))
            .with_no_client_auth(),
    )
}

/// A TLS handshake with the server on `port`, asking for `name`: the protocol version and
/// the certificates as sent, or the client's verdict.
fn handshake(
    port: u16,
    config: Arc<ClientConfig>,
    name: &str,
) -> Result<(ProtocolVersion, Vec<CertificateDer<'static>>), rustls::Error> {
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut conn = ClientConnection::new(config, name).unwrap();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            return Err(inner.cloned().unwrap_or_else(|| panic!("{e}")));
        }
    }
    let certs = conn
        .peer_certificates()
        .unwrap()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    Ok((conn.protocol_version().unwrap(), certs))
}

/// How to reach a server: plain HTTP, or TLS trusting one CA and asking for one name.
struct Peer {
    port: u16,
    tls: Option<(Arc<ClientConfig>, String)>,
}

impl Peer {
    fn of(server: &MockServer) -> Self {
        Self {
            port: server.port(),
            tls: server
                .ca_der()
                .map(|ca| (client_config(ca), "localhost".to_owned())),
        }
    }

    /// One request; the status and the JSON body of the answer.
    fn call(&self, method: &str, target: &str, form: &str) -> (u16, Value) {
        let (status, _, body) = self.call_with(method, target, form, "application/json");
        (status, serde_json::from_str(&body).unwrap())
    }

    /// One request that accepts `accept`; the status, the head and the body of the answer.
    fn call_with(
        &self,
        method: &str,
        target: &str,
        form: &str,
        accept: &str,
    ) -> (u16, String, String) {
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        );
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = Vec::new();
        match &self.tls {
            None => {
                tcp.write_all(request.as_bytes()).unwrap();
                tcp.read_to_end(&mut answer).unwrap();
            }
            Some((config, name)) => {
                let name = ServerName::try_from(name.clone()).unwrap();
                let conn = ClientConnection::new(Arc::clone(config), name).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                tls.write_all(request.as_bytes()).unwrap();
                // The server ends with close_notify: reading to the end is not an error.
                tls.read_to_end(&mut answer).unwrap();
            }
        }
        let text = String::from_utf8(answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    /// Asks for a code pair; returns the device code and the user code.
    fn code_pair(&self) -> (String, String) {
        let scope_data = r#"{"alexa:all":{"productID":"fw_test","productInstanceAttributes":{"deviceSerialNumber":"M4-0001"}}}"#;
        let form = format!(
            "response_type=device_code&client_id={CLIENT_ID}&scope=alexa%3Aall&scope_data={}",
            encode(scope_data)
        );
        let (status, json) = self.call("POST", "/auth/O2/create/codepair", &form);
        assert_eq!(status, 200, "{json}");
        (
            json["device_code"].as_str().unwrap().to_owned(),
            json["user_code"].as_str().unwrap().to_owned(),
        )
    }

    fn poll(&self, device_code: &str, user_code: &str) -> (u16, Value) {
        self.call(
            "POST",
            "/auth/o2/token",
            &format!(
                "grant_type=device_code&device_code={device_code}&user_code={user_code}&client_id={CLIENT_ID}"
            ),
        )
    }

    fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.call(
            "POST",
            "/auth/o2/token",
            &format!(
                "grant_type=refresh_token&refresh_token={}&client_id={CLIENT_ID}",
                encode(refresh_token)
            ),
        )
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn rsa_server(names: &[&str]) -> MockServer {
    MockServer::start(
        MockConfig {
            chain: Chain::Rsa2048,
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap()
}

#[test]
fn the_rsa_chain_is_root_intermediate_leaf_and_the_server_sends_leaf_and_intermediate() {
    let server = rsa_server(&["localhost"]);
    let root = server.ca_der().unwrap().to_vec();
    // The PEM and the DER are the same certificate.
    let from_pem = CertificateDer::from_pem_slice(server.ca_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(from_pem.as_ref(), root.as_slice());
    let (version, certs) = handshake(server.port(), client_config(&root), "localhost").unwrap();
    assert_eq!(version, ProtocolVersion::TLSv1_3);
    assert_eq!(certs.len(), 2, "leaf and intermediate, not the root");
    assert_ne!(certs[0].as_ref(), root.as_slice());
    assert_ne!(certs[1].as_ref(), root.as_slice());
    assert_ne!(certs[0], certs[1]);
    // Every certificate has an RSA 2048 key and is signed with SHA-256 RSA; none is ECDSA.
    for (what, der) in [
        ("leaf", certs[0].as_ref()),
        ("intermediate", certs[1].as_ref()),
        ("root", root.as_slice()),
    ] {
        assert!(contains(der, RSA_ENCRYPTION), "{what}: RSA key");
        assert!(contains(der, MODULUS_2048), "{what}: 2048-bit modulus");
        assert!(
            contains(der, SHA256_WITH_RSA),
            "{what}: SHA-256 RSA signature"
        );
        assert!(!contains(der, ECDSA_WITH_SHA256), "{what}: no ECDSA");
    }
    // The first is the leaf: it chains to the root through the second, and not without it.
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(&root), provider())
        .build()
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let now = UnixTime::now();
    assert!(
        verifier
            .verify_server_cert(&certs[0], &certs[1..], &name, &[], now)
            .is_ok()
    );
    assert_eq!(
        verifier
            .verify_server_cert(&certs[0], &[], &name, &[], now)
            .err(),
        Some(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );
    // The lwa client, trusting the root alone, talks to it: a refresh with a revoked token is
    // an OAuth answer, not a TLS failure.
    let client = Client::builder(&Endpoint::parse_origin(server.origin()).unwrap())
        .add_ca_pem(server.ca_pem().unwrap())
        .unwrap()
        // On this host: a developer's HTTPS_PROXY stays out.
        .proxy(None)
        .build()
        .unwrap();
    let refresh = server.issue_refresh_token();
    let request = Request::Refresh {
        client_id: CLIENT_ID,
        refresh_token: Secret::new(&refresh),
        client_secret: None,
    };
    let mut buf = vec![0u8; BUFFER_LEN];
    match client.execute(&request, &mut buf).unwrap() {
        Outcome::Token(t) => assert!(server.issued(t.access_token.expose())),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.revoke_all(), 1);
    let mut buf = vec![0u8; BUFFER_LEN];
    match client.execute(&request, &mut buf).unwrap() {
        Outcome::OAuthError { status, error, .. } => {
            assert_eq!((status, error.code), (400, ErrorCode::InvalidGrant));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_p256_chain_is_ca_and_leaf_and_the_server_sends_the_leaf() {
    let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let ca = server.ca_der().unwrap().to_vec();
    let (version, certs) = handshake(server.port(), client_config(&ca), "localhost").unwrap();
    assert_eq!(version, ProtocolVersion::TLSv1_3);
    assert_eq!(certs.len(), 1);
    for der in [certs[0].as_ref(), ca.as_slice()] {
        assert!(contains(der, P256_CURVE));
        assert!(contains(der, ECDSA_WITH_SHA256));
        assert!(!contains(der, RSA_ENCRYPTION));
    }
    // Every default name works: a DNS name and both loopback addresses.
    for name in ["localhost", "127.0.0.1", "::1"] {
        let (version, _) = handshake(server.port(), client_config(&ca), name).unwrap();
        assert_eq!(version, ProtocolVersion::TLSv1_3, "{name}");
    }
}

#[test]
fn the_certificate_carries_the_configured_names_only() {
    for chain in [Chain::P256, Chain::Rsa2048] {
        let server = MockServer::start(
            MockConfig {
                chain,
                names: vec!["lwa.test".into()],
                ..MockConfig::default()
            },
            true,
            0,
        )
        .unwrap();
        let config = client_config(server.ca_der().unwrap());
        let (version, certs) = handshake(server.port(), Arc::clone(&config), "lwa.test").unwrap();
        assert_eq!(version, ProtocolVersion::TLSv1_3, "{chain:?}");
        assert_eq!(
            certs.len(),
            if chain == Chain::P256 { 1 } else { 2 },
            "{chain:?}"
        );
        for other in ["other.test", "localhost"] {
            assert_eq!(
                handshake(server.port(), Arc::clone(&config), other).err(),
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForNameContext {
                        expected: ServerName::try_from(other).unwrap().to_owned(),
                        presented: vec![r#"DnsName("lwa.test")"#.to_owned()],
                    }
                )),
                "{chain:?} {other}"
            );
        }
    }
    // No names at all is refused up front.
    let e = MockServer::start(
        MockConfig {
            names: Vec::new(),
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(e.to_string(), "the certificate needs at least one name");
}

#[test]
fn pki_keeps_its_p256_default_and_offers_the_rsa_chain() {
    let pki = Pki::new("test CA").unwrap();
    assert_eq!(pki.chain(), Chain::P256);
    assert!(pki.ca_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
    let rsa = Pki::with_chain(Chain::Rsa2048, "test CA").unwrap();
    assert_eq!(rsa.chain(), Chain::Rsa2048);
    assert!(contains(rsa.ca_der(), RSA_ENCRYPTION));
    let from_pem = CertificateDer::from_pem_slice(rsa.ca_pem().as_bytes()).unwrap();
    assert_eq!(from_pem.as_ref(), rsa.ca_der());
    // Certificates are made fresh each time, though the RSA keys are fixed.
    let again = Pki::with_chain(Chain::Rsa2048, "test CA").unwrap();
    assert_ne!(again.ca_der(), rsa.ca_der());
}

#[test]
fn mock_revoke_makes_the_next_refresh_invalid_grant() {
    let server = rsa_server(&["localhost"]);
    let peer = Peer::of(&server);
    let first = server.issue_refresh_token();
    let second = server.issue_refresh_token();
    let (status, json) = peer.refresh(&first);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["refresh_token"], first.as_str());
    assert_eq!(
        peer.call("POST", "/mock/revoke", ""),
        (200, json!({"revoked": 2}))
    );
    for token in [&first, &second] {
        assert_eq!(
            peer.refresh(token),
            (
                400,
                json!({
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token"
                })
            )
        );
    }
    // Nothing left to revoke; a GET is not a revoke.
    assert_eq!(
        peer.call("POST", "/mock/revoke", ""),
        (200, json!({"revoked": 0}))
    );
    assert_eq!(
        peer.call("GET", "/mock/revoke", ""),
        (
            405,
            json!({"error": "invalid_request", "error_description": "use POST"})
        )
    );
}

#[test]
fn mock_rotate_turns_rotation_on_and_off_while_serving() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let peer = Peer::of(&server);
    let first = server.issue_refresh_token();
    // Off, as configured: the same refresh token comes back.
    let (status, json) = peer.refresh(&first);
    assert_eq!(status, 200);
    assert_eq!(json["refresh_token"], first.as_str());
    // On: a new one, and the old one is dead.
    assert_eq!(
        peer.call("POST", "/mock/rotate?on=1", ""),
        (200, json!({"rotate": true}))
    );
    let (status, json) = peer.refresh(&first);
    assert_eq!(status, 200);
    let second = json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(second.len(), 370);
    assert_eq!(peer.refresh(&first).1["error"], "invalid_grant");
    // Off again: the refresh token is kept.
    assert_eq!(
        peer.call("POST", "/mock/rotate?on=0", ""),
        (200, json!({"rotate": false}))
    );
    let (status, json) = peer.refresh(&second);
    assert_eq!(status, 200);
    assert_eq!(json["refresh_token"], second.as_str());
    // The form body works too; anything but 1 or 0 is refused and changes nothing.
    assert_eq!(
        peer.call("POST", "/mock/rotate", "on=1"),
        (200, json!({"rotate": true}))
    );
    assert_eq!(
        peer.call("POST", "/mock/rotate?on=yes", ""),
        (
            400,
            json!({"error": "invalid_request", "error_description": "on must be 1 or 0"})
        )
    );
    assert_eq!(
        peer.call("POST", "/mock/rotate", "").1["error"],
        "invalid_request"
    );
    let (_, json) = peer.refresh(&second);
    assert_ne!(json["refresh_token"], second.as_str(), "still rotating");
    // And the method on the server does the same.
    server.set_rotate_refresh_tokens(false);
    let third = json["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(peer.refresh(&third).1["refresh_token"], third.as_str());
}

#[test]
fn rotation_configured_at_start_is_the_initial_setting() {
    let server = MockServer::start(
        MockConfig {
            rotate_refresh_tokens: true,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let peer = Peer::of(&server);
    let first = server.issue_refresh_token();
    assert_ne!(peer.refresh(&first).1["refresh_token"], first.as_str());
    assert_eq!(
        peer.call("POST", "/mock/rotate?on=0", ""),
        (200, json!({"rotate": false}))
    );
}

#[test]
fn approve_after_polls_gives_exactly_that_many_pending_answers_then_tokens() {
    let server = MockServer::start(
        MockConfig {
            approve_after_polls: Some(2),
            poll_interval: 0,
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap();
    let peer = Peer::of(&server);
    let (device, user) = peer.code_pair();
    let pending = (
        400,
        json!({"error": "authorization_pending", "error_description": "Authorization pending"}),
    );
    assert_eq!(peer.poll(&device, &user), pending);
    assert_eq!(peer.poll(&device, &user), pending);
    let (status, json) = peer.poll(&device, &user);
    assert_eq!(status, 200, "{json}");
    assert!(server.issued(json["access_token"].as_str().unwrap()));
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_in"], 3600);
    // The code pair is used up.
    assert_eq!(peer.poll(&device, &user).1["error"], "invalid_grant");
    // Each code pair counts its own polls.
    let (device, user) = peer.code_pair();
    assert_eq!(peer.poll(&device, &user), pending);
    assert_eq!(peer.poll(&device, &user), pending);
    assert_eq!(peer.poll(&device, &user).0, 200);
    // Some(0): the first poll gets tokens.
    let server = MockServer::start(
        MockConfig {
            approve_after_polls: Some(0),
            poll_interval: 0,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let peer = Peer::of(&server);
    let (device, user) = peer.code_pair();
    assert_eq!(peer.poll(&device, &user).0, 200);
}

#[test]
fn polls_answered_slow_down_do_not_count_towards_approval() {
    let server = MockServer::start(
        MockConfig {
            approve_after_polls: Some(1),
            poll_interval: 1,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let peer = Peer::of(&server);
    let (device, user) = peer.code_pair();
    assert_eq!(
        peer.poll(&device, &user).1["error"],
        "authorization_pending"
    );
    assert_eq!(peer.poll(&device, &user).1["error"], "slow_down");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(peer.poll(&device, &user).0, 200);
}

/// A client that keeps the interval by its own clock reaches the look-alike a little early
/// or late: a fifth of the interval is allowed, a poll much sooner is `slow_down`.
#[test]
fn a_poll_a_little_early_is_tolerated() {
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let peer = Peer::of(&server);
    let (device, user) = peer.code_pair();
    assert_eq!(
        peer.poll(&device, &user).1["error"],
        "authorization_pending"
    );
    // 850 ms after the last poll of a 1 s interval: within the fifth.
    std::thread::sleep(Duration::from_millis(850));
    assert_eq!(
        peer.poll(&device, &user).1["error"],
        "authorization_pending"
    );
    // At once: too soon.
    assert_eq!(peer.poll(&device, &user).1["error"], "slow_down");
}

/// The `verification_uri` the look-alike hands out is a page a browser can use: a form for
/// the code; sending it approves the code (as typed: case and spaces do not matter), and
/// the text a request carries is escaped in the page.
#[test]
fn the_approve_page_is_a_form_that_approves() {
    for tls in [false, true] {
        let server = MockServer::start(
            MockConfig {
                poll_interval: 0,
                ..MockConfig::default()
            },
            tls,
            0,
        )
        .unwrap();
        let peer = Peer::of(&server);
        let (device, user) = peer.code_pair();
        let (status, head, page) =
            peer.call_with("GET", "/mock/approve", "", "text/html,*/*;q=0.8");
        assert_eq!(status, 200);
        assert!(
            head.contains("\r\nContent-Type: text/html;charset=UTF-8\r\n"),
            "{head}"
        );
        assert!(
            page.contains(r#"<form method="post" action="/mock/approve">"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<input id="user_code" name="user_code" value="""#),
            "{page}"
        );
        // Filled in from the query, escaped.
        let (_, _, page) =
            peer.call_with("GET", "/mock/approve?user_code=%3Cb%3E%22", "", "text/html");
        assert!(page.contains(r#"value="&lt;b&gt;&quot;""#), "{page}");
        assert!(!page.contains("<b>\""), "{page}");
        // A wrong code: said so, nothing approved.
        let (status, _, page) =
            peer.call_with("POST", "/mock/approve", "user_code=NOPE", "text/html");
        assert_eq!(status, 404);
        assert!(
            page.contains(r#"<p id="result">No code <b>NOPE</b> is waiting"#),
            "{page}"
        );
        assert_eq!(
            peer.poll(&device, &user).1["error"],
            "authorization_pending"
        );
        // The code as a person types it.
        let typed = format!("{}+{}", &user[..3], &user[3..]).to_lowercase();
        let (status, _, page) = peer.call_with(
            "POST",
            "/mock/approve",
            &format!("user_code={typed}"),
            "text/html",
        );
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains(r#"<p id="result">Approved: the device with code"#),
            "{page}"
        );
        let (status, json) = peer.poll(&device, &user);
        assert_eq!(status, 200, "{json}");
        assert!(server.issued(json["access_token"].as_str().unwrap()));
    }
}

#[test]
fn mock_stats_counts_lwa_requests_only() {
    let server = MockServer::start(
        MockConfig {
            chain: Chain::Rsa2048,
            poll_interval: 0,
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap();
    let peer = Peer::of(&server);
    assert_eq!(
        peer.call("GET", "/mock/stats", ""),
        (200, json!({"requests": 0}))
    );
    let (device, user) = peer.code_pair(); // 1
    assert_eq!(peer.poll(&device, &user).0, 400); // 2
    assert_eq!(
        peer.call("POST", "/mock/approve", &format!("user_code={user}")),
        (200, json!({"approved": true}))
    );
    let (status, json) = peer.poll(&device, &user); // 3
    assert_eq!(status, 200);
    let refresh = json["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(peer.refresh(&refresh).0, 200); // 4
    assert_eq!(peer.call("GET", "/auth/o2/token", "").0, 405); // 5: LWA's endpoint, a wrong method
    assert_eq!(peer.call("POST", "/mock/rotate?on=1", "").0, 200);
    assert_eq!(peer.call("POST", "/mock/revoke", "").0, 200);
    assert_eq!(
        peer.call("POST", "/mock/authorize", "redirect_uri=amzn%3A%2F%2Fcb")
            .0,
        200
    );
    assert_eq!(peer.call("GET", "/nowhere", "").0, 404);
    assert_eq!(peer.call("POST", "/mock/stats", "").0, 405);
    assert_eq!(
        peer.call("GET", "/mock/stats", ""),
        (200, json!({"requests": 5}))
    );
    assert_eq!(server.requests(), 5);
}

/// `lwa mock-server` as a harness runs it; killed when dropped.
struct Running {
    child: Child,
    /// Its stdout lines up to and including "stop with Ctrl-C".
    lines: Vec<String>,
}

impl Running {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lwa"))
            .arg("mock-server")
            .args(args)
            .env_remove("LWA_CLIENT_ID")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let done = line == "stop with Ctrl-C";
            lines.push(line);
            if done {
                break;
            }
        }
        Self { child, lines }
    }

    /// The port from "LWA look-alike at SCHEME://HOST:PORT".
    fn port(&self, origin_prefix: &str) -> u16 {
        let first = &self.lines[0];
        first
            .strip_prefix(&format!("LWA look-alike at {origin_prefix}:"))
            .unwrap_or_else(|| panic!("{first}"))
            .parse()
            .unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_command_serves_the_rsa_chain_for_the_given_name_and_writes_the_ca_where_asked() {
    let dir = tempfile::tempdir().unwrap();
    let ca_out = dir.path().join("ca.pem");
    let ca_arg = ca_out.to_str().unwrap();
    let server = Running::start(&[
        "--tls", "--chain", "rsa", "--name", "lwa.test", "--port", "0", "--ca-out", ca_arg,
    ]);
    let port = server.port("https://localhost");
    assert_ne!(port, 0);
    assert_eq!(
        server.lines,
        [
            format!("LWA look-alike at https://localhost:{port}"),
            format!("client ID: {CLIENT_ID}"),
            format!("CA certificate: {ca_arg} (pass it with --ca-file)"),
            format!(
                "approve a device code: curl --cacert {ca_arg} 'https://localhost:{port}/mock/approve?user_code=CODE'"
            ),
            format!("(or open https://localhost:{port}/mock/approve in a browser)"),
            "stop with Ctrl-C".to_owned(),
        ]
    );
    let pem = std::fs::read_to_string(&ca_out).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert!(pem.ends_with("-----END CERTIFICATE-----\n"), "{pem}");
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 1);
    let ca = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    assert!(contains(&ca, RSA_ENCRYPTION));
    // It serves lwa.test with an RSA chain that the written CA verifies.
    let config = client_config(&ca);
    let (version, certs) = handshake(port, Arc::clone(&config), "lwa.test").unwrap();
    assert_eq!(version, ProtocolVersion::TLSv1_3);
    assert_eq!(certs.len(), 2);
    assert!(handshake(port, Arc::clone(&config), "localhost").is_err());
    let peer = Peer {
        port,
        tls: Some((config, "lwa.test".to_owned())),
    };
    assert_eq!(
        peer.call("GET", "/mock/stats", ""),
        (200, json!({"requests": 0}))
    );
}

#[test]
fn the_command_takes_polling_approval_and_rotation_flags() {
    let server = Running::start(&[
        "--port",
        "0",
        "--approve-after-polls",
        "1",
        "--poll-interval",
        "0",
        "--rotate",
    ]);
    let port = server.port("http://127.0.0.1");
    assert_eq!(server.lines.len(), 5, "{:?}", server.lines);
    let peer = Peer { port, tls: None };
    let scope_data = encode(
        r#"{"alexa:all":{"productID":"p","productInstanceAttributes":{"deviceSerialNumber":"1"}}}"#,
    );
    let (status, pair) = peer.call(
        "POST",
        "/auth/O2/create/codepair",
        &format!(
            "response_type=device_code&client_id={CLIENT_ID}&scope=alexa%3Aall&scope_data={scope_data}"
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(pair["interval"], 0);
    assert_eq!(pair["expires_in"], 600);
    let (device, user) = (
        pair["device_code"].as_str().unwrap(),
        pair["user_code"].as_str().unwrap(),
    );
    assert_eq!(peer.poll(device, user).1["error"], "authorization_pending");
    let (status, tokens) = peer.poll(device, user);
    assert_eq!(status, 200);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, json) = peer.refresh(refresh);
    assert_eq!(status, 200);
    assert_ne!(json["refresh_token"], refresh, "rotated");
    assert_eq!(
        peer.call("GET", "/mock/stats", ""),
        (200, json!({"requests": 4}))
    );
}

#[test]
fn the_command_refuses_certificate_flags_without_tls() {
    for args in [
        &["--chain", "rsa"][..],
        &["--name", "lwa.test"],
        &["--ca-out", "ca.pem"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_lwa"))
            .arg("mock-server")
            .args(["--port", "0"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.starts_with(
                "error: the following required arguments were not provided:\n  --tls\n"
            ),
            "{stderr}"
        );
    }
}
