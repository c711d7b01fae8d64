//! Raspberry Pi Pico W firmware: joins Wi-Fi, takes the time by SNTP, and keeps a Login with
//! Amazon session for an Alexa device: code-based linking on first boot, then an access
//! token refreshed ahead of its expiry, for as long as it runs, over TLS 1.3 verified against
//! lwa-embedded's curated roots (`tls::roots::LWA`). The refresh token lives in the flash's
//! last 32 KiB and survives resets, power cuts and new firmware. See README.md for building
//! and flashing.
//!
//! Every failure is logged (defmt over RTT) and retried or waited out: Wi-Fi that drops is
//! joined again, SNTP is asked until it answers, and lwa's session schedules its own retries.

#![no_std]
#![no_main]

mod config;
mod heap;
mod net;
mod nvram;
mod rng;
mod sntp;
mod store;

use cyw43::{A4, Aligned, JoinOptions};
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, PioSpi};
use defmt::{error, info, unwrap, warn};
use embassy_executor::Spawner;
use embassy_net::{Stack, StackResources};
use embassy_rp::flash::Flash;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::{DMA_CH0, DMA_CH1, PIO0};
use embassy_rp::pio::{self, Pio};
use embassy_rp::{bind_interrupts, dma};
use embassy_time::{Duration, Timer};
use lwa_embedded::core::session::{Instant, Session};
use lwa_embedded::flash::{ApplicationKey, AsyncFlashStore, BUFFER_LEN};
use lwa_embedded::{DriveError, EXCHANGE_BUFFER_LEN, Next};
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

use crate::net::{Buffers, Connector, READ_RECORD_LEN, TCP_RX_LEN, TCP_TX_LEN, WRITE_RECORD_LEN};

bind_interrupts!(struct Irqs {
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>, dma::InterruptHandler<DMA_CH1>;
});

/// The CYW43439's firmware, aligned as the driver loads it.
static WIFI_FIRMWARE: &Aligned<A4, [u8]> = &Aligned(*cyw43_firmware::CYW43_43439A0);
/// The CYW43439's country matrix.
static WIFI_CLM: &[u8] = cyw43_firmware::CYW43_43439A0_CLM;

/// How long to wait before asking again after a failure that has no schedule of its own
/// (joining Wi-Fi, SNTP, the flash).
const RETRY: Duration = Duration::from_secs(10);
/// How long to wait for DHCP after joining before joining again.
const DHCP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait after LWA refused the configuration before trying it again: a fix in the
/// developer console (a security profile enabled, say) needs no new firmware.
const REFUSED_RETRY: Duration = Duration::from_secs(60 * 60);

static CYW43_STATE: StaticCell<cyw43::State> = StaticCell::new();
/// Sockets at once: DHCP, DNS, the TCP connection, the SNTP socket at boot, and one spare
/// (a full socket set panics in smoltcp).
static NET_RESOURCES: StaticCell<StackResources<5>> = StaticCell::new();
static SESSION: StaticCell<Session<'static>> = StaticCell::new();
static EXCHANGE: ConstStaticCell<[u8; EXCHANGE_BUFFER_LEN]> =
    ConstStaticCell::new([0; EXCHANGE_BUFFER_LEN]);
static STORE_BUFFER: ConstStaticCell<[u8; BUFFER_LEN]> = ConstStaticCell::new([0; BUFFER_LEN]);
static STORE_KEY: StaticCell<ApplicationKey> = StaticCell::new();
static TCP_RX: ConstStaticCell<[u8; TCP_RX_LEN]> = ConstStaticCell::new([0; TCP_RX_LEN]);
static TCP_TX: ConstStaticCell<[u8; TCP_TX_LEN]> = ConstStaticCell::new([0; TCP_TX_LEN]);
static READ_RECORD: ConstStaticCell<[u8; READ_RECORD_LEN]> =
    ConstStaticCell::new([0; READ_RECORD_LEN]);
static WRITE_RECORD: ConstStaticCell<[u8; WRITE_RECORD_LEN]> =
    ConstStaticCell::new([0; WRITE_RECORD_LEN]);

/// The Wi-Fi chip's bus.
type WifiBus = cyw43::SpiBus<Output<'static>, PioSpi<'static, PIO0, 0>>;

