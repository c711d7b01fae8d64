//! The device's day, end to end against the look-alike: refusals first (no request may leave
//! the device), then code-based linking, refreshes with and without a rotated refresh token,
//! a reboot, a refresh read one byte at a time, and a revoked refresh token that ends in
//! "sign in again". Written once for both drivers through [`Drive`].

use cortex_m_semihosting::hprintln;
use embedded_tls::TlsError;
use lwa_embedded::core::endpoint::Endpoint;
use lwa_embedded::core::session::{Config, Instant, Linking, Session};
use lwa_embedded::tls::{CertificateError, Error};
use lwa_embedded::{DriveError, Next};

use crate::StoreError;
use crate::board::{now, skip, uptime_ms};
use crate::net::{ConnectError, Connector};
use crate::wire::{DEADLINE_MS, WireError, yield_now};

/// The look-alike's client ID.
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.mock";
/// The name the look-alike's certificate carries; the harness routes it to the look-alike.
pub const HOST: &str = "lwa.test";

/// The session's configuration: code-based linking with a product ID and serial number.
pub const CONFIG: Config<'static> = Config {
    linking: Some(Linking {
        product_id: "lwa_device",
        device_serial_number: "qemu-an386-0001",
    }),
    ..Config::new(CLIENT_ID)
};

/// One driver, blocking or async, seen the same way by the scenario.
#[allow(async_fn_in_trait)] // used within this crate only, on one executor
pub trait Drive {
    /// One call of the driver.
    async fn drive<'s>(
        &mut self,
        session: &'s mut Session<'static>,
        endpoint: &Endpoint<'_>,
        buf: &mut [u8],
    ) -> Result<Next<'s>, DriveError<StoreError>>;
    /// Opens (and drops) one connection, for the refusals.
    async fn connect_only(&mut self, endpoint: &Endpoint<'_>) -> Result<(), ConnectError>;
    /// The connector.
    fn connector(&mut self) -> &mut Connector;
    /// Records the flash store has written.
    fn store_writes(&self) -> u32;
    /// The fingerprint of the refresh token in flash, read from the flash (the store keeps
    /// nothing in RAM).
    async fn stored(&mut self) -> Option<u32>;
    /// Restores the session from flash alone, as after a reboot.
    async fn restore(&mut self, session: &mut Session<'static>) -> bool;
}

/// FNV-1a of a token: enough to tell tokens apart without keeping copies.
pub fn fingerprint(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Waits until `until`: for real when it is near (polling intervals, retries), by moving
/// the clock when it is far (the next refresh, 50 minutes away). Real waits get 250 ms of
/// slack so that a poll never reaches the server before its interval has passed.
async fn wait_until(until: Instant) {
    let ahead = until.as_millis().saturating_sub(now().as_millis());
    if ahead > 3_000 {
        skip(ahead);
        return;
    }
    let end = uptime_ms().wrapping_add(ahead as u32 + 250);
    while (uptime_ms().wrapping_sub(end) as i32) < 0 {
        yield_now().await;
    }
}

/// Moves the clock to when the session wants its next refresh.
fn skip_to_refresh(session: &Session<'_>) {
    if let Some(due) = session.poll_timeout(now()) {
        skip(due.as_millis().saturating_sub(now().as_millis()));
    }
}

/// Asks the harness for something; returns its answer as text.
async fn control<'a, D: Drive>(d: &mut D, command: &str, answer: &'a mut [u8]) -> Option<&'a str> {
    let n = d.connector().wire.control(command, answer).await.ok()?;
    core::str::from_utf8(answer.get(..n)?).ok()
}

/// The look-alike's count of LWA requests so far.
async fn lwa_requests<D: Drive>(d: &mut D) -> Option<u32> {
    let mut answer = [0u8; 16];
    control(d, "stats", &mut answer).await?.parse().ok()
}

/// The scenario's checks; `false` if any failed (each failure is printed).
pub struct Checks {
    ok: bool,
}

