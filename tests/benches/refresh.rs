//! lwa-core against the `oauth2` crate: build one refresh request and parse one LWA-shaped
//! success response with an 808-byte body (tokens of 365 characters), side by side in one run, with a
//! plain copy of the same bytes for scale. Allocations per operation are counted and printed
//! before the timing runs.
//!
//! `cargo bench -p lwa-tests --bench refresh`

// Benchmark setup may panic on a broken fixture; that is a failed run, not a library path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::exchange::{Exchange, Outcome, Step};
use lwa_core::request::Request;
use lwa_core::secret::Secret;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, RefreshToken, TokenResponse, TokenUrl};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region as AllocRegion, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

use lwa_tests::fixture::{CLIENT_ID, Refresh as Fixture, SECRET};

/// An LWA-shaped answer whose JSON body is exactly 808 bytes.
fn fixture() -> Fixture {
    let f = lwa_tests::fixture::refresh();
    assert_eq!(f.body.len(), 808, "the answer's body is 808 bytes");
    f
}

/// One lwa-core refresh: request bytes out, response parsed; returns the access token length.
fn lwa_refresh(f: &Fixture, buf: &mut [u8]) -> usize {
    let request = Request::Refresh {
        client_id: CLIENT_ID,
        refresh_token: Secret::new(&f.refresh),
        client_secret: Some(Secret::new(SECRET)),
    };
    let exchange = Exchange::new(&Endpoint::region(Region::Na), &request, buf).unwrap();
    black_box(exchange.poll_transmit());
    match exchange
        .handle_sent()
        .handle_data(black_box(&f.wire))
        .unwrap()
    {
        Step::Done(Outcome::Token(t)) => t.access_token.expose().len(),
        _ => panic!("not a token"),
    }
}

type Client = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth2_client() -> Client {
    BasicClient::new(ClientId::new(CLIENT_ID.into()))
        .set_client_secret(ClientSecret::new(SECRET.into()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_token_uri(TokenUrl::new("https://api.amazon.com/auth/o2/token".into()).unwrap())
}

/// One oauth2 refresh through a closure client that answers with the canned body.
fn oauth2_refresh(client: &Client, f: &Fixture) -> usize {
    let http = |request: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, std::io::Error> {
        black_box(request.body());
        Ok(oauth2::http::Response::builder()
            .status(200)
            .header("content-type", "application/json;charset=UTF-8")
            .body(f.body.clone().into_bytes())
            .unwrap())
    };
    let answer = client
        .exchange_refresh_token(&RefreshToken::new(f.refresh.clone()))
        .request(&http)
        .unwrap();
    answer.access_token().secret().len()
}

fn allocations(label: &str, mut op: impl FnMut() -> usize) -> usize {
    black_box(op()); // warm up
    let region = AllocRegion::new(GLOBAL);
    black_box(op());
    let stats = region.change();
    println!(
        "{label}: {} allocations, {} bytes allocated per operation",
        stats.allocations + stats.reallocations,
        stats.bytes_allocated
    );
    stats.allocations + stats.reallocations
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    let client = oauth2_client();
    let mut buf = vec![0u8; 4096];
    assert_eq!(lwa_refresh(&f, &mut buf), f.access.len());
    assert_eq!(oauth2_refresh(&client, &f), f.access.len());

    let lwa_allocs = allocations("lwa-core", || lwa_refresh(&f, &mut buf));
    assert_eq!(lwa_allocs, 0, "lwa-core allocates nothing");
    allocations("oauth2 5", || oauth2_refresh(&client, &f));

    let request_len = {
        let request = Request::Refresh {
            client_id: CLIENT_ID,
            refresh_token: Secret::new(&f.refresh),
            client_secret: Some(Secret::new(SECRET)),
        };
        request.buffer_len(&Endpoint::region(Region::Na))
    };
    let source = [vec![b'r'; request_len], f.wire.clone()].concat();

    let mut group = c.benchmark_group("refresh: build request + parse 808-byte answer");
    group.bench_function("lwa-core", |b| b.iter(|| lwa_refresh(&f, &mut buf)));
    group.bench_function("oauth2 5", |b| b.iter(|| oauth2_refresh(&client, &f)));
    let mut sink = vec![0u8; source.len()];
    group.bench_function("memcpy of the same bytes", |b| {
        b.iter(|| {
            sink.copy_from_slice(black_box(&source));
            black_box(sink[0])
        })
    });
    // Floors: work every correct client does on these bytes, measured alone. The head is
    // parsed exactly as lwa-core parses it (httparse, 24 uninitialized header slots).
    let head_len = f.wire.len() - f.body.len();
    let head = &f.wire[..head_len];
    group.bench_function("floor: httparse of the answer's head alone", |b| {
        b.iter(|| {
            let mut headers =
                [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 24];
            let mut response = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut response,
                black_box(head),
                &mut headers,
            );
            black_box(parsed.map(|s| s.is_complete()))
        })
    });
    group.bench_function("floor: UTF-8 check of the two tokens", |b| {
        b.iter(|| {
            let access = std::str::from_utf8(black_box(f.access.as_bytes())).map(str::len);
            let refresh = std::str::from_utf8(black_box(f.refresh.as_bytes())).map(str::len);
            black_box((access, refresh))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
