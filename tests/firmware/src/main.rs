//! A Cortex-M4 firmware that runs a full refresh and a code-pair exchange through
//! lwa-embedded's blocking driver over an in-memory stream holding recorded LWA answers
//! (one chunked, with 2048-byte tokens), checks every parsed value, prints a report over
//! semihosting and exits 0; a wrong value exits 1.
//!
//! It also measures itself: the stack is painted before the exchanges and scanned after, so
//! the report gives the peak stack the exchanges used. Built without its default features
//! it is the baseline the flash footprint is measured against (`footprint.py`).
//!
//! `unsafe` appears only in the stack painting (`measure`, shared with tests/device), which
//! must write and read raw memory below the stack pointer, and in taking the exchange
//! buffer; it is the measured need.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use panic_semihosting as _;

static REFRESH: &[u8] = include_bytes!("../recorded/refresh-chunked.http");
#[cfg_attr(all(feature = "refresh", not(feature = "code-pair")), allow(dead_code))]
static CODE_PAIR: &[u8] = include_bytes!("../recorded/codepair.http");

/// The exchange buffer: 6 KiB holds a response with two 2048-byte tokens.
#[cfg(any(feature = "refresh", feature = "code-pair"))]
static mut BUF: [u8; lwa_embedded::EXCHANGE_BUFFER_LEN] = [0; lwa_embedded::EXCHANGE_BUFFER_LEN];

// Stack painting and the verdict, shared with tests/device.
#[path = "../../device/src/measure.rs"]
#[allow(dead_code)] // static_ram is for tests/device
mod measure;

use measure::{paint_stack, stack_used};

/// An in-memory stream: reads deliver the recorded answer in pieces of `piece` bytes,
/// writes are counted.
#[cfg_attr(not(any(feature = "refresh", feature = "code-pair")), allow(dead_code))]
struct Recorded {
    answer: &'static [u8],
    pos: usize,
    piece: usize,
    written: usize,
}

