//! A Cortex-M4 firmware (QEMU's MPS2-AN386) that keeps an LWA session over verified TLS 1.3
//! against lwa's look-alike, through lwa-embedded's blocking driver (`bin/blocking.rs`) or
//! its async driver on embassy's executor (`bin/async.rs`), and measures the whole path:
//! flash, static RAM, peak stack, heap. The host side is `harness.py`; see README.md.

#![no_std]

pub mod board;
#[cfg(feature = "rsa")]
pub mod heap;
pub mod measure;
pub mod net;
pub mod rng;
pub mod scenario;
pub mod store;
pub mod wire;

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_semihosting::hprintln;
use lwa_embedded::core::session::{Instant, Session};
use lwa_embedded::{DriveError, EXCHANGE_BUFFER_LEN, Next};
use static_cell::{ConstStaticCell, StaticCell};

use crate::net::{Connector, READ_RECORD_LEN, WRITE_RECORD_LEN};
use crate::wire::Wire;
use lwa_embedded::flash::{AsyncFlashStore, FlashError, FlashStore};
use lwa_embedded::tls::{CertificateDer, TrustAnchor, anchor_from_der};
use lwa_test_support::flash::{PowerCut, RamFlash};

/// Reports where a panic happened and exits QEMU with a failure. The message is not
/// formatted: formatting panic messages links 4 KiB of `core::fmt` (char escapes, Unicode
/// tables) that a device's panic handler, which resets, would not carry either.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    if let Some(at) = info.location() {
        hprintln!("PANIC at {}:{}", at.file(), at.line());
    }
    measure::exit(false)
}

/// The chain this build verifies, as the harness names it.
pub const CHAIN: &str = if cfg!(feature = "rsa") { "rsa" } else { "p256" };

static READ_RECORD: ConstStaticCell<[u8; READ_RECORD_LEN]> =
    ConstStaticCell::new([0; READ_RECORD_LEN]);
static WRITE_RECORD: ConstStaticCell<[u8; WRITE_RECORD_LEN]> =
    ConstStaticCell::new([0; WRITE_RECORD_LEN]);
static EXCHANGE: ConstStaticCell<[u8; EXCHANGE_BUFFER_LEN]> =
    ConstStaticCell::new([0; EXCHANGE_BUFFER_LEN]);
static CA: ConstStaticCell<[u8; 2048]> = ConstStaticCell::new([0; 2048]);
static ROOT: StaticCell<CertificateDer<'static>> = StaticCell::new();
/// lwa-embedded's default set and the run's test root.
static ANCHORS: StaticCell<[TrustAnchor<'static>; ANCHORS_LEN]> = StaticCell::new();
const ANCHORS_LEN: usize = 10;
static SESSION: StaticCell<Session<'static>> = StaticCell::new();

/// What every firmware of this crate starts with.
pub struct Parts {
    /// Opens connections.
    pub connector: Connector,
    /// The token store's flash partition and work buffer.
    pub flash: (RamFlash<'static, { store::PAGE }>, &'static mut [u8]),
    /// The session (in a static: 4.9 KiB).
    pub session: &'static mut Session<'static>,
    /// The exchange buffer.
    pub buf: &'static mut [u8],
}

/// Random values for the session's retry jitter (xorshift; not for keys).
pub fn jitter() -> u32 {
    static STATE: AtomicU32 = AtomicU32::new(0x9E37_79B9);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    STATE.store(x, Ordering::Relaxed);
    x
}

/// The session's clock as the drivers take it.
pub fn clock() -> Instant {
    board::now()
}

/// Starts the clock and the UART, paints the stack, and fetches the run's root CA from the
/// harness (the look-alike's CA is made for each run; a device would load such an extra
/// anchor from flash), then builds the connector, which trusts lwa-embedded's default
/// anchors and that root. Tells the harness which signature schemes the verifier checks,
/// so that it can hold every ClientHello to them. `None` if the harness did not answer.
pub async fn boot_connector(syst: cortex_m::peripheral::SYST) -> Option<Connector> {
    measure::paint_stack();
    board::start_clock(syst);
    board::start_busy_counter();
    #[cfg(feature = "rsa")]
    heap::init_heap();
    let mut wire = Wire::new(board::Uart::init());
    let ca = CA.take();
    let mut command = [0u8; 16];
    let command = concat(&mut command, "start ", CHAIN)?;
    let n = wire.control(command, ca).await.ok()?;
    let ca: &'static [u8] = ca.get(..n)?;
    let root = anchor_from_der(ROOT.init(CertificateDer::from(ca))).ok()?;
    let defaults: &[TrustAnchor<'static>] = if cfg!(feature = "one-anchor") {
        &[]
    } else {
        lwa_embedded::tls::roots::LWA
    };
    let anchors = ANCHORS.init_with(|| {
        core::array::from_fn(|i| defaults.get(i).cloned().unwrap_or_else(|| root.clone()))
    });
    let mut offered = [0u8; 64];
    wire.control(offered_command(&mut offered)?, &mut [0u8; 4])
        .await
        .ok()?;
    // A device draws from its true random number generator; QEMU's MPS2 has none (see
    // `rng`), and a test has no secret to protect, so the seed is fixed and the boot time
    // stirs it.
    let mut seed = *b"lwa device test seed, not random";
    seed[0] ^= board::uptime_ms() as u8;
    // The time, as a device would take it from SNTP before its first TLS connection.
    let mut answer = [0u8; 20];
    let n = wire.control("time", &mut answer).await.ok()?;
    let unix_time = core::str::from_utf8(answer.get(..n)?).ok()?.parse().ok()?;
    let mut connector = Connector::new(
        wire,
        anchors,
        rng::Sha256Rng::new(seed),
        READ_RECORD.take(),
        WRITE_RECORD.take(),
    );
    connector.unix_time_at_boot = unix_time;
    Some(connector)
}

/// [`boot_connector`], and the session, store and exchange buffer the drivers need.
pub async fn boot(syst: cortex_m::peripheral::SYST) -> Option<Parts> {
    let connector = boot_connector(syst).await?;
    Some(Parts {
        connector,
        flash: store::partition(),
        session: SESSION.init_with(|| Session::new(scenario::CONFIG)),
        buf: EXCHANGE.take(),
    })
}

/// [`boot`] with the board's peripherals; a harness that does not answer fails the run.
async fn boot_or_fail() -> Parts {
    let Some(p) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice");
    };
    let Some(parts) = boot(p.SYST).await else {
        panic!("the harness did not hand over the root CA and the time");
    };
    parts
}

