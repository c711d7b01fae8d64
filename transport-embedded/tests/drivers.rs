//! Both drivers over an in-memory peer (a mock by necessity: the point is to control every
//! read and write): one-byte reads, short writes, a peer that accepts nothing, EOF in the
//! middle of a body, errors in the middle of the stream; and the session driver end to end.

#![cfg(feature = "async")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::collections::VecDeque;

use embedded_io::ErrorKind;
use lwa_embedded::blocking::{self, Connect};
use lwa_embedded::core::endpoint::{Endpoint, Region};
use lwa_embedded::core::error::{ExchangeError, HttpError};
use lwa_embedded::core::exchange::{Exchange, Outcome};
use lwa_embedded::core::request::Request;
use lwa_embedded::core::secret::Secret;
use lwa_embedded::core::session::{Config, Instant, Linking, Session, TokenStore, Tokens};
use lwa_embedded::{DriveError, EXCHANGE_BUFFER_LEN, Error, Next};

/// A peer that answers with recorded bytes, in reads of at most `max_read` bytes, takes
/// writes of at most `max_write` bytes, and can fail or end early.
#[derive(Clone)]
struct Peer {
    answer: Vec<u8>,
    pos: usize,
    max_read: usize,
    max_write: usize,
    written: Vec<u8>,
    /// Fail reads once this many answer bytes were delivered.
    fail_at: Option<usize>,
    /// End the stream once this many answer bytes were delivered.
    eof_at: Option<usize>,
}

impl Peer {
    fn new(answer: &[u8]) -> Self {
        Self {
            answer: answer.to_vec(),
            pos: 0,
            max_read: usize::MAX,
            max_write: usize::MAX,
            written: Vec::new(),
            fail_at: None,
            eof_at: None,
        }
    }

    fn read_now(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if self.fail_at.is_some_and(|at| self.pos >= at) {
            return Err(ErrorKind::ConnectionReset);
        }
        let end = self
            .eof_at
            .unwrap_or(usize::MAX)
            .min(self.fail_at.unwrap_or(usize::MAX))
            .min(self.answer.len());
        let n = buf
            .len()
            .min(self.max_read)
            .min(end.saturating_sub(self.pos));
        buf[..n].copy_from_slice(&self.answer[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    fn write_now(&mut self, buf: &[u8]) -> usize {
        let n = buf.len().min(self.max_write);
        self.written.extend_from_slice(&buf[..n]);
        n
    }
}

impl embedded_io::ErrorType for Peer {
    type Error = ErrorKind;
}

impl embedded_io::Read for Peer {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.read_now(buf)
    }
}

impl embedded_io::Write for Peer {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        Ok(self.write_now(buf))
    }
    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl embedded_io_async::Read for Peer {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.read_now(buf)
    }
}

impl embedded_io_async::Write for Peer {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        Ok(self.write_now(buf))
    }
    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

fn token(prefix: &str, len: usize) -> String {
    let mut t = String::from(prefix);
    let mut i = 0u32;
    while t.len() < len {
        t.push(char::from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(i % 64) as usize],
        ));
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    t
}

/// A chunked token response with two 2048-byte tokens, in 700-byte chunks.
fn big_chunked() -> (Vec<u8>, String, String) {
    let access = token("Atza|IwEB", 2048);
    let refresh = token("Atzr|IwEB", 2048);
    let body = format!(
        r#"{{"access_token":"{access}","refresh_token":"{refresh}","token_type":"bearer","expires_in":3600}}"#
    );
    let mut wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.as_bytes().chunks(700) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    (wire, access, refresh)
}

fn refresh_request(rt: &str) -> Request<'_> {
    Request::Refresh {
        client_id: "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        refresh_token: Secret::new(rt),
        client_secret: None,
    }
}

