//! The public LWA test vectors: every request body byte for byte, every response fed whole,
//! byte by byte, and split in two at every possible boundary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::error::ExchangeError;
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::request::Request;
use lwa_core::secret::Secret;
use lwa_tests::{vector, vectors_dir};
use serde_json::Value;
use std::path::Path;

/// What an outcome says, tokens included, in a form tests can compare.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Seen {
    Token {
        access: String,
        refresh: Option<String>,
        token_type: String,
        expires_in: Option<u32>,
    },
    CodePair {
        device_code: String,
        user_code: String,
        uri: String,
        expires_in: u32,
        interval: Option<u32>,
    },
    OAuth {
        status: u16,
        code: String,
        description: Option<String>,
    },
    Error(ExchangeError),
}

fn seen(result: Result<Outcome<'_>, ExchangeError>) -> Seen {
    match result {
        Ok(Outcome::Token(t)) => Seen::Token {
            access: t.access_token.expose().into(),
            refresh: t.refresh_token.map(|r| r.expose().into()),
            token_type: t.token_type.into(),
            expires_in: t.expires_in,
        },
        Ok(Outcome::CodePair(p)) => Seen::CodePair {
            device_code: p.device_code.expose().into(),
            user_code: p.user_code.into(),
            uri: p.verification_uri.into(),
            expires_in: p.expires_in,
            interval: p.interval,
        },
        Ok(Outcome::OAuthError { status, error, .. }) => Seen::OAuth {
            status,
            code: error.code.as_str().into(),
            description: error.description.map(Into::into),
        },
        Err(e) => Seen::Error(e),
    }
}

fn refresh() -> Request<'static> {
    Request::Refresh {
        client_id: "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        refresh_token: Secret::new("Atzr|IwEBIA"),
        client_secret: None,
    }
}

fn code_pair() -> Request<'static> {
    Request::CodePair {
        client_id: "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        product_id: "my_device",
        device_serial_number: "12345",
    }
}

/// Runs an exchange, delivering `wire` in the given pieces, then EOF.
fn run(request: &Request<'_>, pieces: &[&[u8]]) -> Seen {
    let mut buf = [0u8; 6144];
    let exchange = Exchange::new(&Endpoint::region(Region::Na), request, &mut buf).unwrap();
    let mut rx = exchange.handle_sent();
    for piece in pieces {
        match rx.handle_data(piece) {
            Ok(Step::NeedMore(next)) => rx = next,
            Ok(Step::Done(outcome)) => return seen(Ok(outcome)),
            Err(e) => return Seen::Error(e),
        }
    }
    seen(rx.handle_eof())
}

fn expected(name: &str, want: &Value) -> (Request<'static>, Seen) {
    let s = |k: &str| want[k].as_str().unwrap().to_string();
    let n = |k: &str| u32::try_from(want[k].as_u64().unwrap()).unwrap();
    match want["kind"].as_str().unwrap() {
        "token" => (
            refresh(),
            Seen::Token {
                access: s("access_token"),
                refresh: want["refresh_token"].as_str().map(Into::into),
                token_type: s("token_type"),
                expires_in: Some(n("expires_in")),
            },
        ),
        "code_pair" => (
            code_pair(),
            Seen::CodePair {
                device_code: s("device_code"),
                user_code: s("user_code"),
                uri: s("verification_uri"),
                expires_in: n("expires_in"),
                interval: Some(n("interval")),
            },
        ),
        "oauth_error" => (
            refresh(),
            Seen::OAuth {
                status: u16::try_from(n("status")).unwrap(),
                code: s("error"),
                description: Some(s("error_description")),
            },
        ),
        "http_error" => (
            refresh(),
            Seen::Error(ExchangeError::Status {
                status: u16::try_from(n("status")).unwrap(),
                retry_after: None,
            }),
        ),
        other => panic!("{name}: unknown kind {other}"),
    }
}

fn all_expected() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(vectors_dir().join("expected.json")).unwrap();
    let map: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    map.into_iter().collect()
}