/// Boots (see [`boot`]) and builds the blocking driver, with the session and exchange
/// buffer it drives. A harness that does not answer fails the run.
pub fn boot_blocking() -> (
    BlockingDriver,
    &'static mut Session<'static>,
    &'static mut [u8],
) {
    let parts = wire::block_on(boot_or_fail());
    let (flash, buffer) = parts.flash;
    let Ok(store) = FlashStore::new(flash, PARTITION, buffer, scenario::CLIENT_ID) else {
        panic!("the token store's partition does not suit it");
    };
    #[cfg(feature = "sealed")]
    let store = store.sealed(store::key());
    let driver = lwa_embedded::blocking::Driver {
        connector: parts.connector,
        store,
        clock: clock as fn() -> Instant,
        random: jitter as fn() -> u32,
    };
    (driver, parts.session, parts.buf)
}

/// [`boot_blocking`] for the async driver.
pub async fn boot_async() -> (
    AsyncDriver,
    &'static mut Session<'static>,
    &'static mut [u8],
) {
    let parts = boot_or_fail().await;
    let (flash, buffer) = parts.flash;
    let Ok(store) = AsyncFlashStore::new(flash, PARTITION, buffer, scenario::CLIENT_ID) else {
        panic!("the token store's partition does not suit it");
    };
    #[cfg(feature = "sealed")]
    let store = store.sealed(store::key());
    let driver = lwa_embedded::asynch::Driver {
        connector: parts.connector,
        store,
        clock: clock as fn() -> Instant,
        random: jitter as fn() -> u32,
    };
    (driver, parts.session, parts.buf)
}

/// `offered XXXX,...`: the verifier's signature schemes in the ClientHello's order, as the
/// harness reads them off the wire (hex codes, written out without `core::fmt`).
fn offered_command(out: &mut [u8]) -> Option<&str> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = "offered ".len();
    out.get_mut(..n)?.copy_from_slice(b"offered ");
    for (i, scheme) in lwa_embedded::tls::algorithms::OFFERED.iter().enumerate() {
        if i > 0 {
            *out.get_mut(n)? = b',';
            n += 1;
        }
        let code = scheme.as_u16();
        for shift in [12, 8, 4, 0] {
            *out.get_mut(n)? = HEX[usize::from((code >> shift) & 0xf)];
            n += 1;
        }
    }
    core::str::from_utf8(out.get(..n)?).ok()
}

