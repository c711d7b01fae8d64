//! The footprint's second baseline: the same board, wire and verified TLS 1.3 handshake to
//! the look-alike, then a fixed HTTP request written and the answer read raw, without
//! lwa-core's request builder, parser or session. `footprint.py` subtracts it from the
//! full firmware to get what lwa adds. It runs too (`cargo run --release --bin tls_only`).

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_io::Write;
use lwa_device::wire::block_on;
use lwa_device::{boot_connector, finish, scenario};
use lwa_embedded::blocking::Connect;
use lwa_embedded::core::endpoint::Endpoint;

const REQUEST: &[u8] = b"POST /auth/o2/token HTTP/1.1\r\nHost: lwa.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 28\r\nConnection: close\r\n\r\ngrant_type=refresh_token&x=y";

#[entry]
fn main() -> ! {
    let Some(p) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice");
    };
    let Some(mut connector) = block_on(boot_connector(p.SYST)) else {
        panic!("the harness did not hand over the root CA");
    };
    let Ok(endpoint) = Endpoint::new(scenario::HOST, 443, true) else {
        panic!("endpoint");
    };
    let mut answer = [0u8; 512];
    let mut got = 0;
    let ok = match connector.connect(&endpoint) {
        Ok(mut tls) => {
            let sent = tls.write_all(REQUEST).and_then(|()| tls.flush());
            while let Ok(n @ 1..) = tls.read(answer.get_mut(got..).unwrap_or_default()) {
                got += n;
            }
            // The look-alike refuses the made-up request: any HTTP answer proves the path.
            sent.is_ok() && answer.starts_with(b"HTTP/1.1 4")
        }
        Err(_) => false,
    };
    cortex_m_semihosting::hprintln!("tls only: {} answer bytes", got);
    finish("none (TLS only)", ok, &connector)
}
