//! Every request built from arbitrary strings into a buffer of arbitrary size: never panics;
//! on success the length is `buffer_len`, the head has its seven fixed lines (nothing a field
//! holds can add one), `Content-Length` is the body's length, the body holds only the form
//! alphabet and decodes back to the fields; a buffer too small reports exactly `buffer_len`
//! as required, the exact size succeeds, and the bytes do not depend on the buffer's size.
//!
//! Input layout: `control`, two bytes of buffer size (big-endian, taken modulo 4097), then
//! up to six fields separated by `0xFF` (never part of UTF-8; an input with a field that is
//! not UTF-8 is skipped): three or four request parameters, an endpoint host and a
//! `User-Agent`.
//!
//! - `(control & 7) % 5`: refresh, authorization code with a secret, authorization code with PKCE,
//!   code pair, device code;
//! - `(control >> 3) & 3`: the NA, EU or FE endpoint, or `Endpoint::new(host, port, true)`
//!   with the port taken from the size bytes (skipped if refused);
//! - `control & 0x80`: `emit_with_user_agent` with the sixth field, else `emit`.
use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::error::EmitError;
use lwa_core::request::{ClientAuth, DEFAULT_USER_AGENT, Request};
use lwa_core::secret::Secret;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// Percent-decoding, independent of lwa-core's encoder. `None` for a malformed escape.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            // Upper-case hex only, as the vectors require.
            if !hex
                .iter()
                .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h))
            {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Reads one JSON string at the start of `s` (after its opening quote); returns the decoded
/// text and the rest after the closing quote.
fn json_string(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                    }
                    _ => return None,
                });
            }
            c if u32::from(c) < 0x20 => return None, // raw control characters are not JSON
            c => out.push(c),
        }
    }
    None
}

/// The two strings of `{"alexa:all":{"productID":"…","productInstanceAttributes":{"deviceSerialNumber":"…"}}}`.
fn scope_data(json: &str) -> Option<(String, String)> {
    let rest = json.strip_prefix(r#"{"alexa:all":{"productID":""#)?;
    let (product, rest) = json_string(rest)?;
    let rest = rest.strip_prefix(r#","productInstanceAttributes":{"deviceSerialNumber":""#)?;
    let (serial, rest) = json_string(rest)?;
    (rest == "}}}").then_some((product, serial))
}

/// The (name, value) pairs the body must decode to, `scope_data` aside.
fn expected_pairs<'a>(request: &Request<'a>) -> Vec<(&'static str, &'a str)> {
    match *request {
        Request::Refresh {
            client_id,
            refresh_token,
            client_secret,
        } => {
            let mut v = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", client_id),
            ];
            if let Some(s) = client_secret {
                v.push(("client_secret", s.expose()));
            }
            v
        }
        Request::AuthorizationCode {
            client_id,
            code,
            redirect_uri,
            auth,
        } => {
            let mut v = vec![
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
                ("redirect_uri", redirect_uri),
                ("client_id", client_id),
            ];
            v.push(match auth {
                ClientAuth::Secret(s) => ("client_secret", s.expose()),
                ClientAuth::Pkce { code_verifier } => ("code_verifier", code_verifier.expose()),
            });
            v
        }
        Request::CodePair { client_id, .. } => vec![
            ("response_type", "device_code"),
            ("client_id", client_id),
            ("scope", "alexa:all"),
        ],
        Request::DeviceCode {
            device_code,
            user_code,
        } => vec![
            ("grant_type", "device_code"),
            ("device_code", device_code.expose()),
            ("user_code", user_code),
        ],
        _ => unreachable!("a request kind this target does not build"),
    }
}

/// Checks a request that was written in full.
fn check_request(request: &Request<'_>, out: &[u8], user_agent: &str) {
    let at = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of head")
        + 4;
    let (head, body) = out.split_at(at);
    let head = std::str::from_utf8(head).expect("head is not UTF-8");
    let lines: Vec<&str> = head.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(lines.len(), 7, "head lines: {lines:?}");
    assert_eq!(lines[0], format!("POST {} HTTP/1.1", request.path()));
    assert!(lines[1].starts_with("Host: "));
    assert!(lines.iter().all(|l| !l.contains(['\r', '\n'])));
    assert_eq!(lines[3], format!("Content-Length: {}", body.len()));
    assert_eq!(lines[5], format!("User-Agent: {user_agent}"));

    assert!(
        body.iter().all(|&b| unreserved(b) || b"%=&".contains(&b)),
        "body outside the form alphabet: {:?}",
        String::from_utf8_lossy(body)
    );
    let mut pairs = Vec::new();
    for pair in body.split(|&b| b == b'&') {
        let eq = pair
            .iter()
            .position(|&b| b == b'=')
            .expect("pair without `=`");
        let name = String::from_utf8(pair[..eq].to_vec()).expect("name");
        let value = percent_decode(&pair[eq + 1..]).expect("bad percent escape");
        pairs.push((
            name,
            String::from_utf8(value).expect("value decodes to non-UTF-8"),
        ));
    }
    let expected: Vec<(String, String)> = expected_pairs(request)
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    if let Request::CodePair {
        product_id,
        device_serial_number,
        ..
    } = *request
    {
        let (name, json) = pairs.pop().expect("no scope_data");
        assert_eq!(name, "scope_data");
        let decoded = scope_data(&json)
            .unwrap_or_else(|| panic!("scope_data is not the expected JSON: {json:?}"));
        assert_eq!(
            decoded,
            (product_id.to_owned(), device_serial_number.to_owned())
        );
    }
    // Same names, same values, same order, nothing more.
    assert_eq!(pairs, expected);
}

