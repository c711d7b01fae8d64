//! Property tests: each states an invariant and checks it on generated inputs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::error::{EmitError, ExchangeError};
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::form;
use lwa_core::request::{ClientAuth, Request};
use lwa_core::secret::Secret;
use lwa_tests::vector;
use proptest::prelude::*;

/// A form decoder written from RFC 3986 alone, independent of the encoder under test.
fn decode_form_value(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap();
            (
                String::from_utf8(decode_form_value(n)).unwrap(),
                String::from_utf8(decode_form_value(v)).unwrap(),
            )
        })
        .collect()
}

/// Runs an exchange for `request`, delivering `wire` cut at `cuts`, then EOF. Returns what it
/// saw as comparable text (tokens included).
fn run(request: &Request<'_>, wire: &[u8], cuts: &[usize]) -> String {
    let mut buf = [0u8; 8192];
    let exchange = Exchange::new(&Endpoint::region(Region::Na), request, &mut buf).unwrap();
    let mut rx = exchange.handle_sent();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.push(0);
    points.push(wire.len());
    points.sort_unstable();
    for w in points.windows(2) {
        match rx.handle_data(&wire[w[0]..w[1]]) {
            Ok(Step::NeedMore(next)) => rx = next,
            Ok(Step::Done(outcome)) => return describe(Ok(outcome)),
            Err(e) => return describe(Err(e)),
        }
    }
    describe(rx.handle_eof())
}

fn describe(r: Result<Outcome<'_>, ExchangeError>) -> String {
    match r {
        Ok(Outcome::Token(t)) => format!(
            "token {} {:?} {} {:?}",
            t.access_token.expose(),
            t.refresh_token.map(|r| r.expose().to_string()),
            t.token_type,
            t.expires_in
        ),
        Ok(Outcome::CodePair(p)) => format!("pair {} {p:?}", p.device_code.expose()),
        Ok(o @ Outcome::OAuthError { .. }) => format!("{o:?}"),
        Err(e) => format!("error {e:?}"),
    }
}

fn refresh() -> Request<'static> {
    Request::Refresh {
        client_id: "c",
        refresh_token: Secret::new("Atzr|x"),
        client_secret: None,
    }
}

const VECTORS: [&str; 9] = [
    "token-ok.http",
    "token-ok-chunked.http",
    "token-refresh-no-refresh-token.http",
    "codepair-ok.http",
    "error-invalid-grant.http",
    "error-invalid-value.http",
    "error-missing-secret.http",
    "error-authorization-pending.http",
    "error-503-html.http",
];

fn request_for(name: &str) -> Request<'static> {
    if name.starts_with("codepair") {
        Request::CodePair {
            client_id: "c",
            product_id: "p",
            device_serial_number: "1",
        }
    } else {
        refresh()
    }
}

/// The token response body of `token-ok.http`.
fn token_body() -> Vec<u8> {
    let wire = vector("token-ok.http");
    let at = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    wire[at..].to_vec()
}