/// lwa's async driver as this firmware builds it.
type Driver = lwa_embedded::asynch::Driver<Connector, store::Store, fn() -> Instant, fn() -> u32>;

/// Runs the Wi-Fi chip.
#[embassy_executor::task]
async fn wifi_task(runner: cyw43::Runner<'static, WifiBus>) -> ! {
    runner.run().await
}

/// Runs the network stack.
#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, cyw43::NetDriver<'static>>) -> ! {
    runner.run().await
}

/// The session's clock: milliseconds since boot (monotonic; the wall time is only for
/// certificates).
fn clock() -> Instant {
    Instant::from_millis(embassy_time::Instant::now().as_millis())
}

/// Sleeps until the session's instant `until`.
async fn sleep_until(until: Instant) {
    Timer::at(embassy_time::Instant::from_millis(until.as_millis())).await;
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    heap::init();
    info!("lwa on a Pico W: client {}", config::LWA_CLIENT_ID);

    // The CYW43439 on its PIO-driven SPI bus: power on GPIO 23, chip select on GPIO 25,
    // data on GPIO 24, clock on GPIO 29 (the Pico W's wiring).
    let power = Output::new(p.PIN_23, Level::Low);
    let select = Output::new(p.PIN_25, Level::High);
    let mut pio = Pio::new(p.PIO0, Irqs);
    let spi = PioSpi::new(
        &mut pio.common,
        pio.sm0,
        DEFAULT_CLOCK_DIVIDER,
        pio.irq0,
        select,
        p.PIN_24,
        p.PIN_29,
        dma::Channel::new(p.DMA_CH0, Irqs),
    );
    let state = CYW43_STATE.init(cyw43::State::new());
    let (device, mut control, runner) =
        cyw43::new(state, power, spi, WIFI_FIRMWARE, nvram::NVRAM).await;
    // Each task's pool holds one and each is spawned once: spawning cannot fail.
    spawner.spawn(unwrap!(wifi_task(runner)));
    control.init(WIFI_CLM).await;
    control
        .set_power_management(cyw43::PowerManagementMode::PowerSave)
        .await;

    let seed = u64::from(rng::jitter()) << 32 | u64::from(rng::jitter());
    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        NET_RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.spawn(unwrap!(net_task(runner)));

    join(&mut control, stack).await;
    let unix_at_boot = wall_time(stack).await;

    let mut flash = Flash::new(p.FLASH, p.DMA_CH1, Irqs);
    // The board has no secret storage: the sealing key comes from the flash chip's unique ID
    // (see store.rs for what that protects against, and what not).
    let key = STORE_KEY.init(store::chip_key(&mut flash));
    // The range is two or more whole erase sectors and the buffer BUFFER_LEN bytes, fixed at
    // build time: `new` cannot refuse them.
    let mut store = unwrap!(AsyncFlashStore::new(
        flash,
        store::RANGE,
        STORE_BUFFER.take(),
        config::LWA_CLIENT_ID,
    ))
    .sealed(key);
    // Where the tokens are kept, and how: said once at boot, for whoever reads the log.
    info!(
        "tokens kept in flash at {:#x}..{:#x}, sealed with AES-128-GCM under a key from the \
         flash chip's unique ID (it stops casual reading of a flash dump, not an attacker \
         holding the board)",
        store::RANGE.start,
        store::RANGE.end
    );
    let session = SESSION.init_with(|| Session::new(config::SESSION));
    restore(&mut store, session).await;

    let connector = Connector::new(
        stack,
        unix_at_boot,
        Buffers {
            tcp_rx: TCP_RX.take(),
            tcp_tx: TCP_TX.take(),
            read_record: READ_RECORD.take(),
            write_record: WRITE_RECORD.take(),
        },
    );
    let mut driver: Driver = lwa_embedded::asynch::Driver {
        connector,
        store,
        clock: clock as fn() -> Instant,
        random: rng::jitter as fn() -> u32,
    };
    let buf = EXCHANGE.take();

    loop {
        if !stack.is_config_up() {
            warn!("Wi-Fi is down: joining again");
            join(&mut control, stack).await;
        }
        match driver.drive(session, &config::ENDPOINT, buf).await {
            Ok(Next::Ready(_token)) => {
                // A device hands the token to AVS here; this one only says it has one.
                let now = clock();
                match session.access_expires_at() {
                    Some(expires) => {
                        let left = expires.as_millis().saturating_sub(now.as_millis()) / 1000;
                        info!(
                            "access token ready: expires in {} s (at {} s Unix time)",
                            left,
                            driver.connector.unix_now() + left
                        );
                    }
                    None => info!("access token ready"),
                }
                // Sleep until the session wants to refresh.
                match session.poll_timeout(now) {
                    Some(due) => sleep_until(due).await,
                    None => Timer::after(RETRY).await,
                }
            }
            Ok(Next::Wait(until)) => sleep_until(until).await,
            Ok(Next::ShowCode {
                user_code,
                verification_uri,
                expires_at,
            }) => {
                let left = expires_at.as_millis().saturating_sub(clock().as_millis()) / 1000;
                info!(
                    "to link this device, go to {} and enter the code {} (valid {} s)",
                    verification_uri, user_code, left
                );
            }
            Ok(Next::SignIn) => {
                // Code-based linking is configured, so the session signs in by itself and
                // never asks for an authorization code; wait and ask it again.
                error!(
                    "the session asks for an authorization code; code-based linking is configured"
                );
                Timer::after(REFUSED_RETRY).await;
            }
            Ok(Next::Stopped(reason)) => {
                error!(
                    "LWA refused this client: {}; trying again in an hour",
                    reason
                );
                Timer::after(REFUSED_RETRY).await;
                session.reset(config::SESSION);
                restore(&mut driver.store, session).await;
            }
            Err(DriveError::Store(e)) => {
                // The session keeps the token and retries the store on the next call.
                warn!("storing the token in flash failed: {}", e);
                Timer::after(RETRY).await;
            }
            Err(e) => {
                // A session driven out of order: a bug in the driver, not a runtime
                // condition; log it and let the session go on.
                error!("the driver failed: {}", e);
                Timer::after(RETRY).await;
            }
        }
    }
}

