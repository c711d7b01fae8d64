//! Runs the refresh benchmark's lwa-core operation in a loop (same request, same answer), for
//! a profiler: `valgrind --tool=callgrind target/release/examples/profile_refresh 2000`.

#![allow(clippy::unwrap_used, clippy::panic)] // a profiling harness

use std::hint::black_box;

use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::request::Request;
use lwa_core::secret::Secret;
use lwa_tests::fixture::{CLIENT_ID, SECRET};

fn main() {
    let f = lwa_tests::fixture::refresh();
    let mut buf = [0u8; 4096];
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mut total = 0;
    for _ in 0..rounds {
        let request = Request::Refresh {
            client_id: CLIENT_ID,
            refresh_token: Secret::new(&f.refresh),
            client_secret: Some(Secret::new(SECRET)),
        };
        let exchange = Exchange::new(&Endpoint::region(Region::Na), &request, &mut buf).unwrap();
        black_box(exchange.poll_transmit());
        match exchange
            .handle_sent()
            .handle_data(black_box(&f.wire))
            .unwrap()
        {
            Step::Done(Outcome::Token(t)) => total += t.access_token.len(),
            _ => panic!("not a token"),
        }
    }
    println!("{total}");
}