/// Runs one exchange with both drivers over clones of `peer`; checks they agree and sent
/// exactly the request bytes. Returns the blocking result as text.
fn both(peer: &Peer, request: &Request<'_>) -> String {
    let endpoint = Endpoint::region(Region::Na);
    let mut expected = vec![0u8; EXCHANGE_BUFFER_LEN];
    let n = request.emit(&endpoint, &mut expected).unwrap();

    let mut a = peer.clone();
    let mut buf = vec![0u8; EXCHANGE_BUFFER_LEN];
    let exchange = Exchange::new(&endpoint, request, &mut buf).unwrap();
    let blocking = describe(blocking::run_exchange(&mut a, exchange));

    let mut b = peer.clone();
    let mut buf = vec![0u8; EXCHANGE_BUFFER_LEN];
    let exchange = Exchange::new(&endpoint, request, &mut buf).unwrap();
    let asynch = describe(pollster::block_on(lwa_embedded::asynch::run_exchange(
        &mut b, exchange,
    )));

    assert_eq!(blocking, asynch, "the two drivers agree");
    if peer.max_write > 0 {
        assert_eq!(a.written, expected[..n], "exactly the request was written");
        assert_eq!(b.written, expected[..n]);
    }
    blocking
}

fn describe(r: Result<Outcome<'_>, Error<ErrorKind>>) -> String {
    match r {
        Ok(Outcome::Token(t)) => format!(
            "token {} {} {:?}",
            t.access_token.expose(),
            t.refresh_token.map_or("-", |r| r.expose()),
            t.expires_in
        ),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error {e:?}"),
    }
}

#[test]
fn one_byte_reads_and_short_writes_with_2048_byte_tokens() {
    let (wire, access, refresh) = big_chunked();
    let want = format!("token {access} {refresh} Some(3600)");
    let big_rt = token("Atzr|IwEB", 2048);
    let request = refresh_request(&big_rt);
    for (max_read, max_write) in [
        (usize::MAX, usize::MAX),
        (1, 1),
        (1, 7),
        (3, 100),
        (1000, 1),
    ] {
        let mut peer = Peer::new(&wire);
        peer.max_read = max_read;
        peer.max_write = max_write;
        assert_eq!(
            both(&peer, &request),
            want,
            "reads of {max_read}, writes of {max_write}"
        );
    }
}

#[test]
fn eof_in_the_middle_of_the_body_is_truncated() {
    let (wire, _, _) = big_chunked();
    for cut in [0, 10, 200, wire.len() / 2, wire.len() - 3] {
        let mut peer = Peer::new(&wire);
        peer.max_read = 64;
        peer.eof_at = Some(cut);
        assert_eq!(
            both(&peer, &refresh_request("Atzr|x")),
            format!(
                "error {:?}",
                Error::<ErrorKind>::Exchange(ExchangeError::Http(HttpError::Truncated))
            ),
            "EOF at {cut}"
        );
    }
}

#[test]
fn errors_in_the_middle_of_the_stream_are_reported() {
    let (wire, _, _) = big_chunked();
    let mut peer = Peer::new(&wire);
    peer.fail_at = Some(1000);
    assert_eq!(
        both(&peer, &refresh_request("Atzr|x")),
        "error Io(ConnectionReset)"
    );
}

#[test]
fn a_peer_that_accepts_nothing_is_write_zero_not_a_panic() {
    let mut peer = Peer::new(b"");
    peer.max_write = 0;
    assert_eq!(both(&peer, &refresh_request("Atzr|x")), "error WriteZero");
}

#[test]
fn a_response_too_large_for_the_buffer_is_refused() {
    let body = format!(
        r#"{{"access_token":"{}","token_type":"bearer"}}"#,
        "A".repeat(7000)
    );
    let wire = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let got = both(&Peer::new(wire.as_bytes()), &refresh_request("Atzr|x"));
    assert!(got.starts_with("error Exchange(Http(BodyTooLarge"), "{got}");
}

// ---- the session driver ----

