//! A Cortex-M4 firmware that runs lwa's refresh (on a chunked answer and on one with a
//! Content-Length) and a code-pair exchange through lwa-embedded's blocking driver, over an
//! in-memory stream holding recorded LWA answers with 2048-byte tokens; it checks every
//! parsed value, reports over semihosting and exits 0, or 1 on a wrong value.
//!
//! It measures itself: the stack is painted before the exchanges and scanned after (peak
//! stack), and TIMER0 counts the instructions of each exchange when QEMU runs with
//! `-icount shift=0` (`footprint.py` does). With the `peer` feature it runs the same
//! refreshes through a hand-written reqwless + serde-json-core client instead, the figure
//! lwa is compared with; without features it is the baseline the flash footprint is
//! measured against. Nothing here uses `core::fmt`, so neither does the baseline.
//!
//! `unsafe` appears only in the measurements (`measure`, shared with tests/device), which
//! read and write raw memory and TIMER0's registers, and in taking the exchange buffer; it is
//! the measured need.

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[cfg(feature = "peer")]
mod peer;
mod report;

// Stack painting, the instruction counter and the verdict, shared with tests/device.
#[path = "../../device/src/measure.rs"]
#[allow(dead_code)] // static_ram and pause/resume are for tests/device
mod measure;

static REFRESH_CHUNKED: &[u8] = include_bytes!("../recorded/refresh-chunked.http");
static REFRESH_CHUNKED_PLAIN: &[u8] = include_bytes!("../recorded/refresh-chunked-plain.http");
static REFRESH_LENGTH: &[u8] = include_bytes!("../recorded/refresh-length.http");
static REFRESH_LONG_EXTENSIONS: &[u8] = include_bytes!("../recorded/refresh-long-extensions.http");
static CODE_PAIR: &[u8] = include_bytes!("../recorded/codepair.http");
/// All five, kept in every build (see `main`) so that flash differences are code only.
static ANSWERS: [&[u8]; 5] = [
    REFRESH_LENGTH,
    REFRESH_CHUNKED_PLAIN,
    REFRESH_CHUNKED,
    REFRESH_LONG_EXTENSIONS,
    CODE_PAIR,
];

#[cfg_attr(
    not(any(feature = "refresh", feature = "code-pair", feature = "peer")),
    allow(dead_code)
)]
const CLIENT_ID: &str = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";
#[cfg_attr(not(any(feature = "refresh", feature = "peer")), allow(dead_code))]
const OLD_REFRESH_TOKEN: &str = "Atzr|IwEBIA-old";

/// The exchange buffer: 6 KiB holds a response with two 2048-byte tokens.
static mut BUF: [u8; 6 * 1024] = [0; 6 * 1024];

/// An in-memory stream: reads deliver the recorded answer in pieces of at most `piece`
/// bytes, writes are counted.
struct Recorded {
    answer: &'static [u8],
    pos: usize,
    piece: usize,
    written: usize,
}

impl Recorded {
    fn new(answer: &'static [u8], piece: usize) -> Self {
        Self {
            answer,
            pos: 0,
            piece,
            written: 0,
        }
    }

    fn take(&mut self, buf: &mut [u8]) -> usize {
        let rest = self.answer.get(self.pos..).unwrap_or_default();
        let n = buf.len().min(self.piece).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        n
    }
}

impl embedded_io::ErrorType for Recorded {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Recorded {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.take(buf))
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

#[cfg(feature = "peer")]
impl embedded_io_async::Read for Recorded {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.take(buf))
    }
}

#[cfg(feature = "peer")]
impl embedded_io_async::Write for Recorded {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written += buf.len();
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(feature = "peer")]
impl reqwless::TryBufRead for Recorded {}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Whether `token` is the recorded 2048-byte token with this prefix and salt.
fn is_recorded_token(token: &str, prefix: &str, salt: usize) -> bool {
    let bytes = token.as_bytes();
    bytes.len() == 2048
        && bytes.starts_with(prefix.as_bytes())
        && bytes[prefix.len()..]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == ALPHABET[(i * 7 + salt) % 64])
}

