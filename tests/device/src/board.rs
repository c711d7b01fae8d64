//! The MPS2-AN386 board as QEMU models it: UART0 (a CMSDK APB UART) and a millisecond clock
//! from SysTick. `unsafe` here is register access at the board's fixed addresses, the
//! measured need of any bare-metal driver.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use lwa_embedded::core::session::Instant;

/// UART0 of the MPS2 FPGA images (AN385/AN386); QEMU connects it to its first `-serial`.
const UART0: usize = 0x4000_4000;
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// The processor clock of the AN386 image, which drives SysTick.
const CPU_HZ: u32 = 25_000_000;

fn reg(offset: usize) -> *mut u32 {
    (UART0 + offset) as *mut u32
}

/// UART0, byte by byte. QEMU does not lose bytes: it hands the next one over only once the
/// firmware has read the last (the receive register is one byte deep), so the host side
/// waits rather than overruns.
#[derive(Debug)]
pub struct Uart {
    _private: (),
}

impl Uart {
    /// Enables UART0's transmitter and receiver. Call once.
    #[must_use]
    pub fn init() -> Self {
        // SAFETY: UART0's registers at their documented addresses; this is the only owner.
        unsafe {
            write_volatile(reg(BAUDDIV), 16);
            write_volatile(reg(CTRL), CTRL_TX_EN | CTRL_RX_EN);
        }
        Self { _private: () }
    }

    /// The next received byte, if one is waiting.
    pub fn try_read(&mut self) -> Option<u8> {
        // SAFETY: reads of UART0's status and data registers.
        unsafe {
            if read_volatile(reg(STATE)) & STATE_RX_FULL == 0 {
                return None;
            }
            Some(read_volatile(reg(DATA)) as u8)
        }
    }

    /// Sends one byte, waiting while the transmitter is full.
    pub fn write(&mut self, byte: u8) {
        // SAFETY: reads of UART0's status register, a write to its data register.
        unsafe {
            while read_volatile(reg(STATE)) & STATE_TX_FULL != 0 {}
            write_volatile(reg(DATA), u32::from(byte));
        }
    }
}

static TICKS: AtomicU32 = AtomicU32::new(0);
static SKIPPED: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick at one interrupt per millisecond.
pub fn start_clock(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CPU_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_counter();
    syst.enable_interrupt();
}

#[exception]
fn SysTick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

pub use crate::measure::{
    INSNS_PER_COUNT, busy_counts, pause_busy, resume_busy, start_busy_counter,
};

/// Whether a byte is waiting in UART0, without taking it.
#[must_use]
pub fn rx_ready() -> bool {
    // SAFETY: a read of UART0's status register.
    unsafe { read_volatile(reg(STATE)) & STATE_RX_FULL != 0 }
}

/// Milliseconds since boot, as SysTick counted them.
#[must_use]
pub fn uptime_ms() -> u32 {
    TICKS.load(Ordering::Relaxed)
}

/// The session's clock: SysTick's milliseconds plus the time skipped with [`skip`].
#[must_use]
pub fn now() -> Instant {
    Instant::from_millis(u64::from(uptime_ms()) + u64::from(SKIPPED.load(Ordering::Relaxed)))
}

/// Moves the session's clock forward by `ms`, as if the device had slept that long: the
/// firmware does not wait 50 minutes for a refresh to fall due.
pub fn skip(ms: u64) {
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    SKIPPED.fetch_add(ms, Ordering::Relaxed);
}