/// Hands out peers with recorded answers, one per connection; `None` fails the connect.
struct Connector {
    answers: VecDeque<Option<Vec<u8>>>,
    requests: Vec<Vec<u8>>,
    current: Option<Peer>,
}

impl Connect for Connector {
    type Connection<'c> = &'c mut Peer;
    type Error = ErrorKind;

    fn connect(&mut self, _endpoint: &Endpoint<'_>) -> Result<&mut Peer, ErrorKind> {
        if let Some(done) = self.current.take() {
            self.requests.push(done.written);
        }
        match self.answers.pop_front().flatten() {
            Some(answer) => Ok(self.current.insert(Peer::new(&answer))),
            None => Err(ErrorKind::ConnectionRefused),
        }
    }
}

#[derive(Default)]
struct Flash {
    refresh: Option<String>,
    fail: bool,
}

impl TokenStore for Flash {
    type Error = &'static str;
    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), &'static str> {
        if self.fail {
            return Err("flash full");
        }
        self.refresh = Some(tokens.refresh_token.expose().to_owned());
        Ok(())
    }
    fn forget(&mut self) -> Result<(), &'static str> {
        self.refresh = None;
        Ok(())
    }
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn the_session_driver_links_stores_and_hands_out_tokens() {
    let (big, access, refresh) = big_chunked();
    let connector = Connector {
        answers: VecDeque::from([
            None, // the first connection fails: retried
            Some(http(
                "200 OK",
                r#"{"device_code":"d1e4","expires_in":600,"interval":5,"user_code":"BEYHYS","verification_uri":"https://amazon.com/us/code"}"#,
            )),
            Some(http(
                "400 Bad Request",
                r#"{"error":"authorization_pending"}"#,
            )),
            Some(big),
        ]),
        requests: Vec::new(),
        current: None,
    };
    let clock = std::cell::Cell::new(0u64);
    let mut driver = blocking::Driver {
        connector,
        store: Flash::default(),
        clock: || Instant::from_millis(clock.get()),
        random: || 0,
    };
    let mut config = Config::new("amzn1.application-oa2-client.abc");
    config.linking = Some(Linking {
        product_id: "my_device",
        device_serial_number: "12345",
    });
    let mut session = Session::new(config);
    let endpoint = Endpoint::region(Region::Na);
    let mut buf = [0u8; EXCHANGE_BUFFER_LEN];

    // The connection failure becomes a retry, at once (the first delay is 0 s) and it works.
    assert_eq!(
        driver.drive(&mut session, &endpoint, &mut buf).unwrap(),
        Next::ShowCode {
            user_code: "BEYHYS",
            verification_uri: "https://amazon.com/us/code",
            expires_at: Instant::from_millis(600_000)
        }
    );
    assert_eq!(
        driver.drive(&mut session, &endpoint, &mut buf).unwrap(),
        Next::Wait(Instant::from_millis(5_000))
    );
    clock.set(5_000);
    assert_eq!(
        driver.drive(&mut session, &endpoint, &mut buf).unwrap(),
        Next::Wait(Instant::from_millis(10_000))
    );
    clock.set(10_000);
    match driver.drive(&mut session, &endpoint, &mut buf).unwrap() {
        Next::Ready(t) => assert_eq!(t.expose(), access),
        other => panic!("{other:?}"),
    }
    assert_eq!(driver.store.refresh.as_deref(), Some(refresh.as_str()));
    let sent: Vec<String> = driver
        .connector
        .requests
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert!(
        sent[0].starts_with("POST /auth/O2/create/codepair HTTP/1.1\r\n"),
        "{}",
        sent[0]
    );
    assert!(
        sent[1].contains("grant_type=device_code&device_code=d1e4&user_code=BEYHYS"),
        "{}",
        sent[1]
    );
}