/// Whether a refresh answer's values are the recorded ones.
fn is_recorded_refresh(
    access: &str,
    refresh: Option<&str>,
    token_type: &str,
    expires_in: Option<u32>,
) -> bool {
    is_recorded_token(access, "Atza|IwEB", 3)
        && refresh.is_some_and(|r| is_recorded_token(r, "Atzr|IwEB", 5))
        && token_type == "bearer"
        && expires_in == Some(3600)
}

/// Prints one exchange's line: its name, the verdict, and the instructions it took (TIMER0
/// counts; exact under `-icount shift=0`, meaningless without it).
#[cfg_attr(
    not(any(feature = "refresh", feature = "code-pair", feature = "peer")),
    allow(dead_code)
)]
fn outcome(name: &str, ok: bool, counts: u32) -> bool {
    report::text(name);
    report::text(if ok { ": ok, " } else { ": WRONG VALUES, " });
    report::number(u64::from(counts) * measure::INSNS_PER_COUNT);
    report::text(" instructions\n");
    ok
}

/// One refresh through lwa, on `answer` read `piece` bytes at a time.
#[cfg(feature = "refresh")]
fn refresh(name: &str, answer: &'static [u8], piece: usize, buf: &mut [u8]) -> bool {
    use lwa_embedded::core::endpoint::{Endpoint, Region};
    use lwa_embedded::core::exchange::{Exchange, Outcome};
    use lwa_embedded::core::request::Request;
    use lwa_embedded::core::secret::Secret;

    let mut io = Recorded::new(answer, piece);
    measure::start_busy_counter();
    let request = Request::Refresh {
        client_id: CLIENT_ID,
        refresh_token: Secret::new(OLD_REFRESH_TOKEN),
        client_secret: None,
    };
    let endpoint = Endpoint::region(Region::Na);
    let Ok(exchange) = Exchange::new(&endpoint, &request, buf) else {
        return outcome(name, false, 0);
    };
    let result = lwa_embedded::blocking::run_exchange(&mut io, exchange);
    let counts = measure::busy_counts();
    let ok = match result {
        Ok(Outcome::Token(t)) => is_recorded_refresh(
            t.access_token.expose(),
            t.refresh_token.map(|r| r.expose()),
            t.token_type,
            t.expires_in,
        ),
        _ => false,
    };
    outcome(name, ok && io.written > 0, counts)
}

/// The same refresh through the hand-written reqwless + serde-json-core peer.
#[cfg(feature = "peer")]
fn refresh(name: &str, answer: &'static [u8], piece: usize, buf: &mut [u8]) -> bool {
    let mut io = Recorded::new(answer, piece);
    measure::start_busy_counter();
    let token = peer::refresh(&mut io, buf, CLIENT_ID, OLD_REFRESH_TOKEN);
    let counts = measure::busy_counts();
    let ok = token.is_some_and(|t| {
        is_recorded_refresh(
            t.access_token,
            t.refresh_token,
            t.token_type,
            Some(t.expires_in),
        )
    });
    outcome(name, ok && io.written > 0, counts)
}

/// One code-pair exchange through lwa, read `piece` bytes at a time.
#[cfg(feature = "code-pair")]
fn code_pair(name: &str, piece: usize, buf: &mut [u8]) -> bool {
    use lwa_embedded::core::endpoint::{Endpoint, Region};
    use lwa_embedded::core::exchange::{Exchange, Outcome};
    use lwa_embedded::core::request::Request;

    let mut io = Recorded::new(CODE_PAIR, piece);
    measure::start_busy_counter();
    let request = Request::CodePair {
        client_id: CLIENT_ID,
        product_id: "my_device",
        device_serial_number: "12345",
    };
    let endpoint = Endpoint::region(Region::Na);
    let Ok(exchange) = Exchange::new(&endpoint, &request, buf) else {
        return outcome(name, false, 0);
    };
    let result = lwa_embedded::blocking::run_exchange(&mut io, exchange);
    let counts = measure::busy_counts();
    let ok = match result {
        Ok(Outcome::CodePair(p)) => {
            p.device_code.expose() == "d1e4836b-2799-4294-9379-0025b37ec06c"
                && p.user_code == "BEYHYS"
                && p.verification_uri == "https://amazon.com/us/code"
                && p.expires_in == 600
                && p.interval == Some(30)
        }
        _ => false,
    };
    outcome(name, ok, counts)
}

