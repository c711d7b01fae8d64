//! The whole response parser through the sans-IO exchange: never panics, always ends in an
//! outcome or a typed error once EOF is signalled, and any split of the input gives the same
//! result as feeding it whole (tokens compared as text, since `Debug` redacts them).
//!
//! Input layout: `control`, then `control & 0x07` step bytes, then the server's bytes.
//!
//! - `control & 0x80`: a code-pair request (code-pair answer expected), else a refresh
//!   (token answer expected);
//! - `control & 0x40`: a 1024-byte buffer (tight: the limits of the buffer apply before
//!   `Limits`), else 6144 bytes;
//! - `control & 0x08`: the split run reads through `read_buf`/`handle_read`, copying what
//!   fits of each piece, else it hands pieces to `handle_data`;
//! - step bytes: the sizes of the pieces, cycled (0 counts as 1); none: the split run is the
//!   whole run again.
//!
//! `run.sh` turns the raw answers in `seeds/response/` into this layout.
use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::error::ExchangeError;
use lwa_core::exchange::{Exchange, Outcome, Receiving, Step};
use lwa_core::request::{MAX_TOKEN_LEN, Request};
use lwa_core::secret::Secret;

fn describe(r: Result<Outcome<'_>, ExchangeError>) -> String {
    match r {
        Ok(Outcome::Token(t)) => {
            assert!(t.access_token.len() <= MAX_TOKEN_LEN);
            assert!(t.refresh_token.is_none_or(|r| r.len() <= MAX_TOKEN_LEN));
            format!(
                "token {:?} {:?} {t:?}",
                t.access_token.expose(),
                t.refresh_token.map(|r| r.expose().to_owned())
            )
        }
        Ok(Outcome::CodePair(p)) => format!("pair {:?} {p:?}", p.device_code.expose()),
        Ok(o) => format!("{o:?}"),
        Err(e) => {
            // Every error has a message.
            assert!(!e.to_string().is_empty());
            format!("error {e:?}")
        }
    }
}

/// Offers `piece` through `read_buf`/`handle_read`, as a socket read would deliver it: as
/// much as the free space takes per read.
fn read_into<'b>(mut rx: Receiving<'b>, mut piece: &[u8]) -> Result<Step<'b>, ExchangeError> {
    loop {
        let space = rx.read_buf()?;
        assert!(!space.is_empty(), "read_buf gave an empty slice");
        let n = space.len().min(piece.len());
        space[..n].copy_from_slice(&piece[..n]);
        piece = &piece[n..];
        match rx.handle_read(n)? {
            Step::NeedMore(next) if !piece.is_empty() => rx = next,
            step => return Ok(step),
        }
    }
}

/// Feeds `wire` in pieces whose sizes cycle through `steps` (whole when empty).
fn run(request: &Request<'_>, wire: &[u8], steps: &[u8], buf_len: usize, reads: bool) -> String {
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
        let step = if reads {
            read_into(rx, piece)
        } else {
            rx.handle_data(piece)
        };
        match step {
            Ok(Step::NeedMore(next)) => rx = next,
            Ok(Step::Done(outcome)) => return describe(Ok(outcome)),
            Err(e) => return describe(Err(e)),
        }
    }
    describe(rx.handle_eof())
}

/// Runs the check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let steps_len = usize::from(control & 0x07);
    let (steps, wire) = rest.split_at(steps_len.min(rest.len()));
    let request = if control & 0x80 != 0 {
        Request::CodePair {
            client_id: "c",
            product_id: "p",
            device_serial_number: "1",
        }
    } else {
        Request::Refresh {
            client_id: "c",
            refresh_token: Secret::new("Atzr|x"),
            client_secret: None,
        }
    };
    let buf_len = if control & 0x40 != 0 { 1024 } else { 6144 };
    let reads = control & 0x08 != 0;
    let whole = run(&request, wire, &[], buf_len, false);
    let split = run(&request, wire, steps, buf_len, reads);
    assert_eq!(whole, split, "splitting changed the result");
}
