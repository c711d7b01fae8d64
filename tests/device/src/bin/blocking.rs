//! The scenario through lwa-embedded's blocking driver.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use lwa_device::wire::block_on;
use lwa_device::{boot_blocking, finish, scenario};

#[entry]
fn main() -> ! {
    let (mut driver, session, buf) = boot_blocking();
    // The drive calls inside are blocking; `block_on` only runs the scenario's script.
    let ok = block_on(scenario::run(&mut driver, session, buf));
    finish("blocking", ok, &driver.connector)
}
