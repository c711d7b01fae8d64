//! What the RSA path costs: peak heap and stack of one verified TLS 1.3 handshake with an
//! RSA 2048 chain (and, for comparison, a P-256 one), measured on this host in the client's
//! thread. A measurement, not a check of behaviour, so it is ignored by default:
//!
//! `cargo test --release --workspace --test rsa_cost -- --ignored --nocapture`
//!
//! Heap: a counting global allocator that follows the live bytes of threads that opt in.
//! Stack: the handshake runs in threads with ever larger stacks, each in a child process, and
//! the smallest that completes is reported (an overflow aborts only the child).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::thread;

use embedded_io_adapters::std::FromStd;
use lwa_embedded::tls::{ServerIdentity, anchor_from_der, blocking};
use lwa_tests::alloc::{Peak, peak_heap};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[global_allocator]
static GLOBAL: Peak = Peak;

fn key(rsa: bool, pem: &str) -> KeyPair {
    if rsa {
        KeyPair::from_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256).unwrap()
    } else {
        KeyPair::generate().unwrap()
    }
}

/// A TLS 1.3 server with a chain of the given kind; returns its port and the CA in DER.
fn server(rsa: bool) -> (u16, CertificateDer<'static>) {
    let ca_key = key(
        rsa,
        include_str!("../../transport-embedded/tests/fixtures/rsa-ca.key"),
    );
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "lwa test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_der = params.self_signed(&ca_key).unwrap().der().clone();
    let issuer = Issuer::new(params, ca_key);
    let leaf_key = key(
        rsa,
        include_str!("../../transport-embedded/tests/fixtures/rsa-leaf.key"),
    );
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut buf = [0u8; 64];
            let _ = tls.read(&mut buf); // completes the handshake
            let _ = tls.flush();
        }
    });
    (port, ca_der)
}

fn handshake(port: u16, ca_der: &[u8]) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut read_record = vec![0u8; 16_640];
    let mut write_record = vec![0u8; 4096];
    let ca = CertificateDer::from(ca_der);
    let anchors = [anchor_from_der(&ca).unwrap()];
    let identity = ServerIdentity {
        host: "localhost",
        anchors: &anchors,
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    };
    let mut tls = blocking::open(
        FromStd::new(tcp),
        &identity,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    )
    .unwrap();
    embedded_io::Write::write_all(&mut tls, b"x").unwrap();
    embedded_io::Write::flush(&mut tls).unwrap();
}

/// The child half of the stack measurement.
#[test]
#[ignore = "run by stack_of_a_verified_handshake"]
fn stack_child() {
    let (Ok(size), Ok(rsa)) = (std::env::var("LWA_STACK"), std::env::var("LWA_RSA")) else {
        return;
    };
    let (port, ca) = server(rsa == "1");
    thread::Builder::new()
        .stack_size(size.parse().unwrap())
        .spawn(move || handshake(port, &ca))
        .unwrap()
        .join()
        .unwrap();
}

/// Bisects, to 1 KiB, the smallest thread stack that completes a handshake.
fn smallest_stack(rsa: bool) -> usize {
    let exe = std::env::current_exe().unwrap();
    let completes = |size: usize| {
        Command::new(&exe)
            .args(["stack_child", "--exact", "--ignored", "--test-threads=1"])
            .env("LWA_STACK", size.to_string())
            .env("LWA_RSA", if rsa { "1" } else { "0" })
            .output()
            .unwrap()
            .status
            .success()
    };
    let (mut fails, mut works) = (8 * 1024, 1024 * 1024);
    assert!(completes(works), "a 1 MiB stack is enough");
    while works - fails > 1024 {
        let mid = (fails + works) / 2 / 1024 * 1024;
        if completes(mid) {
            works = mid;
        } else {
            fails = mid;
        }
    }
    works
}

#[test]
#[ignore = "a measurement; see the module docs"]
fn heap_and_stack_of_a_verified_handshake() {
    for rsa in [false, true] {
        let (port, ca) = server(rsa);
        handshake(port, &ca); // warm up
        let heap = peak_heap(|| handshake(port, &ca));
        let stack = smallest_stack(rsa);
        println!(
            "{} chain: peak heap {heap} bytes (the two record buffers, 20 736 bytes, are counted in it: they are Vecs here), smallest thread stack that completes {} KiB",
            if rsa { "RSA 2048" } else { "P-256" },
            stack / 1024
        );
    }
}

/// *ring*'s provider, as lwa-std's `client::crypto_provider` gives it (this test does not
/// link lwa-std): deprecated by rustls 0.23.48 for its lack of post-quantum key exchange,
/// and the one that builds with a C compiler alone.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