/// Any text at all, including control characters and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 1..40).prop_map(|c| c.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Form encoding round-trips through an independent decoder, writes only unreserved
    /// characters and upper-case `%XX`, and is exactly `encoded_len` long.
    #[test]
    fn form_encoding_round_trips(value in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut out = vec![0u8; value.len() * 3];
        let n = form::encode(&value, &mut out).unwrap();
        prop_assert_eq!(n, form::encoded_len(&value));
        let text = std::str::from_utf8(&out[..n]).unwrap();
        prop_assert!(text.bytes().all(|b| form::is_unreserved(b) || b == b'%'));
        for (i, _) in text.match_indices('%') {
            let hex = &text.as_bytes()[i + 1..i + 3];
            prop_assert!(hex.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)), "lower-case or short escape in {}", text);
        }
        prop_assert_eq!(decode_form_value(text), value);
    }

    /// Every request round-trips: the body parses back to the parameters, Content-Length is
    /// right, `buffer_len` is exact, and any smaller buffer is refused with that size.
    #[test]
    fn requests_round_trip(
        id in text(), a in text(), b in text(), c in text(), secret in proptest::option::of(text()), kind in 0u8..5,
    ) {
        prop_assume!(id.len() <= 100);
        let request = match kind {
            0 => Request::Refresh { client_id: &id, refresh_token: Secret::new(&a), client_secret: secret.as_deref().map(Secret::new) },
            1 => Request::AuthorizationCode { client_id: &id, code: Secret::new(&a), redirect_uri: &b, auth: ClientAuth::Secret(Secret::new(&c)) },
            2 => Request::AuthorizationCode { client_id: &id, code: Secret::new(&a), redirect_uri: &b, auth: ClientAuth::Pkce { code_verifier: Secret::new(&c) } },
            3 => Request::CodePair { client_id: &id, product_id: &a, device_serial_number: &b },
            _ => Request::DeviceCode { device_code: Secret::new(&a), user_code: &b },
        };
        let endpoint = Endpoint::region(Region::Eu);
        let mut buf = vec![0u8; 4096];
        let n = request.emit(&endpoint, &mut buf).unwrap();
        prop_assert_eq!(n, request.buffer_len(&endpoint));
        let mut small = vec![0u8; n - 1];
        prop_assert_eq!(request.emit(&endpoint, &mut small), Err(EmitError::BufferTooSmall { required: n }));

        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        prop_assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "head {}", head);
        prop_assert!(head.starts_with(&format!("POST {} HTTP/1.1\r\nHost: api.amazon.co.uk\r\n", request.path())), "head {}", head);
        let got = parse_form(body);
        let s = |k: &str, v: &str| (k.to_string(), v.to_string());
        let want = match kind {
            0 => {
                let mut w = vec![s("grant_type", "refresh_token"), s("refresh_token", &a), s("client_id", &id)];
                if let Some(secret) = &secret { w.push(s("client_secret", secret)); }
                w
            }
            1 => vec![s("grant_type", "authorization_code"), s("code", &a), s("redirect_uri", &b), s("client_id", &id), s("client_secret", &c)],
            2 => vec![s("grant_type", "authorization_code"), s("code", &a), s("redirect_uri", &b), s("client_id", &id), s("code_verifier", &c)],
            3 => {
                let scope = serde_json::json!({"alexa:all": {"productID": a, "productInstanceAttributes": {"deviceSerialNumber": b}}});
                let got_scope: serde_json::Value = serde_json::from_str(&got[3].1).unwrap();
                prop_assert_eq!(got_scope, scope);
                vec![s("response_type", "device_code"), s("client_id", &id), s("scope", "alexa:all"), got[3].clone()]
            }
            _ => vec![s("grant_type", "device_code"), s("device_code", &a), s("user_code", &b)],
        };
        prop_assert_eq!(got, want);
    }

    /// Any split of a valid response gives the same result as feeding it whole.
    #[test]
    fn any_split_gives_the_same_result(which in 0usize..VECTORS.len(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let name = VECTORS[which];
        let wire = vector(name);
        let request = request_for(name);
        prop_assert_eq!(run(&request, &wire, &cuts), run(&request, &wire, &[]));
    }

    /// Re-framing a valid body as random chunks (sizes in either hex case, extensions,
    /// trailers), delivered in random pieces, gives the same tokens.
    #[test]
    fn random_chunking_gives_the_same_tokens(
        sizes in proptest::collection::vec(1usize..200, 1..40),
        upper in any::<bool>(),
        extensions in any::<bool>(),
        trailers in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let body = token_body();
        let mut wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut rest = &body[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            i += 1;
            let size = if upper { format!("{n:X}") } else { format!("{n:x}") };
            wire.extend_from_slice(size.as_bytes());
            if extensions { wire.extend_from_slice(b";ext=\"v\""); }
            wire.extend_from_slice(b"\r\n");
            wire.extend_from_slice(&rest[..n]);
            wire.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        wire.extend_from_slice(b"0\r\n");
        if trailers { wire.extend_from_slice(b"X-Checksum: abc\r\n"); }
        wire.extend_from_slice(b"\r\n");
        let plain = run(&refresh(), &vector("token-ok.http"), &[]);
        prop_assert!(plain.starts_with("token Atza|"));
        prop_assert_eq!(run(&refresh(), &wire, &cuts), plain);
    }

    /// Arbitrary bytes never panic and always end in an outcome or an error once EOF is
    /// signalled; the same holds after a valid head.
    #[test]
    fn arbitrary_bytes_end_in_a_result(
        junk in proptest::collection::vec(any::<u8>(), 0..2048),
        with_head in 0u8..3,
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut wire = match with_head {
            0 => Vec::new(),
            1 => b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n".to_vec(),
            _ => b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        };
        wire.extend_from_slice(&junk);
        let whole = run(&refresh(), &wire, &[]);
        prop_assert!(!whole.is_empty());
        prop_assert_eq!(run(&refresh(), &wire, &cuts), whole);
    }

    /// Any string survives JSON escaping (by serde_json, plus `\uXXXX` for every character
    /// that has one) and in-place decoding.
    #[test]
    fn json_escapes_decode_to_the_original(token in "[ -~\\u{80}-\\u{10ffff}]{1,200}", all_unicode in any::<bool>()) {
        let escaped = if all_unicode {
            let mut s = String::from("\"");
            for unit in token.encode_utf16() {
                s.push_str(&format!("\\u{unit:04x}"));
            }
            s.push('"');
            s
        } else {
            serde_json::to_string(&token).unwrap()
        };
        prop_assume!(token.len() <= 2048);
        let mut body = format!(r#"{{"token_type":"bearer","access_token":{escaped},"expires_in":1}}"#).into_bytes();
        let parsed = lwa_core::json::parse_token(&mut body).unwrap();
        prop_assert_eq!(parsed.access_token.expose(), token.as_str());
    }
}

/// Pieces of JSON-ish text for the differential test: valid and broken, plain and escaped.
fn json_value() -> BoxedStrategy<String> {
    prop_oneof![
        "[ -~]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[a-zA-Z0-9|_-]{0,40}".prop_map(|s| format!("\"{s}\"")),
        Just("\"Atza|a\\/b\\u0041\"".to_owned()),
        Just("\"\\ud83d\\ude00\"".to_owned()),
        Just("\"raw\u{1}ctrl\"".to_owned()),
        Just("\"é€\"".to_owned()),
        prop_oneof![
            Just("0"),
            Just("3600"),
            Just("-1"),
            Just("01"),
            Just("4294967295"),
            Just("4294967296"),
            Just("3.5"),
            Just("1e3"),
            Just("-0"),
            Just("0.0"),
            Just("00"),
            Just("12 34")
        ]
        .prop_map(str::to_owned),
        prop_oneof![
            Just("true"),
            Just("false"),
            Just("null"),
            Just("nul"),
            Just("tru")
        ]
        .prop_map(str::to_owned),
        prop_oneof![
            Just("[]"),
            Just("[1,[2]]"),
            Just("{}"),
            Just("{\"a\":{\"b\":null}}"),
            Just("]"),
            Just("")
        ]
        .prop_map(str::to_owned),
    ]
    .boxed()
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("access_token"),
        Just("refresh_token"),
        Just("token_type"),
        Just("expires_in"),
        Just("device_code"),
        Just("user_code"),
        Just("verification_uri"),
        Just("interval"),
        Just("error"),
        Just("error_description"),
        Just("scope"),
        Just("access\\u005ftoken"),
        Just(""),
    ]
    .prop_map(|k| format!("\"{k}\""))
}

/// A value that is right for the member most of the time, anything at all otherwise.
fn mostly(valid: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just(valid.to_owned()),
        1 => json_value(),
    ]
    .boxed()
}