fn concat<'a>(out: &'a mut [u8], a: &str, b: &str) -> Option<&'a str> {
    let n = a.len() + b.len();
    out.get_mut(..a.len())?.copy_from_slice(a.as_bytes());
    out.get_mut(a.len()..n)?.copy_from_slice(b.as_bytes());
    core::str::from_utf8(out.get(..n)?).ok()
}

/// Prints the measurements and exits QEMU: 0 when every check passed.
pub fn finish(driver: &str, ok: bool, connector: &Connector) -> ! {
    let stack = measure::stack_used();
    hprintln!("driver: {}, chain: {}", driver, CHAIN);
    hprintln!("peak stack: {} bytes", stack);
    hprintln!("static RAM: {} bytes", measure::static_ram());
    #[cfg(feature = "rsa")]
    {
        let (peak, size) = heap::heap_peak();
        hprintln!("heap peak: {} bytes (of {})", peak, size);
    }
    #[cfg(not(feature = "rsa"))]
    hprintln!("heap peak: 0 bytes (no allocator)");
    let s = connector.wire.stats;
    hprintln!(
        "wire: {} connections, {} bytes sent, {} received; last handshake {} ms, {} work",
        s.connections,
        s.sent,
        s.received,
        connector.report.last_handshake_ms,
        connector.report.last_handshake_work
    );
    measure::exit(ok)
}

/// The token store's range of the partition: all of it.
/// The whole partition, as the store's range.
pub const PARTITION: core::ops::Range<u32> = 0..store::PARTITION_LEN as u32;

/// The flash store of the blocking driver.
pub type BlockingStore = FlashStore<'static, RamFlash<'static, { store::PAGE }>>;
/// The flash store of the async driver.
pub type AsyncStore = AsyncFlashStore<'static, RamFlash<'static, { store::PAGE }>>;
/// Why a store failed.
pub type StoreError = FlashError<PowerCut>;

/// The blocking driver as this firmware builds it.
pub type BlockingDriver =
    lwa_embedded::blocking::Driver<Connector, BlockingStore, fn() -> Instant, fn() -> u32>;
/// The async driver as this firmware builds it.
pub type AsyncDriver =
    lwa_embedded::asynch::Driver<Connector, AsyncStore, fn() -> Instant, fn() -> u32>;

impl scenario::Drive for BlockingDriver {
    async fn drive<'s>(
        &mut self,
        session: &'s mut Session<'static>,
        endpoint: &lwa_embedded::core::endpoint::Endpoint<'_>,
        buf: &mut [u8],
    ) -> Result<Next<'s>, DriveError<StoreError>> {
        lwa_embedded::blocking::Driver::drive(self, session, endpoint, buf)
    }
    async fn connect_only(
        &mut self,
        endpoint: &lwa_embedded::core::endpoint::Endpoint<'_>,
    ) -> Result<(), net::ConnectError> {
        lwa_embedded::blocking::Connect::connect(&mut self.connector, endpoint).map(drop)
    }
    fn connector(&mut self) -> &mut Connector {
        &mut self.connector
    }
    fn store_writes(&self) -> u32 {
        self.store.writes()
    }
    async fn stored(&mut self) -> Option<u32> {
        let stored = self.store.load().ok()??;
        Some(scenario::fingerprint(stored.refresh_token.expose()))
    }
    async fn restore(&mut self, session: &mut Session<'static>) -> bool {
        self.store.restore(session).unwrap_or(false)
    }
}

impl scenario::Drive for AsyncDriver {
    async fn drive<'s>(
        &mut self,
        session: &'s mut Session<'static>,
        endpoint: &lwa_embedded::core::endpoint::Endpoint<'_>,
        buf: &mut [u8],
    ) -> Result<Next<'s>, DriveError<StoreError>> {
        lwa_embedded::asynch::Driver::drive(self, session, endpoint, buf).await
    }
    async fn connect_only(
        &mut self,
        endpoint: &lwa_embedded::core::endpoint::Endpoint<'_>,
    ) -> Result<(), net::ConnectError> {
        lwa_embedded::asynch::Connect::connect(&mut self.connector, endpoint)
            .await
            .map(drop)
    }
    fn connector(&mut self) -> &mut Connector {
        &mut self.connector
    }
    fn store_writes(&self) -> u32 {
        self.store.writes()
    }
    async fn stored(&mut self) -> Option<u32> {
        let stored = self.store.load().await.ok()??;
        Some(scenario::fingerprint(stored.refresh_token.expose()))
    }
    async fn restore(&mut self, session: &mut Session<'static>) -> bool {
        self.store.restore(session).await.unwrap_or(false)
    }
}
