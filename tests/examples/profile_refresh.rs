//! Runs the benchmark's lwa-core refresh in a loop, for a profiler:
//! `valgrind --tool=callgrind target/release/examples/profile_refresh`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // a profiling harness

use std::hint::black_box;

use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::request::Request;
use lwa_core::secret::Secret;

fn main() {
    let access = "A".repeat(365);
    let refresh = "R".repeat(365);
    let body = format!(
        r#"{{"access_token":"{access}","refresh_token":"{refresh}","token_type":"bearer","expires_in":3600}}"#
    );
    let wire = format!(
        "HTTP/1.1 200 OK\r\nServer: Server\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    );
    let mut buf = [0u8; 4096];
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mut total = 0;
    for _ in 0..rounds {
        let request = Request::Refresh {
            client_id: "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
            refresh_token: Secret::new(&refresh),
            client_secret: Some(Secret::new("s3cr3t")),
        };
        let exchange = Exchange::new(&Endpoint::region(Region::Na), &request, &mut buf).unwrap();
        black_box(exchange.poll_transmit());
        match exchange
            .handle_sent()
            .handle_data(black_box(wire.as_bytes()))
            .unwrap()
        {
            Step::Done(Outcome::Token(t)) => total += t.access_token.len(),
            _ => panic!(),
        }
    }
    println!("{total}");
}
