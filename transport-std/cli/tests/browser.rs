//! The look-alike's approve page in a real browser: headless Chromium, driven over the W3C
//! WebDriver protocol by chromedriver (both from Debian), opens the `verification_uri` that
//! `lwa device-login` shows, types the code into the form as a person would and submits it;
//! `lwa device-login` then signs in.
//!
//! Needs `chromium` and `chromedriver` on PATH: `.ci/run` installs them and runs this test
//! (`cargo test -p lwa-cli --test browser -- --ignored`); it is ignored in the plain test
//! command, which must pass on a machine without a browser.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lwa_mock::{MockConfig, MockServer};
use serde_json::{Value, json};

mod common;

use common::Env;

/// The key of a W3C WebDriver element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    session: String,
}

impl Driver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed (apt-get install chromium chromium-driver)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut driver = Self {
            child,
            port,
            session: String::new(),
        };
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ];
        let answer = driver.call(
            "POST",
            "/session",
            &json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"args": args}}}}),
        );
        driver.session = answer["sessionId"].as_str().unwrap().to_owned();
        driver
    }

    /// One WebDriver command; its `value`.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = body.to_string();
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            tcp,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // chromedriver keeps the connection open: read the head, then Content-Length bytes.
        let mut reader = BufReader::new(tcp);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            value["value"].get("error").is_none(),
            "{method} {path}: {value}"
        );
        value["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn find(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        );
        found[ELEMENT].as_str().unwrap().to_owned()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(|| self.session_call("DELETE", "", &json!({})));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs chromium and chromedriver; .ci/run installs them and runs it"]
fn a_person_approves_the_code_in_a_browser() {
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let env = Env::new(server.origin(), None).with_client_id();
    let mut login = env
        .command()
        .args(["device-login", "--product-id", "p", "--serial", "s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(login.stderr.take().unwrap()).lines();
    let (mut uri, mut code) = (None, None);
    while code.is_none() {
        let line = lines.next().expect("device-login ended").unwrap();
        if let Some(u) = line.strip_prefix("  To sign in, open ") {
            uri = Some(u.to_owned());
        }
        if let Some(c) = line.strip_prefix("  and enter the code:  ") {
            code = Some(c.to_owned());
        }
    }
    let (uri, code) = (uri.unwrap(), code.unwrap());
    assert_eq!(uri, format!("{}/mock/approve", server.origin()));

    let browser = Driver::start();
    browser.session_call("POST", "/url", &json!({"url": uri}));
    let title = browser.session_call("GET", "/title", &json!({}));
    assert_eq!(title, "lwa look-alike: approve a device");
    let input = browser.find("#user_code");
    // Typed as a person types it: lower case.
    browser.session_call(
        "POST",
        &format!("/element/{input}/value"),
        &json!({"text": code.to_lowercase()}),
    );
    let button = browser.find("#approve");
    browser.session_call("POST", &format!("/element/{button}/click"), &json!({}));
    let result = browser.find("#result");
    let text = browser.session_call("GET", &format!("/element/{result}/text"), &json!({}));
    assert_eq!(
        text,
        format!("Approved: the device with code {code} is signed in.")
    );

    let status = login.wait().unwrap();
    assert!(status.success(), "device-login: {status:?}");
    assert!(server.issued(&env.load().access_token));
}
