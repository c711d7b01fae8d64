//! The flash store alone, without TLS or a driver: stores a token, loads it back, forgets
//! it, loads nothing. Built with and without the `sealed` feature, it measures what sealing
//! costs on a firmware that links no AES-GCM, SHA-256 or HMAC for TLS (the device app
//! measures it with TLS linked). It runs under plain QEMU, no harness:
//! `qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -semihosting-config
//! enable=on,target=native -kernel <elf>`.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use lwa_device::{PARTITION, board, measure, scenario, store};
use lwa_embedded::core::secret::Secret;
use lwa_embedded::core::session::{TokenStore, Tokens};
use lwa_embedded::flash::FlashStore;

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let Some(p) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice");
    };
    board::start_clock(p.SYST);
    let (flash, buffer) = store::partition();
    let Ok(store) = FlashStore::new(flash, PARTITION, buffer, scenario::CLIENT_ID) else {
        panic!("the token store's partition does not suit it");
    };
    #[cfg(feature = "sealed")]
    let store = store.sealed(store::key());
    let mut store = store;
    // Not a constant the compiler could see through.
    let refresh = core::hint::black_box("Atzr|IwEBIJ-a-refresh-token-for-the-footprint");
    let stored = store
        .store(&Tokens {
            refresh_token: Secret::new(refresh),
            access_token: None,
        })
        .is_ok();
    let loaded = matches!(store.load(), Ok(Some(s)) if s.refresh_token.expose() == refresh);
    let forgotten = store.forget().is_ok() && matches!(store.load(), Ok(None));
    let ok = stored && loaded && forgotten;
    hprintln!(
        "store only (sealed: {}): stored {}, loaded {}, forgotten {}",
        cfg!(feature = "sealed"),
        stored,
        loaded,
        forgotten
    );
    hprintln!("peak stack: {} bytes", measure::stack_used());
    hprintln!("static RAM: {} bytes", measure::static_ram());
    measure::exit(ok)
}
