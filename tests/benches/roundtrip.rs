//! Refresh round trips over loopback HTTPS against the look-alike: lwa-std against
//! `oauth2` 5 with its ureq client, same server, same TLS stack (rustls with ring), one run.
//! Peak heap per round trip is measured on the client's thread before the timing runs.
//!
//! `cargo bench -p lwa-tests --bench roundtrip`

// A benchmark: setup may panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lwa_mock::{MockConfig, MockServer};
use lwa_std::client::{BUFFER_LEN, Client};
use lwa_std::core::endpoint::Endpoint;
use lwa_std::core::exchange::Outcome;
use lwa_std::core::request::Request;
use lwa_std::core::secret::Secret;
use lwa_tests::alloc::{Peak, peak_heap};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, RefreshToken, TokenResponse, TokenUrl};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

#[global_allocator]
static GLOBAL: Peak = Peak;

fn bench(c: &mut Criterion) {
    let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let ca = server.ca_pem().unwrap().to_owned();
    let refresh = server.issue_refresh_token();
    let client_id = MockConfig::default().client_id;

    let endpoint = Endpoint::parse_origin(server.origin()).unwrap();
    let lwa = Client::builder(&endpoint)
        .add_ca_pem(&ca)
        .unwrap()
        // The look-alike is on this host: a proxy of the environment's would be measured too.
        .proxy(None)
        .build()
        .unwrap();
    let lwa_round_trip = || {
        let request = Request::Refresh {
            client_id: &client_id,
            refresh_token: Secret::new(&refresh),
            client_secret: None,
        };
        let mut buf = [0u8; BUFFER_LEN];
        match lwa.execute(&request, &mut buf).unwrap() {
            Outcome::Token(t) => t.access_token.expose().len(),
            other => panic!("{other:?}"),
        }
    };

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
        .unwrap();
    let tls =
        rustls::ClientConfig::builder_with_provider(Arc::new(lwa_std::client::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let agent = ureq::AgentBuilder::new().tls_config(Arc::new(tls)).build();
    let oauth = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(format!("{}/auth/o2/token", server.origin())).unwrap());
    let oauth_round_trip = || {
        let answer = oauth
            .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
            .request(&agent)
            .unwrap();
        answer.access_token().secret().len()
    };

    assert_eq!(lwa_round_trip(), 370);
    assert_eq!(oauth_round_trip(), 370);
    println!(
        "peak heap per round trip, lwa-std: {} bytes",
        peak_heap(lwa_round_trip)
    );
    println!(
        "peak heap per round trip, oauth2 5 + ureq: {} bytes",
        peak_heap(oauth_round_trip)
    );

    let mut group = c.benchmark_group("refresh round trip, loopback HTTPS");
    group
        .sample_size(40)
        .measurement_time(Duration::from_secs(15));
    group.bench_function("lwa-std", |b| b.iter(lwa_round_trip));
    group.bench_function("oauth2 5 + ureq", |b| b.iter(oauth_round_trip));
    group.finish();
    println!("requests served: {}", server.requests());
}

criterion_group!(benches, bench);
criterion_main!(benches);
