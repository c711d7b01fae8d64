//! Every request built from arbitrary strings into a buffer of arbitrary size: never panics;
//! on success the length is `buffer_len` and the body holds only the form alphabet; a buffer
//! too small reports exactly `buffer_len` as required.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::error::EmitError;
use lwa_core::request::{ClientAuth, Request};
use lwa_core::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut fields = text.split('\u{1}');
    let mut next = || fields.next().unwrap_or("");
    let (a, b, c, d) = (next(), next(), next(), next());
    let request = match control % 5 {
        0 => Request::Refresh { client_id: a, refresh_token: Secret::new(b), client_secret: (!c.is_empty()).then(|| Secret::new(c)) },
        1 => Request::AuthorizationCode { client_id: a, code: Secret::new(b), redirect_uri: c, auth: ClientAuth::Secret(Secret::new(d)) },
        2 => Request::AuthorizationCode { client_id: a, code: Secret::new(b), redirect_uri: c, auth: ClientAuth::Pkce { code_verifier: Secret::new(d) } },
        3 => Request::CodePair { client_id: a, product_id: b, device_serial_number: c },
        _ => Request::DeviceCode { device_code: Secret::new(a), user_code: b },
    };
    let endpoint = Endpoint::region(Region::Fe);
    let size = usize::from(control) * 16;
    let mut buf = vec![0u8; size];
    let expected = request.buffer_len(&endpoint);
    match request.emit(&endpoint, &mut buf) {
        Ok(n) => {
            assert_eq!(n, expected);
            let at = buf[..n].windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            assert!(buf[at..n].iter().all(|&x| x.is_ascii_alphanumeric() || b"-._~%=&".contains(&x)));
        }
        Err(EmitError::BufferTooSmall { required }) => assert_eq!(required, expected),
        Err(_) => {}
    }
});