/// A document with the members one of the three readers needs (usually valid), a few others,
/// in any order, with whitespace and separator quirks.
fn json_document() -> BoxedStrategy<String> {
    let required = prop_oneof![
        (
            mostly("\"Atza|a\""),
            mostly("\"bearer\""),
            mostly("\"Atzr|r\""),
            mostly("3600")
        )
            .prop_map(|(a, t, r, e)| {
                vec![
                    format!("\"access_token\":{a}"),
                    format!("\"token_type\":{t}"),
                    format!("\"refresh_token\":{r}"),
                    format!("\"expires_in\":{e}"),
                ]
            })
            .boxed(),
        (
            mostly("\"d1e4\""),
            mostly("\"BEYHYS\""),
            mostly("\"https://amazon.com/us/code\""),
            mostly("600"),
            mostly("30")
        )
            .prop_map(|(d, u, v, e, i)| {
                vec![
                    format!("\"device_code\":{d}"),
                    format!("\"user_code\":{u}"),
                    format!("\"verification_uri\":{v}"),
                    format!("\"expires_in\":{e}"),
                    format!("\"interval\":{i}"),
                ]
            })
            .boxed(),
        (mostly("\"invalid_grant\""), mostly("\"gone\""))
            .prop_map(|(e, d)| vec![
                format!("\"error\":{e}"),
                format!("\"error_description\":{d}")
            ])
            .boxed(),
    ];
    let ws = prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\n\t "), 1 => Just("\r\n"), 1 => Just("\u{b}")];
    let extra =
        (json_key(), ws.clone(), json_value()).prop_map(|(k, w, v)| format!("{k}{w}:{w}{v}"));
    let members = (required, proptest::collection::vec(extra, 0..3))
        .prop_map(|(mut r, e)| {
            r.extend(e);
            r
        })
        .prop_shuffle();
    (
        ws.clone(),
        members,
        prop_oneof![6 => Just(","), 1 => Just(" , "), 1 => Just(",,")],
        ws,
        any::<u8>(),
    )
        .prop_map(|(w, members, sep, w2, tail)| {
            let mut doc = format!("{w}{{{}}}{w2}", members.join(sep));
            match tail % 16 {
                0 => doc.push(','),
                1 => doc.push('x'),
                2 => {
                    doc.pop();
                }
                _ => {}
            }
            doc
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// The strict walk that reads every answer and the reference (the strict check, then
    /// serde-json-core) agree on every document: the same values, or the same error naming
    /// the same member.
    #[test]
    fn json_walk_agrees_with_serde_json_core(doc in json_document()) {
        use lwa_core::json;
        let fast = json::parse_token(&mut doc.clone().into_bytes()).map(|t| format!("{} {:?} {} {:?}", t.access_token.expose(), t.refresh_token.map(|r| r.expose().to_owned()), t.token_type, t.expires_in));
        let slow = json::reference::parse_token(&mut doc.clone().into_bytes()).map(|t| format!("{} {:?} {} {:?}", t.access_token.expose(), t.refresh_token.map(|r| r.expose().to_owned()), t.token_type, t.expires_in));
        prop_assert_eq!(fast, slow, "token: {}", doc);
        let fast = json::parse_code_pair(&mut doc.clone().into_bytes()).map(|p| format!("{} {p:?}", p.device_code.expose()));
        let slow = json::reference::parse_code_pair(&mut doc.clone().into_bytes()).map(|p| format!("{} {p:?}", p.device_code.expose()));
        prop_assert_eq!(fast, slow, "code pair: {}", doc);
        let fast = json::parse_oauth_error(&mut doc.clone().into_bytes()).map(|e| format!("{e:?}"));
        let slow = json::reference::parse_oauth_error(&mut doc.clone().into_bytes()).map(|e| format!("{e:?}"));
        prop_assert_eq!(fast, slow, "error: {}", doc);
    }
}