impl Checks {
    fn check(&mut self, what: &str, ok: bool) -> bool {
        hprintln!("{}: {}", if ok { "ok  " } else { "FAIL" }, what);
        self.ok &= ok;
        ok
    }
}

/// Drives until the session hands out a token (or something else needs the application),
/// waiting where it says; returns the token's fingerprint.
async fn token<D: Drive>(
    d: &mut D,
    session: &mut Session<'static>,
    endpoint: &Endpoint<'_>,
    buf: &mut [u8],
) -> Result<u32, &'static str> {
    let mut shown = false;
    for _ in 0..20 {
        match d.drive(session, endpoint, buf).await {
            Ok(Next::Ready(token)) => {
                let t = token.expose();
                if !t.starts_with("Atza|") {
                    return Err("not an LWA access token");
                }
                return Ok(fingerprint(t));
            }
            Ok(Next::Wait(until)) => wait_until(until).await,
            Ok(Next::ShowCode {
                user_code,
                verification_uri,
                ..
            }) => {
                if !shown {
                    hprintln!("      code {} at {}", user_code, verification_uri);
                    shown = true;
                }
            }
            Ok(Next::SignIn) => return Err("sign-in asked"),
            Ok(Next::Stopped(_)) => return Err("session stopped"),
            Err(_) => return Err("driver error"),
        }
    }
    Err("no token after 20 rounds")
}

