//! The three JSON readers on arbitrary bytes: never panic; decoded tokens respect their
//! limit; and the fast path agrees with the serde-json-core reference on every input
//! (same value or same error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lwa_core::json;

fuzz_target!(|data: &[u8]| {
    let token = |t: json::TokenResponse<'_>| {
        assert!(t.access_token.len() <= 2048);
        assert!(t.refresh_token.is_none_or(|r| r.len() <= 2048));
        format!("{} {:?} {} {:?}", t.access_token.expose(), t.refresh_token.map(|r| r.expose().to_owned()), t.token_type, t.expires_in)
    };
    let fast = json::parse_token(&mut data.to_vec()).map(token);
    let reference = json::parse_token_reference(&mut data.to_vec()).map(token);
    assert_eq!(fast, reference, "token");

    let pair = |p: json::CodePairResponse<'_>| format!("{} {p:?}", p.device_code.expose());
    let fast = json::parse_code_pair(&mut data.to_vec()).map(pair);
    let reference = json::parse_code_pair_reference(&mut data.to_vec()).map(pair);
    assert_eq!(fast, reference, "code pair");

    let fast = json::parse_oauth_error(&mut data.to_vec()).map(|e| format!("{e:?}"));
    let reference = json::parse_oauth_error_reference(&mut data.to_vec()).map(|e| format!("{e:?}"));
    assert_eq!(fast, reference, "error");
    if let Err(e) = fast {
        assert!(!e.to_string().is_empty());
    }
});