impl embedded_io::ErrorType for Recorded {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Recorded {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let rest = self.answer.get(self.pos..).unwrap_or_default();
        let n = buf.len().min(self.piece).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl embedded_io::Write for Recorded {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Whether `token` is the recorded 2048-byte token with this prefix and salt.
#[cfg(feature = "refresh")]
fn is_recorded_token(token: &str, prefix: &str, salt: usize) -> bool {
    let bytes = token.as_bytes();
    bytes.len() == 2048
        && bytes.starts_with(prefix.as_bytes())
        && bytes[prefix.len()..]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == ALPHABET[(i * 7 + salt) % 64])
}

#[cfg(feature = "refresh")]
fn refresh(buf: &mut [u8]) -> bool {
    use lwa_embedded::core::endpoint::{Endpoint, Region};
    use lwa_embedded::core::exchange::{Exchange, Outcome};
    use lwa_embedded::core::request::Request;
    use lwa_embedded::core::secret::Secret;

    let request = Request::Refresh {
        client_id: "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        refresh_token: Secret::new("Atzr|IwEBIA-old"),
        client_secret: None,
    };
    let endpoint = Endpoint::region(Region::Na);
    let Ok(exchange) = Exchange::new(&endpoint, &request, buf) else {
        hprintln!("refresh: request does not fit");
        return false;
    };
    let request_len = exchange.poll_transmit().len();
    let mut io = Recorded {
        answer: REFRESH,
        pos: 0,
        piece: 61,
        written: 0,
    };
    match lwa_embedded::blocking::run_exchange(&mut io, exchange) {
        Ok(Outcome::Token(t)) => {
            let ok = is_recorded_token(t.access_token.expose(), "Atza|IwEB", 3)
                && t.refresh_token
                    .is_some_and(|r| is_recorded_token(r.expose(), "Atzr|IwEB", 5))
                && t.token_type == "bearer"
                && t.expires_in == Some(3600)
                && io.written == request_len;
            hprintln!(
                "refresh: {} ({} request bytes; {}-byte access and refresh tokens from a chunked answer of {} bytes)",
                if ok { "ok" } else { "WRONG VALUES" },
                io.written,
                t.access_token.len(),
                REFRESH.len()
            );
            ok
        }
        Ok(_) => {
            hprintln!("refresh: unexpected outcome");
            false
        }
        Err(e) => {
            hprintln!("refresh: failed: {}", what(&e));
            false
        }
    }
}

#[cfg(feature = "code-pair")]
fn code_pair(buf: &mut [u8]) -> bool {
    use lwa_embedded::core::endpoint::{Endpoint, Region};
    use lwa_embedded::core::exchange::{Exchange, Outcome};
    use lwa_embedded::core::request::Request;

    let request = Request::CodePair {
        client_id: "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        product_id: "my_device",
        device_serial_number: "12345",
    };
    let endpoint = Endpoint::region(Region::Na);
    let Ok(exchange) = Exchange::new(&endpoint, &request, buf) else {
        hprintln!("code pair: request does not fit");
        return false;
    };
    let mut io = Recorded {
        answer: CODE_PAIR,
        pos: 0,
        piece: 1,
        written: 0,
    };
    match lwa_embedded::blocking::run_exchange(&mut io, exchange) {
        Ok(Outcome::CodePair(p)) => {
            let ok = p.device_code.expose() == "d1e4836b-2799-4294-9379-0025b37ec06c"
                && p.user_code == "BEYHYS"
                && p.verification_uri == "https://amazon.com/us/code"
                && p.expires_in == 600
                && p.interval == Some(30);
            hprintln!(
                "code pair: {} (user code {}, {}, {} s, poll every {:?} s; read one byte at a time)",
                if ok { "ok" } else { "WRONG VALUES" },
                p.user_code,
                p.verification_uri,
                p.expires_in,
                p.interval
            );
            ok
        }
        Ok(_) => {
            hprintln!("code pair: unexpected outcome");
            false
        }
        Err(e) => {
            hprintln!("code pair: failed: {}", what(&e));
            false
        }
    }
}

/// What went wrong, in a word: the errors' full `Display` is not part of the refresh path
/// this firmware measures (run the host tests for the details).
#[cfg(any(feature = "refresh", feature = "code-pair"))]
fn what<E>(e: &lwa_embedded::Error<E>) -> &'static str {
    match e {
        lwa_embedded::Error::Io(_) => "stream error",
        lwa_embedded::Error::WriteZero => "stream accepted no bytes",
        lwa_embedded::Error::Request(_) => "request does not fit",
        lwa_embedded::Error::Exchange(_) => "broken response",
        _ => "other error",
    }
}

#[cfg(any(feature = "refresh", feature = "code-pair"))]
#[inline(never)]
fn run() -> bool {
    // SAFETY: the only reference to BUF, taken once.
    let buf: &mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(BUF) };
    let mut ok = true;
    #[cfg(feature = "refresh")]
    {
        ok &= refresh(buf);
    }
    #[cfg(feature = "code-pair")]
    {
        ok &= code_pair(buf);
    }
    ok
}

/// The baseline: touches the recorded answers the same way, without lwa.
#[cfg(not(any(feature = "refresh", feature = "code-pair")))]
#[inline(never)]
fn run() -> bool {
    let sum = REFRESH
        .iter()
        .chain(CODE_PAIR)
        .fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    hprintln!(
        "baseline: no exchange (checksum {:08x}, {} bytes of {:?})",
        sum,
        ALPHABET.len(),
        core::str::from_utf8(&ALPHABET[..4])
    );
    true
}

#[entry]
fn main() -> ! {
    paint_stack();
    let ok = run();
    let stack = stack_used();
    hprintln!("peak stack: {} bytes", stack);
    #[cfg(any(feature = "refresh", feature = "code-pair"))]
    hprintln!(
        "exchange buffer: {} bytes",
        lwa_embedded::EXCHANGE_BUFFER_LEN
    );
    measure::exit(ok)
}