#[inline(never)]
fn run() -> bool {
    // SAFETY: the only reference to BUF, taken once.
    let buf: &mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(BUF) };
    #[allow(unused_mut)]
    let mut ok = true;
    #[cfg(any(feature = "refresh", feature = "peer"))]
    {
        // Reads of up to 1 KiB (a TLS record's worth) measure the work per exchange, side by
        // side with the peer; the peer cannot read chunk extensions or trailers.
        ok &= refresh(
            "refresh, Content-Length, 1 KiB reads",
            REFRESH_LENGTH,
            1024,
            buf,
        );
        ok &= refresh(
            "refresh, chunked, 1 KiB reads",
            REFRESH_CHUNKED_PLAIN,
            1024,
            buf,
        );
    }
    #[cfg(feature = "refresh")]
    {
        // 61-byte reads of the answer with an extension and a trailer: any pieces will do.
        ok &= refresh(
            "refresh, chunked + extension + trailer, 61-byte reads",
            REFRESH_CHUNKED,
            61,
            buf,
        );
        // And a byte at a time, once with 1 KiB chunk lines: footprint.py bounds the work per
        // byte, so that each chunk line is scanned once and the head parsed once per line,
        // however many reads they arrive in.
        ok &= refresh(
            "refresh, chunked + extension + trailer, 1-byte reads",
            REFRESH_CHUNKED,
            1,
            buf,
        );
        ok &= refresh(
            "refresh, chunked with 1 KiB chunk lines, 1-byte reads",
            REFRESH_LONG_EXTENSIONS,
            1,
            buf,
        );
    }
    #[cfg(feature = "code-pair")]
    {
        // The same answer whole and a byte at a time: footprint.py bounds the ratio, so that
        // the head is parsed once per line, not once per read.
        ok &= code_pair("code pair, 1 KiB reads", 1024, buf);
        ok &= code_pair("code pair, 1-byte reads", 1, buf);
    }
    #[cfg(not(any(feature = "refresh", feature = "code-pair", feature = "peer")))]
    {
        // The baseline reads the recorded answers through the same stream into the same
        // buffer, without an exchange: the stream is the firmware's, not lwa's.
        let mut sum = 0u32;
        for answer in ANSWERS {
            let mut io = Recorded::new(answer, 1024);
            loop {
                let n = embedded_io::Read::read(&mut io, buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                sum = buf[..n]
                    .iter()
                    .fold(sum, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
            }
        }
        report::figure("baseline checksum", u64::from(sum), "(no exchange)");
        // The same checks and report lines as the exchanges, on values the compiler cannot
        // see through, so that they count in the baseline and not in lwa's share.
        let counts = measure::busy_counts();
        let text = core::hint::black_box("");
        let matches = is_recorded_refresh(text, Some(text), text, core::hint::black_box(None));
        ok &= outcome("baseline, no exchange", !matches, counts);
    }
    ok
}

/// Panics print a fixed line and fail the run: formatting the message would link
/// `core::fmt`, which the measured firmware must not.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    report::text("PANIC\n");
    measure::exit(false)
}

#[entry]
fn main() -> ! {
    measure::paint_stack();
    // Every build links the same recorded answers, used or not.
    core::hint::black_box(&ANSWERS);
    let ok = run();
    report::figure("peak stack", measure::stack_used() as u64, "bytes");
    report::figure("exchange buffer", 6 * 1024, "bytes");
    measure::exit(ok)
}

#[cfg(all(feature = "peer", any(feature = "refresh", feature = "code-pair")))]
compile_error!(
    "`peer` replaces lwa's exchanges: build it with --no-default-features --features peer"
);
