//! The scenario through lwa-embedded's async driver on embassy's Cortex-M executor.

#![no_std]
#![no_main]

use embassy_executor::Spawner;
use lwa_device::{AsyncDriver, boot, clock, finish, jitter, scenario};

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let Some(p) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice");
    };
    let Some(parts) = boot(p.SYST).await else {
        panic!("the harness did not hand over the root CA");
    };
    let mut driver: AsyncDriver = lwa_embedded::asynch::Driver {
        connector: parts.connector,
        store: parts.store,
        clock,
        random: jitter,
    };
    let ok = scenario::run(&mut driver, parts.session, parts.buf).await;
    finish("async", ok, &driver.connector)
}