#[test]
fn a_failing_store_is_an_error_the_caller_sees_and_nothing_is_lost() {
    let body = r#"{"access_token":"Atza|a","refresh_token":"Atzr|new","token_type":"bearer","expires_in":3600}"#;
    let connector = Connector {
        answers: VecDeque::from([Some(http("200 OK", body))]),
        requests: Vec::new(),
        current: None,
    };
    let mut driver = blocking::Driver {
        connector,
        store: Flash {
            refresh: None,
            fail: true,
        },
        clock: || Instant::from_millis(0),
        random: || 0,
    };
    let mut session = Session::new(Config::new("c"));
    session.restore_refresh_token("Atzr|old").unwrap();
    let endpoint = Endpoint::region(Region::Na);
    let mut buf = [0u8; EXCHANGE_BUFFER_LEN];
    assert_eq!(
        driver.drive(&mut session, &endpoint, &mut buf),
        Err(DriveError::Store("flash full"))
    );
    assert!(session.is_storage_pending());
    assert_eq!(
        session.refresh_token().map(|t| t.expose()),
        Some("Atzr|new")
    );
    driver.store.fail = false;
    match driver.drive(&mut session, &endpoint, &mut buf).unwrap() {
        Next::Ready(t) => assert_eq!(t.expose(), "Atza|a"),
        other => panic!("{other:?}"),
    }
    assert_eq!(driver.store.refresh.as_deref(), Some("Atzr|new"));
}

// ---- the storage rule: the session's, carried out by both drivers ----

/// A device maker's case: access tokens kept (the session's setting, the one rule: the
/// store writes what the session hands it; the clock is wall time), LWA answering every refresh with a new access token and the same refresh token,
/// three refreshes an hour apart. After each, the flash holds the newest access token, and
/// a reboot with it still valid sends no request.
#[cfg(feature = "flash")]
mod kept_access_tokens {
    use super::*;
    use lwa_embedded::flash::{AsyncFlashStore, BUFFER_LEN, FlashStore};
    use lwa_test_support::flash::RamFlash;

    const CLIENT: &str = "amzn1.application-oa2-client.abc";
    const HOUR: u64 = 3_600_000;
    /// Some wall time, in milliseconds since the Unix epoch.
    const T0: u64 = 1_765_000_000_000;

    fn answers() -> VecDeque<Option<Vec<u8>>> {
        (1..=3)
            .map(|n| {
                Some(http(
                    "200 OK",
                    &format!(
                        r#"{{"access_token":"Atza|{n}","refresh_token":"Atzr|same","token_type":"bearer","expires_in":3600}}"#
                    ),
                ))
            })
            .collect()
    }

    impl lwa_embedded::asynch::Connect for Connector {
        type Connection<'c> = &'c mut Peer;
        type Error = ErrorKind;

        async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<&mut Peer, ErrorKind> {
            blocking::Connect::connect(self, endpoint)
        }
    }

