//! The whole response parser through the sans-IO exchange: never panics, always ends in an
//! outcome or a typed error once EOF is signalled, and any split of the input gives the same
//! result as feeding it whole (tokens compared as text, since `Debug` redacts them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::error::ExchangeError;
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::request::Request;
use lwa_core::secret::Secret;

fn describe(r: Result<Outcome<'_>, ExchangeError>) -> String {
    match r {
        Ok(Outcome::Token(t)) => {
            assert!(t.access_token.len() <= 2048);
            format!("token {} {:?} {t:?}", t.access_token.expose(), t.refresh_token.map(|r| r.expose().to_owned()))
        }
        Ok(Outcome::CodePair(p)) => format!("pair {} {p:?}", p.device_code.expose()),
        Ok(o) => format!("{o:?}"),
        Err(e) => {
            // Every error has a message.
            assert!(!e.to_string().is_empty());
            format!("error {e:?}")
        }
    }
}

/// Feeds `wire` in pieces whose sizes cycle through `steps` (whole when empty).
fn run(request: &Request<'_>, wire: &[u8], steps: &[u8], buf_len: usize) -> String {
    let mut buf = vec![0u8; buf_len];
    let exchange = Exchange::new(&Endpoint::region(Region::Na), request, &mut buf).unwrap();
    let mut rx = exchange.handle_sent();
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let step = match steps.get(i % steps.len().max(1)) {
            Some(&s) => usize::from(s).max(1),
            None => rest.len(),
        };
        i += 1;
        let (piece, tail) = rest.split_at(step.min(rest.len()));
        rest = tail;
        match rx.handle_data(piece) {
            Ok(Step::NeedMore(next)) => rx = next,
            Ok(Step::Done(outcome)) => return describe(Ok(outcome)),
            Err(e) => return describe(Err(e)),
        }
    }
    describe(rx.handle_eof())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let steps_len = usize::from(control & 0x07);
    let (steps, wire) = rest.split_at(steps_len.min(rest.len()));
    let request = if control & 0x80 != 0 {
        Request::CodePair { client_id: "c", product_id: "p", device_serial_number: "1" }
    } else {
        Request::Refresh { client_id: "c", refresh_token: Secret::new("Atzr|x"), client_secret: None }
    };
    let buf_len = if control & 0x40 != 0 { 1024 } else { 6144 };
    let whole = run(&request, wire, &[], buf_len);
    let split = run(&request, wire, steps, buf_len);
    assert_eq!(whole, split, "splitting changed the result");
});
