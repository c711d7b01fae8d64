//! The peer the refresh path is measured against: a refresh written by hand on reqwless
//! (the request, the response head, chunked bodies) and serde-json-core (the token JSON), as
//! a firmware without lwa would do it. It runs on the same recorded answers through the same
//! stream and is checked the same way, so the footprint script can put the two side by side.

use reqwless::request::{Request, RequestBuilder};
use reqwless::response::Response;
use serde::Deserialize;

use crate::Recorded;

/// The members of a token answer this firmware keeps, borrowed from the body.
#[derive(Deserialize)]
pub struct Token<'a> {
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
    pub token_type: &'a str,
    pub expires_in: u32,
}

/// Appends `value` to `out` at `*at`, percent-encoded as a form value; `None` if it does not
/// fit.
fn encode(out: &mut [u8], at: &mut usize, value: &str) -> Option<()> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            *out.get_mut(*at)? = b;
            *at += 1;
        } else {
            *out.get_mut(*at)? = b'%';
            *out.get_mut(*at + 1)? = HEX[usize::from(b >> 4)];
            *out.get_mut(*at + 2)? = HEX[usize::from(b & 15)];
            *at += 3;
        }
    }
    Some(())
}

/// Appends `s` to `out` at `*at` as it is.
fn raw(out: &mut [u8], at: &mut usize, s: &str) -> Option<()> {
    out.get_mut(*at..*at + s.len())?
        .copy_from_slice(s.as_bytes());
    *at += s.len();
    Some(())
}

/// One refresh: the form body is written into the front of `buf`, the request sent, then
/// the answer read into `buf` and its JSON parsed. `None` on any failure.
pub fn refresh<'b>(
    io: &mut Recorded,
    buf: &'b mut [u8],
    client_id: &str,
    refresh_token: &str,
) -> Option<Token<'b>> {
    let mut len = 0;
    raw(buf, &mut len, "grant_type=refresh_token&refresh_token=")?;
    encode(buf, &mut len, refresh_token)?;
    raw(buf, &mut len, "&client_id=")?;
    encode(buf, &mut len, client_id)?;
    embassy_futures::block_on(async {
        {
            let body: &[u8] = buf.get(..len)?;
            let request = Request::post("/auth/o2/token")
                .host("api.amazon.com")
                .headers(&[("Content-Type", "application/x-www-form-urlencoded")])
                .body(body)
                .build();
            request.write_header(io).await.ok()?;
            embedded_io_async::Write::write_all(io, body).await.ok()?;
        }
        let response = Response::read(io, reqwless::request::Method::POST, buf)
            .await
            .ok()?;
        if !response.status.is_successful() {
            return None;
        }
        let body = response.body().read_to_end().await.ok()?;
        serde_json_core::from_slice::<Token<'b>>(body)
            .ok()
            .map(|(t, _)| t)
    })
}