    fn config() -> Config<'static> {
        Config {
            keep_access_tokens: true,
            ..Config::new(CLIENT)
        }
    }

    #[test]
    fn the_blocking_driver_and_flash_store_keep_the_newest_access_token() {
        let mut memory = vec![0xFF; 4 * 1024];
        let mut buffer = [0u8; BUFFER_LEN];
        let mut flash_buffer = [0u8; BUFFER_LEN];
        {
            let flash = RamFlash::<1024>::new(&mut memory);
            let mut store = FlashStore::new(flash, 0..4096, &mut flash_buffer, CLIENT).unwrap();
            lwa_embedded::core::session::TokenStore::store(
                &mut store,
                &Tokens {
                    refresh_token: Secret::new("Atzr|same"),
                    access_token: None,
                },
            )
            .unwrap();
            let clock = std::cell::Cell::new(T0);
            let mut driver = blocking::Driver {
                connector: Connector {
                    answers: answers(),
                    requests: Vec::new(),
                    current: None,
                },
                store,
                clock: || Instant::from_millis(clock.get()),
                random: || 0,
            };
            let mut session = Session::new(config());
            session.restore_refresh_token("Atzr|same").unwrap();
            let endpoint = Endpoint::region(Region::Na);
            for n in 1..=3u64 {
                clock.set(T0 + (n - 1) * HOUR);
                match driver.drive(&mut session, &endpoint, &mut buffer).unwrap() {
                    Next::Ready(t) => assert_eq!(t.expose(), format!("Atza|{n}")),
                    other => panic!("refresh {n}: {other:?}"),
                }
                let stored = driver.store.load().unwrap().unwrap();
                let (access, at) = stored.access_token.expect("the access token was kept");
                assert_eq!(access.expose(), format!("Atza|{n}"), "refresh {n}");
                assert_eq!(at, Instant::from_millis(T0 + (n - 1) * HOUR + HOUR));
                assert_eq!(stored.refresh_token.expose(), "Atzr|same");
            }
            // The first record and one per refresh.
            assert_eq!(driver.store.writes(), 4);
            let stats = driver.store.into_flash().stats();
            assert!(stats.erases <= 1, "{stats:?}");
        }
        // A reboot half an hour after the third refresh: the kept token, no request.
        let flash = RamFlash::<1024>::new(&mut memory);
        let mut store = FlashStore::new(flash, 0..4096, &mut flash_buffer, CLIENT).unwrap();
        let stored = store.load().unwrap().unwrap();
        let (access, at) = stored.access_token.unwrap();
        let mut session = Session::new(config());
        session
            .restore_refresh_token(stored.refresh_token.expose())
            .unwrap();
        session.restore_access_token(access.expose(), at).unwrap();
        let mut driver = blocking::Driver {
            connector: Connector {
                answers: VecDeque::new(),
                requests: Vec::new(),
                current: None,
            },
            store,
            clock: || Instant::from_millis(T0 + 2 * HOUR + HOUR / 2),
            random: || 0,
        };
        let endpoint = Endpoint::region(Region::Na);
        match driver.drive(&mut session, &endpoint, &mut buffer).unwrap() {
            Next::Ready(t) => assert_eq!(t.expose(), "Atza|3"),
            other => panic!("{other:?}"),
        }
        assert!(driver.connector.requests.is_empty() && driver.connector.current.is_none());
    }

    #[test]
    fn the_async_driver_and_flash_store_keep_the_newest_access_token() {
        let mut memory = vec![0xFF; 4 * 1024];
        let mut buffer = [0u8; BUFFER_LEN];
        let mut flash_buffer = [0u8; BUFFER_LEN];
        let flash = RamFlash::<1024>::new(&mut memory);
        let store = AsyncFlashStore::new(flash, 0..4096, &mut flash_buffer, CLIENT).unwrap();
        let clock = std::cell::Cell::new(T0);
        let mut driver = lwa_embedded::asynch::Driver {
            connector: Connector {
                answers: answers(),
                requests: Vec::new(),
                current: None,
            },
            store,
            clock: || Instant::from_millis(clock.get()),
            random: || 0,
        };
        let mut session = Session::new(config());
        session.restore_refresh_token("Atzr|same").unwrap();
        let endpoint = Endpoint::region(Region::Na);
        for n in 1..=3u64 {
            clock.set(T0 + (n - 1) * HOUR);
            match pollster::block_on(driver.drive(&mut session, &endpoint, &mut buffer)).unwrap() {
                Next::Ready(t) => assert_eq!(t.expose(), format!("Atza|{n}")),
                other => panic!("refresh {n}: {other:?}"),
            }
            let stored = pollster::block_on(driver.store.load()).unwrap().unwrap();
            let (access, _) = stored.access_token.expect("the access token was kept");
            assert_eq!(access.expose(), format!("Atza|{n}"), "refresh {n}");
        }
        assert_eq!(driver.store.writes(), 3);
    }
}
