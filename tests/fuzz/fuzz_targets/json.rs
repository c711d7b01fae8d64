//! The three JSON readers on arbitrary bytes: never panic; decoded tokens respect their
//! limit; a success parses the same twice (decoding in place is idempotent on its input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lwa_core::json::{parse_code_pair, parse_oauth_error, parse_token};

fuzz_target!(|data: &[u8]| {
    let mut a = data.to_vec();
    if let Ok(t) = parse_token(&mut a) {
        assert!(t.access_token.len() <= 2048);
        assert!(t.refresh_token.is_none_or(|r| r.len() <= 2048));
        let first = (t.access_token.expose().to_owned(), t.token_type.to_owned());
        let mut b = data.to_vec();
        let again = parse_token(&mut b).unwrap();
        assert_eq!(first, (again.access_token.expose().to_owned(), again.token_type.to_owned()));
    }
    let mut a = data.to_vec();
    let _ = parse_code_pair(&mut a).map(|p| p.user_code.len());
    let mut a = data.to_vec();
    if let Err(e) = parse_oauth_error(&mut a) {
        assert!(!e.to_string().is_empty());
    }
});
