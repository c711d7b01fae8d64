//! The footprint baseline: the same runtime, clock, stack painting and semihosting report as
//! the other firmwares, without the network, TLS or lwa. `footprint.py` subtracts it to get
//! what the networking part costs. It is built, not run.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use lwa_device::{board, measure};

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let Some(p) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice");
    };
    board::start_clock(p.SYST);
    hprintln!(
        "baseline: up {} ms at {:?}",
        board::uptime_ms(),
        board::now()
    );
    hprintln!("peak stack: {} bytes", measure::stack_used());
    hprintln!("static RAM: {} bytes", measure::static_ram());
    measure::exit(true)
}
