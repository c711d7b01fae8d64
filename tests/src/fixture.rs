//! The refresh benchmark's inputs, shared with the profiling example so that instruction
//! counts and timings describe the same work.

/// A 365-character LWA-shaped token: `prefix`, then a fixed mix of the base64url alphabet.
///
/// ```
/// let t = lwa_tests::fixture::token("Atzr|IwEBI");
/// assert_eq!(t.len(), 365);
/// assert!(t.starts_with("Atzr|IwEBI"));
/// ```
#[must_use]
pub fn token(prefix: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut t = String::from(prefix);
    let mut i = 0usize;
    while t.len() < 365 {
        t.push(char::from(A.get((i * 7 + 3) % 64).copied().unwrap_or(b'A')));
        i += 1;
    }
    t
}

/// The client id of the refresh benchmark.
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";
/// The client secret of the refresh benchmark.
pub const SECRET: &str = "s3cr3t-0123456789abcdef0123456789abcdef0123456789";

/// One refresh's worth of data: the tokens, the 808-byte JSON body and the whole HTTP answer.
#[derive(Debug, Clone)]
pub struct Refresh {
    /// The refresh token sent.
    pub refresh: String,
    /// The access token answered.
    pub access: String,
    /// The answer's JSON body, exactly 808 bytes.
    pub body: String,
    /// The whole answer as it arrives on the wire: head and body.
    pub wire: Vec<u8>,
}

/// An LWA-shaped answer whose JSON body is exactly 808 bytes.
///
/// ```
/// let f = lwa_tests::fixture::refresh();
/// assert_eq!(f.body.len(), 808);
/// assert!(f.wire.ends_with(f.body.as_bytes()));
/// ```
#[must_use]
pub fn refresh() -> Refresh {
    let access = token("Atza|IwEBI");
    let refresh = token("Atzr|IwEBI");
    let body = format!(
        r#"{{"access_token":"{access}","refresh_token":"{refresh}","token_type":"bearer","expires_in":3600}}"#
    );
    let head = format!(
        "HTTP/1.1 200 OK\r\nServer: Server\r\nDate: Tue, 24 Nov 2026 21:00:00 GMT\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nConnection: keep-alive\r\nx-amz-rid: 6T2XQ8ZJ0Y4QX0A1\r\n\r\n",
        body.len()
    );
    // lwa-core parses the whole HTTP answer, head included; oauth2's closure client is handed
    // the status, headers and body already separated.
    let wire = [head.as_bytes(), body.as_bytes()].concat();
    Refresh {
        refresh,
        access,
        body,
        wire,
    }
}