/// Runs the check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    let [control, hi, lo, rest @ ..] = data else {
        return;
    };
    let size = usize::from(u16::from_be_bytes([*hi, *lo])) % 4097;
    let mut fields = Vec::new();
    for field in rest.split(|&b| b == 0xFF).take(6) {
        let Ok(text) = std::str::from_utf8(field) else {
            return;
        };
        fields.push(text);
    }
    fields.resize(6, "");
    let [a, b, c, d, host, agent] = fields[..] else {
        return;
    };

    let request = match (control & 0x07) % 5 {
        0 => Request::Refresh {
            client_id: a,
            refresh_token: Secret::new(b),
            client_secret: (!c.is_empty()).then(|| Secret::new(c)),
        },
        1 => Request::AuthorizationCode {
            client_id: a,
            code: Secret::new(b),
            redirect_uri: c,
            auth: ClientAuth::Secret(Secret::new(d)),
        },
        2 => Request::AuthorizationCode {
            client_id: a,
            code: Secret::new(b),
            redirect_uri: c,
            auth: ClientAuth::Pkce {
                code_verifier: Secret::new(d),
            },
        },
        3 => Request::CodePair {
            client_id: a,
            product_id: b,
            device_serial_number: c,
        },
        _ => Request::DeviceCode {
            device_code: Secret::new(a),
            user_code: b,
        },
    };
    let endpoint = match (control >> 3) & 3 {
        0 => Endpoint::region(Region::Na),
        1 => Endpoint::region(Region::Eu),
        2 => Endpoint::region(Region::Fe),
        _ => match Endpoint::new(host, u16::from_be_bytes([*hi, *lo]), true) {
            Ok(e) => e,
            Err(_) => return,
        },
    };
    let user_agent = if control & 0x80 != 0 {
        agent
    } else {
        DEFAULT_USER_AGENT
    };
    let emit = |buf: &mut [u8]| {
        if control & 0x80 != 0 {
            request.emit_with_user_agent(&endpoint, user_agent, buf)
        } else {
            request.emit(&endpoint, buf)
        }
    };
    let expected = if control & 0x80 != 0 {
        request.buffer_len_with_user_agent(&endpoint, user_agent)
    } else {
        request.buffer_len(&endpoint)
    };

    // The reference: a buffer with room to spare.
    let mut roomy = vec![0u8; expected + 64];
    let reference = emit(&mut roomy);
    let mut buf = vec![0u8; size];
    let result = emit(&mut buf);
    match reference {
        Err(e) => {
            // Parameter errors come before the size check, and `scope_data` never fails.
            assert!(
                !matches!(e, EmitError::BufferTooSmall { .. }),
                "{e:?} with room to spare"
            );
            assert_ne!(e, EmitError::InvalidParameter { name: "scope_data" });
            assert!(!e.to_string().is_empty());
            assert_eq!(result, Err(e), "the error depends on the buffer size");
        }
        Ok(n) => {
            assert_eq!(n, expected);
            check_request(&request, &roomy[..n], user_agent);
            // The exact size is enough and one byte less is not.
            let mut exact = vec![0u8; expected];
            assert_eq!(emit(&mut exact), Ok(expected));
            assert_eq!(exact, roomy[..n]);
            let mut short = vec![0u8; expected - 1];
            assert_eq!(
                emit(&mut short),
                Err(EmitError::BufferTooSmall { required: expected })
            );
            match result {
                Ok(m) => {
                    assert!(size >= expected);
                    assert_eq!(m, expected);
                    assert_eq!(buf[..m], roomy[..n], "the bytes depend on the buffer size");
                }
                Err(EmitError::BufferTooSmall { required }) => {
                    assert!(size < expected);
                    assert_eq!(required, expected);
                }
                Err(e) => panic!("{e:?} with {size} bytes but Ok with room to spare"),
            }
        }
    }
}
