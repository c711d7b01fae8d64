//! What a device's firmware would carry, for the footprint: the same board, wire, verified
//! TLS and blocking driver as `blocking`, without the scenario's checks. It signs in by
//! code-based linking, refreshes once, and reports; `footprint.py` measures its flash as
//! the networking part of a device firmware. It runs too (`cargo run --release --bin device`).

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use lwa_device::{board, boot_blocking, finish};
use lwa_embedded::Next;
use lwa_embedded::core::endpoint::{Endpoint, Region};

#[entry]
fn main() -> ! {
    let (mut driver, session, buf) = boot_blocking();
    // Amazon's endpoint, as a device names it; the harness's network resolves the name to
    // the look-alike, whose certificate carries it.
    let endpoint = Endpoint::region(Region::Na);
    let mut tokens = 0;
    for _ in 0..20 {
        match driver.drive(session, &endpoint, buf) {
            Ok(Next::Ready(_)) => {
                tokens += 1;
                let expires = session.access_expires_at().map_or(0, |t| t.as_millis());
                hprintln!("token {}: expires at {} ms", tokens, expires);
                if tokens == 2 {
                    break;
                }
                // Sleep until the refresh is due (here: move the clock there).
                if let Some(due) = session.poll_timeout(board::now()) {
                    board::skip(due.as_millis().saturating_sub(board::now().as_millis()));
                }
            }
            Ok(Next::Wait(until)) => {
                let end = until.as_millis() + 250;
                while board::now().as_millis() < end {}
            }
            Ok(Next::ShowCode { user_code, .. }) => hprintln!("sign in with code {}", user_code),
            Ok(_) | Err(_) => break,
        }
    }
    finish("blocking (device app)", tokens == 2, &driver.connector)
}
