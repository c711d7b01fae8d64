//! A server that completes a TLS 1.3 handshake without proving who it is: after its
//! ServerHello it sends EncryptedExtensions and Finished, and neither Certificate nor
//! CertificateVerify. A man in the middle can do this (the Finished MAC uses keys from the
//! key exchange it took part in). embedded-tls 0.19 accepts such a handshake and never asks
//! the verifier; lwa's helpers must refuse it before a byte of the request is sent.
//!
//! The server is written out here (rustls cannot be made to skip its certificate): P-256
//! key exchange, the RFC 8446 key schedule, one AES-128-GCM record.

#![cfg(feature = "embedded-tls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use embedded_io_adapters::std::FromStd;

mod common;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use lwa_embedded::tls::{CertificateError, Error, ServerIdentity};
use p256::ecdh::EphemeralSecret;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};

fn expand_label(secret: &[u8], label: &str, context: &[u8], len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = (len as u16).to_be_bytes().to_vec();
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    let mut out = vec![0; len];
    Hkdf::<Sha256>::from_prk(secret)
        .unwrap()
        .expand(&info, &mut out)
        .unwrap();
    out
}

fn read_record(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).unwrap();
    let mut body = vec![0; usize::from(u16::from_be_bytes([head[3], head[4]]))];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

fn handshake_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// Serves one unproved handshake; returns the port and how many application-data bytes the
/// client sent after it (through a channel).
fn unproved_server() -> (u16, std::sync::mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let (kind, client_hello) = read_record(&mut s);
        assert_eq!(kind, 22);
        // ClientHello: type, length, version, random, session id, suites, compression, extensions.
        let mut at = 4 + 2 + 32;
        let sid_len = usize::from(client_hello[at]);
        let session_id = client_hello[at + 1..at + 1 + sid_len].to_vec();
        at += 1 + sid_len;
        at += 2 + usize::from(u16::from_be_bytes([client_hello[at], client_hello[at + 1]]));
        at += 1 + usize::from(client_hello[at]);
        let end =
            at + 2 + usize::from(u16::from_be_bytes([client_hello[at], client_hello[at + 1]]));
        at += 2;
        let mut client_key = None;
        while at < end {
            let ext = u16::from_be_bytes([client_hello[at], client_hello[at + 1]]);
            let len = usize::from(u16::from_be_bytes([
                client_hello[at + 2],
                client_hello[at + 3],
            ]));
            let data = &client_hello[at + 4..at + 4 + len];
            if ext == 0x0033 {
                // client_shares: group, key length, key; P-256 is 0x0017.
                let mut i = 2;
                while i < data.len() {
                    let group = u16::from_be_bytes([data[i], data[i + 1]]);
                    let klen = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
                    if group == 0x0017 {
                        client_key = Some(data[i + 4..i + 4 + klen].to_vec());
                    }
                    i += 4 + klen;
                }
            }
            at += 4 + len;
        }
        let client_key = p256::PublicKey::from_sec1_bytes(&client_key.unwrap()).unwrap();
        let secret = EphemeralSecret::random(&mut rand_core::OsRng);
        let shared = secret.diffie_hellman(&client_key);
        let server_key = secret.public_key().to_encoded_point(false);

        let mut hello = vec![0x03, 0x03];
        hello.extend_from_slice(&[7u8; 32]);
        hello.push(session_id.len() as u8);
        hello.extend_from_slice(&session_id);
        hello.extend_from_slice(&[0x13, 0x01, 0x00]);
        let mut ext = vec![0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33];
        ext.extend_from_slice(&(4 + 65u16).to_be_bytes());
        ext.extend_from_slice(&[0x00, 0x17, 0x00, 65]);
        ext.extend_from_slice(server_key.as_bytes());
        hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        hello.extend_from_slice(&ext);
        let server_hello = handshake_message(2, &hello);
        let mut record = vec![22, 0x03, 0x03];
        record.extend_from_slice(&(server_hello.len() as u16).to_be_bytes());
        record.extend_from_slice(&server_hello);
        s.write_all(&record).unwrap();

        // RFC 8446 7.1 key schedule, up to the server's handshake traffic secret.
        let mut transcript = Sha256::new();
        transcript.update(&client_hello);
        transcript.update(&server_hello);
        let (early, _) = Hkdf::<Sha256>::extract(Some(&[0u8; 32]), &[0u8; 32]);
        let derived = expand_label(&early, "derived", &Sha256::digest(b""), 32);
        let (handshake_secret, _) =
            Hkdf::<Sha256>::extract(Some(&derived), shared.raw_secret_bytes());
        let traffic = expand_label(
            &handshake_secret,
            "s hs traffic",
            &transcript.clone().finalize(),
            32,
        );
        let key = expand_label(&traffic, "key", b"", 16);
        let iv = expand_label(&traffic, "iv", b"", 12);
        let finished_key = expand_label(&traffic, "finished", b"", 32);

        // EncryptedExtensions (empty), then Finished over the transcript so far.
        let extensions = handshake_message(8, &[0, 0]);
        transcript.update(&extensions);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&finished_key).unwrap();
        mac.update(&transcript.finalize());
        let finished = handshake_message(20, &mac.finalize().into_bytes());
        let mut inner = extensions;
        inner.extend_from_slice(&finished);
        inner.push(22);
        let header = [23, 0x03, 0x03, 0, 0];
        let len = (inner.len() + 16) as u16;
        let header = [header[0], header[1], header[2], (len >> 8) as u8, len as u8];
        let sealed = Aes128Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: &inner,
                    aad: &header,
                },
            )
            .unwrap();
        s.write_all(&header).unwrap();
        s.write_all(&sealed).unwrap();

        // Count what the client sends after the handshake (its Finished, then any
        // application data), until it closes.
        let mut after = Vec::new();
        let _ = s.read_to_end(&mut after);
        tx.send(after.len()).unwrap();
    });
    (port, rx)
}

const IDENTITY: ServerIdentity<'static> = ServerIdentity {
    // Any anchor: the server never shows a certificate.
    host: "localhost",
    anchors: &[lwa_embedded::tls::roots::AMAZON_ROOT_CA_1],
    unix_time: 1_800_000_000,
};

/// The client sent its Finished record at most after the handshake (5-byte header, 32 + 4
/// + 1 bytes, 16-byte tag): no request.
const AT_MOST_FINISHED: usize = 5 + 37 + 16;

#[cfg(feature = "async")]
#[test]
fn a_server_that_never_proves_its_identity_is_refused_async() {
    let (port, sent) = unproved_server();
    let tcp = common::AsyncTcp(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let result = pollster::block_on(lwa_embedded::tls::asynch::open(
        tcp,
        &IDENTITY,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    ))
    .map(drop);
    assert!(
        matches!(
            result,
            Err(Error::Certificate(CertificateError::NoCertificate))
        ),
        "{result:?}"
    );
    assert!(sent.recv().unwrap() <= AT_MOST_FINISHED);
}

#[test]
fn a_server_that_never_proves_its_identity_is_refused() {
    let (port, sent) = unproved_server();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let result = lwa_embedded::tls::blocking::open(
        FromStd::new(tcp),
        &IDENTITY,
        rand_core::OsRng,
        &mut read_record,
        &mut write_record,
    )
    .map(drop);
    assert!(
        matches!(
            result,
            Err(Error::Certificate(CertificateError::NoCertificate))
        ),
        "{result:?}"
    );
    // The connection was dropped with the refusal.
    let after = sent.recv().unwrap();
    assert!(
        after <= AT_MOST_FINISHED,
        "{after} bytes after the handshake"
    );
}
