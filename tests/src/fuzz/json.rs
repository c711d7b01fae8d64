//! The three JSON readers on arbitrary bytes: never panic; decoded tokens respect their
//! limit (`MAX_TOKEN_LEN`, 2048 bytes); every error has a message; and the strict walk every
//! target uses agrees with the serde-json-core reference on every input (same value or same
//! error naming the same member), with and without the host feature `fast`.
use lwa_core::json;
use lwa_core::request::MAX_TOKEN_LEN;

/// Runs the check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    let token = |t: json::TokenResponse<'_>| {
        assert!(t.access_token.len() <= MAX_TOKEN_LEN);
        assert!(t.refresh_token.is_none_or(|r| r.len() <= MAX_TOKEN_LEN));
        format!(
            "{:?} {:?} {:?} {:?}",
            t.access_token.expose(),
            t.refresh_token.map(|r| r.expose().to_owned()),
            t.token_type,
            t.expires_in
        )
    };
    let fast = json::parse_token(&mut data.to_vec()).map(token);
    let reference = json::reference::parse_token(&mut data.to_vec()).map(token);
    assert_eq!(fast, reference, "token");

    let pair = |p: json::CodePairResponse<'_>| format!("{:?} {p:?}", p.device_code.expose());
    let fast_pair = json::parse_code_pair(&mut data.to_vec()).map(pair);
    let reference = json::reference::parse_code_pair(&mut data.to_vec()).map(pair);
    assert_eq!(fast_pair, reference, "code pair");

    let fast_error = json::parse_oauth_error(&mut data.to_vec()).map(|e| format!("{e:?} {e}"));
    let reference =
        json::reference::parse_oauth_error(&mut data.to_vec()).map(|e| format!("{e:?} {e}"));
    assert_eq!(fast_error, reference, "error");

    for e in [fast.err(), fast_pair.err(), fast_error.err()]
        .into_iter()
        .flatten()
    {
        assert!(!e.to_string().is_empty());
    }
}