/// Joins the Wi-Fi network and waits for DHCP, retrying until both succeed.
async fn join(control: &mut cyw43::Control<'static>, stack: Stack<'static>) {
    loop {
        let options = if config::WIFI_PASSWORD.is_empty() {
            JoinOptions::new_open()
        } else {
            JoinOptions::new(config::WIFI_PASSWORD.as_bytes())
        };
        info!("joining Wi-Fi network {}", config::WIFI_SSID);
        if let Err(e) = control.join(config::WIFI_SSID, options).await {
            warn!("joining failed: {}; trying again", e);
            Timer::after(RETRY).await;
            continue;
        }
        if embassy_time::with_timeout(DHCP_TIMEOUT, stack.wait_config_up())
            .await
            .is_err()
        {
            warn!("no address from DHCP; joining again");
            control.leave().await;
            continue;
        }
        if let Some(c) = stack.config_v4() {
            info!("on the network as {}", c.address);
        }
        return;
    }
}

/// Unix seconds at boot, by SNTP, asked until a server answers.
async fn wall_time(stack: Stack<'static>) -> u64 {
    loop {
        let nonce = u64::from(rng::jitter()) << 32 | u64::from(rng::jitter());
        match sntp::unix_time(stack, config::NTP_SERVER, nonce).await {
            Ok(unix) => {
                info!("the time: {} s Unix time", unix);
                return unix.saturating_sub(embassy_time::Instant::now().as_secs());
            }
            Err(e) => {
                warn!(
                    "SNTP from {} failed: {}; trying again",
                    config::NTP_SERVER,
                    e
                );
                Timer::after(RETRY).await;
            }
        }
    }
}

/// Hands the refresh token kept in flash to the session, if there is one.
async fn restore(store: &mut store::Store, session: &mut Session<'static>) {
    match store.restore(session).await {
        Ok(true) => info!("refresh token restored from flash"),
        Ok(false) => info!("no refresh token in flash: code-based linking"),
        // The session then links anew, and its first store writes a fresh record.
        Err(e) => warn!("reading the token store failed: {}", e),
    }
}
