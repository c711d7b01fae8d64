//! The scenario through lwa-embedded's blocking driver.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lwa_device::wire::block_on;
use lwa_device::{BlockingDriver, boot, clock, finish, jitter, scenario};

#[entry]
fn main() -> ! {
    let Some(p) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice");
    };
    let Some(parts) = block_on(boot(p.SYST)) else {
        panic!("the harness did not hand over the root CA");
    };
    let mut driver: BlockingDriver = lwa_embedded::blocking::Driver {
        connector: parts.connector,
        store: parts.store,
        clock,
        random: jitter,
    };
    // The drive calls inside are blocking; `block_on` only runs the scenario's script.
    let ok = block_on(scenario::run(&mut driver, parts.session, parts.buf));
    finish("blocking", ok, &driver.connector)
}