/// Runs the whole scenario with driver `d`.
pub async fn run<D: Drive>(d: &mut D, session: &mut Session<'static>, buf: &mut [u8]) -> bool {
    let mut c = Checks { ok: true };
    let lwa = match Endpoint::new(HOST, 443, true) {
        Ok(e) => e,
        Err(_) => return c.check("endpoint", false),
    };

    // Refusals: each fails with the typed error, and no request reaches a server.
    for (host, what) in [
        ("wrong.test", "certificate for another host refused"),
        ("rogue.test", "chain from an unknown CA refused"),
        (
            "stall.test",
            "server stalling mid-handshake cut off by the deadline",
        ),
        ("close.test", "server closing mid-handshake refused"),
        ("nowhere.test", "unknown host refused by the network"),
    ] {
        let Ok(endpoint) = Endpoint::new(host, 443, true) else {
            return c.check("endpoint", false);
        };
        let started = uptime_ms();
        let result = d.connect_only(&endpoint).await;
        let took = uptime_ms().wrapping_sub(started);
        // Named rather than `{:?}`-printed: Debug of embedded-tls's errors is 9 KiB of flash
        // that a device's networking part would not carry.
        let (name, expected) = match result {
            Ok(()) => ("connected", false),
            Err(ConnectError::Tls(Error::Certificate(CertificateError::WrongName))) => {
                ("certificate WrongName", host == "wrong.test")
            }
            Err(ConnectError::Tls(Error::Certificate(CertificateError::UnknownIssuer))) => {
                ("certificate UnknownIssuer", host == "rogue.test")
            }
            Err(ConnectError::Tls(Error::Tls(TlsError::Io(embedded_io::ErrorKind::TimedOut)))) => (
                "TLS Io(TimedOut)",
                host == "stall.test" && (DEADLINE_MS..=DEADLINE_MS + 500).contains(&took),
            ),
            Err(ConnectError::Tls(Error::Tls(TlsError::IoError))) => {
                ("TLS IoError", host == "close.test")
            }
            Err(ConnectError::Wire(WireError::Refused)) => ("wire Refused", host == "nowhere.test"),
            Err(_) => ("another error", false),
        };
        hprintln!("      {}: {} after {} ms", host, name, took);
        c.check(what, expected);
    }
    c.check(
        "no request reached the look-alike during the refusals",
        lwa_requests(d).await == Some(0),
    );

    // Code-based linking: the look-alike approves the code after two polls.
    session.reset(CONFIG);
    let linked = token(d, session, &lwa, buf).await;
    c.check(
        "code-based linking ends with an access token",
        linked.is_ok(),
    );
    let first_refresh = d.stored().await;
    c.check(
        "the refresh token was written to flash once, before the token was handed out",
        d.store_writes() == 1
            && first_refresh.is_some()
            && first_refresh == session.refresh_token().map(|t| fingerprint(t.expose())),
    );

    // A refresh that rotates the refresh token.
    let mut answer = [0u8; 16];
    let rotating = control(d, "rotate 1", &mut answer).await == Some("ok");
    skip_to_refresh(session);
    let (work, started) = (d.connector().work(), uptime_ms());
    let rotated = token(d, session, &lwa, buf).await;
    let (work, took) = (
        d.connector().work() - work,
        uptime_ms().wrapping_sub(started),
    );
    let handshake = d.connector().report.last_handshake_work;
    let unit = if control(d, "icount", &mut answer).await == Some("1") {
        "instructions"
    } else {
        "work units (instructions only under -icount)"
    };
    hprintln!(
        "      one refresh: {} {} with the handshake, {} without; {} ms",
        work,
        unit,
        work.saturating_sub(handshake),
        took
    );
    let second_refresh = d.stored().await;
    c.check(
        "refresh with rotation: new access token, new refresh token in flash",
        rotating
            && rotated.is_ok()
            && rotated != linked
            && d.store_writes() == 2
            && second_refresh.is_some()
            && second_refresh != first_refresh
            && second_refresh == session.refresh_token().map(|t| fingerprint(t.expose())),
    );

    // A reboot: the session comes back from the flash alone and refreshes at once; the
    // look-alike keeps the refresh token, so nothing is written.
    let stopped_rotating = control(d, "rotate 0", &mut answer).await == Some("ok");
    session.reset(CONFIG);
    let restored = d.restore(session).await;
    let rebooted = token(d, session, &lwa, buf).await;
    c.check(
        "reboot from flash, refresh without rotation: new access token, flash not written",
        stopped_rotating
            && restored
            && rebooted.is_ok()
            && rebooted != rotated
            && d.store_writes() == 2
            && d.stored().await == second_refresh,
    );

    // A stream that delivers one byte per read (handshake and answer alike).
    d.connector().wire.max_read = 1;
    skip_to_refresh(session);
    let received = d.connector().wire.stats.received;
    let bytewise = token(d, session, &lwa, buf).await;
    let bytes = d.connector().wire.stats.received - received;
    d.connector().wire.max_read = usize::MAX;
    c.check(
        "refresh over a stream that delivers one byte per read",
        bytewise.is_ok() && bytewise != rebooted,
    );
    hprintln!("      {} bytes read one at a time", bytes);

    // The user removed the device: invalid_grant, the token is forgotten, sign in again.
    let revoked = control(d, "revoke", &mut answer).await == Some("ok");
    skip_to_refresh(session);
    let signed_out = match d.drive(session, &lwa, buf).await {
        Ok(Next::ShowCode { user_code, .. }) => {
            hprintln!("      sign in again: code {}", user_code);
            true
        }
        _ => false,
    };
    // Forgetting wipes: padding records until every page of the range has been erased,
    // then a marker, so more than one write, and no refresh token loads afterwards.
    let forget_writes = d.store_writes().saturating_sub(2);
    hprintln!(
        "      forget wrote {} records to wipe the range",
        forget_writes
    );
    c.check(
        "revoked refresh token: forgotten in flash (the range wiped), and a new code to sign in again",
        revoked && signed_out && forget_writes > 1 && d.stored().await.is_none(),
    );

    // Exactly the requests the scenario made: code pair, two pending polls and the one that
    // got tokens, three refreshes, the refused refresh, the new code pair.
    let requests = lwa_requests(d).await;
    hprintln!(
        "      look-alike answered {} LWA requests",
        requests.unwrap_or(u32::MAX)
    );
    c.check(
        "nine LWA requests in all, none retried",
        requests == Some(9),
    );
    c.ok
}
