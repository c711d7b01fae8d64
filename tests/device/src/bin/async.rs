//! The scenario through lwa-embedded's async driver on embassy's Cortex-M executor.

#![no_std]
#![no_main]

use embassy_executor::Spawner;
use lwa_device::{boot_async, finish, scenario};

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let (mut driver, session, buf) = boot_async().await;
    let ok = scenario::run(&mut driver, session, buf).await;
    finish("async", ok, &driver.connector)
}