#[test]
fn every_response_whole_and_at_every_split() {
    let all = all_expected();
    assert_eq!(all.len(), 9, "every vector is checked");
    for (name, want) in all {
        let wire = vector(&name);
        let (request, expect) = expected(&name, &want);
        assert_eq!(run(&request, &[&wire]), expect, "{name} whole");
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(run(&request, &bytes), expect, "{name} byte by byte");
        for at in 0..=wire.len() {
            let (a, b) = wire.split_at(at);
            assert_eq!(run(&request, &[a, b]), expect, "{name} split at {at}");
        }
    }
}

#[test]
fn every_truncation_is_an_error_never_a_wrong_answer() {
    for (name, want) in all_expected() {
        let wire = vector(&name);
        let (request, expect) = expected(&name, &want);
        for len in 0..wire.len() {
            let got = run(&request, &[&wire[..len]]);
            assert!(
                matches!(got, Seen::Error(_)),
                "{name} cut at {len} gave {got:?}, want an error"
            );
            assert_ne!(got, expect);
        }
    }
}

fn form_body(request: &Request<'_>) -> String {
    let mut buf = [0u8; 2048];
    let n = request
        .emit(&Endpoint::region(Region::Na), &mut buf)
        .unwrap();
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
    body.to_string()
}

#[test]
fn request_bodies_match_the_vectors() {
    let text = std::fs::read_to_string(vectors_dir().join("requests.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    let params = |name: &str| -> Vec<(String, String)> {
        all[name]["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let get = |ps: &[(String, String)], k: &str| ps.iter().find(|(n, _)| n == k).unwrap().1.clone();

    let p = params("refresh");
    let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["grant_type", "refresh_token", "client_id", "client_secret"]
    );
    let (rt, id, secret) = (
        get(&p, "refresh_token"),
        get(&p, "client_id"),
        get(&p, "client_secret"),
    );
    let request = Request::Refresh {
        client_id: &id,
        refresh_token: Secret::new(&rt),
        client_secret: Some(Secret::new(&secret)),
    };
    assert_eq!(
        form_body(&request),
        all["refresh"]["body"].as_str().unwrap()
    );

    let p = params("codepair");
    let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["response_type", "client_id", "scope", "scope_data"]);
    let scope: Value = serde_json::from_str(&get(&p, "scope_data")).unwrap();
    let product = scope["alexa:all"]["productID"].as_str().unwrap();
    let serial = scope["alexa:all"]["productInstanceAttributes"]["deviceSerialNumber"]
        .as_str()
        .unwrap();
    let id = get(&p, "client_id");
    let request = Request::CodePair {
        client_id: &id,
        product_id: product,
        device_serial_number: serial,
    };
    assert_eq!(
        form_body(&request),
        all["codepair"]["body"].as_str().unwrap()
    );
}

/// The vectors are a copy of the protocol notes' originals; when those sit beside the
/// repository (as in CI), the copy must not have drifted. Every protocol vector (the
/// originals' top level) is copied; of a folder of external suites (`wycheproof/`) only the
/// files lwa uses are, and each of those must match its original byte for byte.
#[test]
fn vector_copy_matches_originals_when_present() {
    let originals = vectors_dir().join("../../../shared/vectors");
    if !originals.is_dir() {
        eprintln!("no originals at {}: copy not compared", originals.display());
        return;
    }
    let mut compared = 0;
    compare_tree(&originals, &vectors_dir(), true, &mut compared);
    assert!(compared >= 11, "only {compared} vectors compared");
}

/// Compares every file under `original` with its copy under `ours`; a missing copy fails
/// when `required`, which holds for the top level only.
fn compare_tree(original: &Path, ours: &Path, required: bool, compared: &mut usize) {
    for entry in std::fs::read_dir(original).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let copy = ours.join(&name);
        if path.is_dir() {
            compare_tree(&path, &copy, false, compared);
            continue;
        }
        match std::fs::read(&copy) {
            Ok(bytes) => {
                assert_eq!(
                    bytes,
                    std::fs::read(&path).unwrap(),
                    "{} differs from the original",
                    copy.display()
                );
                *compared += 1;
            }
            Err(e) if required => panic!("vector {name} missing from tests/vectors: {e}"),
            Err(_) => {}
        }
    }
}
