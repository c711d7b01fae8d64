//! A deterministic simulation of a device living with LWA for a month.
//!
//! A simulated clock, a scripted LWA server (real HTTP bytes through the real exchange) and a
//! fault schedule drawn from a seed: outages from seconds to days, 5xx bursts, 429 with
//! `Retry-After`, slow and truncated answers, the user removing the device at a random
//! moment, refresh-token rotation on every refresh, and failing stores. After every step the
//! invariants are checked:
//!
//! 1. no expired access token is ever handed out;
//! 2. the stored refresh token is the newest the server issued (none after `invalid_grant`),
//!    unless a store is pending in the session;
//! 3. at most 20 refresh requests in any simulated hour that has no outage, and code-pair
//!    polls never faster than the server's interval (it would answer `slow_down`);
//! 4. after an outage ends, a signed-in device has a valid token within 2 minutes;
//! 5. the device reboots now and then (between steps, with no store pending): it restores
//!    what its store kept, the refresh token and, access tokens being kept, the newest
//!    access token, and a reboot with a kept access token still valid beyond the refresh
//!    margin sends no request: the first thing the new session does is hand it out.
//!
//! `LWA_SIM_SEEDS` (default 200) sets how many seeds run, `LWA_SIM_DAYS` (default 30) how
//! long each lives, `LWA_SIM_SEED=N` replays one seed. A failure prints its seed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use lwa_core::endpoint::{Endpoint, Region};
use lwa_core::exchange::{Exchange, Step};
use lwa_core::request::Request;
use lwa_core::session::{Action, Config, Failure, Instant, Linking, Session};

const SEC: u64 = 1000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

/// SplitMix64: small, fast and good enough to drive a schedule.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn token(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut s = String::from(prefix);
        while s.len() < len {
            s.push(ALPHABET[self.below(64) as usize] as char);
        }
        s
    }
}

/// Windows of time, `[start, end)`.
#[derive(Default)]
struct Windows(Vec<(u64, u64)>);

impl Windows {
    fn contains(&self, t: u64) -> bool {
        self.0.iter().any(|&(s, e)| s <= t && t < e)
    }
    fn overlaps(&self, s: u64, e: u64) -> bool {
        self.0.iter().any(|&(a, b)| a < e && s < b)
    }
}

/// The faults of one run.
struct Schedule {
    outages: Windows,
    /// Quiet periods after each outage in which no other fault is injected.
    calm: Windows,
    /// Store failures.
    store_down: Windows,
    /// Request number at which a burst of this many 5xx answers starts.
    bursts: BTreeMap<u64, u64>,
    /// When the user removes the device (the server revokes its refresh token).
    revoke_at: Option<u64>,
}

impl Schedule {
    fn new(rng: &mut Rng, days: u64) -> Self {
        let end = days * DAY;
        let mut outages = Windows::default();
        for _ in 0..rng.range(2, 8) {
            // Log-uniform from 2 seconds to 2 days.
            let exp = rng.range(0, 1600) as f64 / 100.0; // 2^0 .. 2^16 units of 2.6 s
            let len = (2.0 * SEC as f64 * 2f64.powf(exp)).min(2.0 * DAY as f64) as u64;
            let start = rng.range(HOUR, end.saturating_sub(len + HOUR));
            if !outages.overlaps(start.saturating_sub(10 * MIN), start + len + 10 * MIN) {
                outages.0.push((start, start + len));
            }
        }
        let calm = Windows(outages.0.iter().map(|&(_, e)| (e, e + 3 * MIN)).collect());
        let mut store_down = Windows::default();
        for _ in 0..rng.range(0, 4) {
            let start = rng.range(0, end);
            let len = rng.range(SEC, 30 * MIN);
            if !calm.overlaps(start, start + len) {
                store_down.0.push((start, start + len));
            }
        }
        let mut bursts = BTreeMap::new();
        for _ in 0..rng.range(0, 10) {
            bursts.insert(rng.range(1, 2000), rng.range(1, 6));
        }
        let revoke_at = rng.chance(600).then(|| rng.range(DAY, end - DAY));
        Self {
            outages,
            calm,
            store_down,
            bursts,
            revoke_at,
        }
    }
}

struct PendingPair {
    device_code: String,
    user_code: String,
    expires_at: u64,
    interval: u64,
    approve_at: u64,
    last_poll: Option<u64>,
}

/// A scripted LWA: rotates the refresh token on every refresh and tracks what it issued.
struct Server {
    rng: Rng,
    refresh: Option<String>,
    /// The newest refresh token the device should hold: set when issued, cleared when the
    /// server answers `invalid_grant` to a refresh.
    newest: Option<String>,
    access: HashMap<String, u64>,
    pairs: Vec<PendingPair>,
    requests: u64,
    burst_left: u64,
    revoked: bool,
    serial: u64,
    slow_downs: u64,
}

enum Answer {
    Bytes(Vec<u8>),
    NoAnswer,
}

fn form(body: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
                );
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    body.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

impl Server {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed ^ 0x5EED),
            refresh: None,
            newest: None,
            access: HashMap::new(),
            pairs: Vec::new(),
            requests: 0,
            burst_left: 0,
            revoked: false,
            serial: 0,
            slow_downs: 0,
        }
    }

    fn frame(&mut self, status: &str, extra: &str, body: &str) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\nServer: Server\r\n{extra}");
        if self.rng.chance(300) {
            out.push_str("Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = body;
            while !rest.is_empty() {
                let n = (self.rng.range(1, 400) as usize).min(rest.len());
                write!(out, "{n:x}\r\n{}\r\n", &rest[..n]).unwrap();
                rest = &rest[n..];
            }
            out.push_str("0\r\n\r\n");
        } else {
            write!(out, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        }
        out.into_bytes()
    }

    fn json(&mut self, status: &str, body: &str) -> Vec<u8> {
        self.frame(
            status,
            "Content-Type: application/json;charset=UTF-8\r\n",
            body,
        )
    }

    fn error(&mut self, code: &str) -> Vec<u8> {
        self.json(
            "400 Bad Request",
            &format!(r#"{{"error_description":"sim","error":"{code}"}}"#),
        )
    }

    fn issue(&mut self, now: u64) -> Vec<u8> {
        self.serial += 1;
        let len = if self.rng.chance(50) {
            2048
        } else {
            self.rng.range(350, 700) as usize
        };
        let access = self.rng.token(&format!("Atza|{}.", self.serial), len);
        let refresh_len = self.rng.range(100, 400) as usize;
        let refresh = self
            .rng
            .token(&format!("Atzr|{}.", self.serial), refresh_len);
        self.access.insert(access.clone(), now + 3600 * SEC);
        self.refresh = Some(refresh.clone());
        self.newest = Some(refresh.clone());
        let body = format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","token_type":"bearer","expires_in":3600,"scope":"alexa:all"}}"#
        );
        self.json("200 OK", &body)
    }

    /// The user removes the device once, at the scheduled moment.
    fn tick(&mut self, now: u64, schedule: &Schedule) {
        if let Some(t) = schedule.revoke_at
            && now >= t
            && !self.revoked
        {
            self.revoked = true;
            self.refresh = None;
        }
    }

    /// Answers the request written by the device at `now`.
    fn handle(&mut self, now: u64, request: &[u8], schedule: &Schedule) -> Answer {
        self.requests += 1;
        if let Some(&n) = schedule.bursts.get(&self.requests)
            && !schedule.calm.contains(now)
        {
            self.burst_left = n;
        }
        self.tick(now, schedule);
        let calm = schedule.calm.contains(now);
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return Answer::Bytes(if self.rng.chance(500) {
                self.frame(
                    "503 Service Unavailable",
                    "Content-Type: text/html\r\n",
                    "<html><body>Service Unavailable</body></html>",
                )
            } else {
                self.json("500 Internal Server Error", r#"{"error":"server_error"}"#)
            });
        }
        if !calm && self.rng.chance(10) {
            let after = self.rng.range(1, 300);
            return Answer::Bytes(self.frame(
                "429 Too Many Requests",
                &format!("Retry-After: {after}\r\n"),
                "",
            ));
        }
        if !calm && self.rng.chance(5) {
            let mut b = self.issue_preview();
            b.truncate(b.len() / 2);
            return Answer::Bytes(b);
        }
        let text = std::str::from_utf8(request).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let params = form(body);
        if head.starts_with("POST /auth/O2/create/codepair ") {
            assert_eq!(params["response_type"], "device_code");
            assert_eq!(params["scope"], "alexa:all");
            self.serial += 1;
            let interval = self.rng.range(5, 30);
            let pair = PendingPair {
                device_code: format!("d1e4836b-{:04}", self.serial),
                user_code: format!("U{:05}", self.serial),
                expires_at: now + 600 * SEC,
                interval: interval * SEC,
                approve_at: now + self.rng.range(20, 900) * SEC,
                last_poll: None,
            };
            let body = format!(
                r#"{{"device_code":"{}","expires_in":600,"interval":{interval},"user_code":"{}","verification_uri":"https://amazon.com/us/code"}}"#,
                pair.device_code, pair.user_code
            );
            self.pairs.push(pair);
            return Answer::Bytes(self.json("200 OK", &body));
        }
        assert!(head.starts_with("POST /auth/o2/token "), "{head}");
        match params["grant_type"].as_str() {
            "refresh_token" => {
                if self.refresh.as_deref() == Some(params["refresh_token"].as_str()) {
                    Answer::Bytes(self.issue(now))
                } else {
                    self.newest = None;
                    Answer::Bytes(self.error("invalid_grant"))
                }
            }
            "device_code" => {
                let Some(i) = self
                    .pairs
                    .iter()
                    .position(|p| p.device_code == params["device_code"])
                else {
                    return Answer::Bytes(self.error("invalid_grant"));
                };
                assert_eq!(self.pairs[i].user_code, params["user_code"]);
                let p = &mut self.pairs[i];
                if now >= p.expires_at {
                    return Answer::Bytes(self.error("expired_token"));
                }
                let too_fast = p.last_poll.is_some_and(|l| now < l + p.interval);
                p.last_poll = Some(now);
                if too_fast {
                    self.slow_downs += 1;
                    return Answer::Bytes(self.error("slow_down"));
                }
                if now < p.approve_at {
                    return Answer::Bytes(self.error("authorization_pending"));
                }
                self.pairs.clear();
                Answer::Bytes(self.issue(now))
            }
            other => panic!("unexpected grant {other}"),
        }
    }

    /// A success answer that is never honoured (used to make truncated answers).
    fn issue_preview(&mut self) -> Vec<u8> {
        self.json("200 OK", r#"{"access_token":"Atza|never","refresh_token":"Atzr|never","token_type":"bearer","expires_in":3600}"#)
    }
}

struct Stats {
    requests: u64,
    tokens: u64,
    links: u64,
    /// Reboots whose kept access token was handed out without a request.
    reboots_served: u64,
}

fn run(seed: u64, days: u64) -> Result<Stats, String> {
    let mut rng = Rng(seed);
    let schedule = Schedule::new(&mut rng, days);
    let mut server = Server::new(seed);
    let mut config = Config::new("amzn1.application-oa2-client.sim");
    config.linking = Some(Linking {
        product_id: "sim_device",
        device_serial_number: "SIM0001",
    });
    // The simulated clock is the device's wall time: access tokens are kept across reboots.
    config.keep_access_tokens = true;
    let mut session = Session::new(config);
    let mut stored: Option<String> = None;
    // The kept access token and its expiry.
    let mut stored_access: Option<(String, u64)> = None;
    let mut next_reboot = rng.range(HOUR, 12 * HOUR);
    let mut now = 0u64;
    let end = days * DAY;
    let mut per_hour: BTreeMap<u64, u64> = BTreeMap::new();
    let mut first_ready_after: Vec<Option<u64>> = vec![None; schedule.outages.0.len()];
    // Whether the device was signed in when each outage ended (decided at that moment).
    let mut linked_at_end: Vec<Option<bool>> = vec![None; schedule.outages.0.len()];
    let mut stats = Stats {
        requests: 0,
        tokens: 0,
        links: 0,
        reboots_served: 0,
    };
    let mut buf = vec![0u8; 6144];
    let mut steps = 0u64;
    let trace = std::env::var_os("LWA_SIM_TRACE").is_some();

    while now < end {
        steps += 1;
        if steps > 5_000_000 {
            return Err(format!("no progress at t={now}"));
        }
        server.tick(now, &schedule);
        for (i, &(_, e)) in schedule.outages.0.iter().enumerate() {
            if now >= e && linked_at_end[i].is_none() {
                linked_at_end[i] = Some(stored.is_some() && server.refresh.is_some());
            }
        }
        if now >= next_reboot && !session.is_storage_pending() {
            next_reboot = now + rng.range(HOUR, 12 * HOUR);
            session = Session::new(config);
            if let Some(refresh) = &stored {
                session.restore_refresh_token(refresh).unwrap();
                if let Some((access, at)) = stored_access.as_ref().filter(|(_, at)| *at > now) {
                    session
                        .restore_access_token(access, Instant::from_millis(*at))
                        .unwrap();
                }
            }
            // Invariant 5.
            if let Some((access, at)) = &stored_access
                && stored.is_some()
                && *at > now + 10 * MIN
            {
                match session.poll(Instant::from_millis(now)) {
                    Action::Ready(t) if t.expose() == access => stats.reboots_served += 1,
                    other => {
                        return Err(format!(
                            "t={now}: rebooted with a kept token valid until {at}, and did {other:?}"
                        ));
                    }
                }
            }
        }
        let random = rng.next() as u32;
        let action = session.poll(Instant::from_millis(now));
        if trace {
            eprintln!("{now:>12} {action:?}");
        }
        match action {
            Action::Ready(token) => {
                stats.tokens += 1;
                let expiry = server.access.get(token.expose()).copied();
                match expiry {
                    Some(exp) if now < exp => {}
                    Some(exp) => {
                        return Err(format!("t={now}: handed out a token expired at {exp}"));
                    }
                    None => {
                        return Err(format!(
                            "t={now}: handed out a token the server never issued"
                        ));
                    }
                }
                for (i, &(_, e)) in schedule.outages.0.iter().enumerate() {
                    if now >= e && first_ready_after[i].is_none() {
                        first_ready_after[i] = Some(now);
                    }
                }
                let next = session
                    .poll_timeout(Instant::from_millis(now))
                    .map_or(u64::MAX, Instant::as_millis);
                // The device wants a token at least every 5 minutes.
                let next = next.min(now + 5 * MIN).max(now + 1);
                // An outage that ends while the token in hand is still valid: the device has a
                // valid token at that moment.
                for (i, &(_, e)) in schedule.outages.0.iter().enumerate() {
                    if now < e
                        && e <= next
                        && session.access_token(Instant::from_millis(e)).is_some()
                    {
                        first_ready_after[i] = Some(e);
                    }
                }
                now = next;
            }
            Action::Send(request) => {
                let mut exchange_buf = std::mem::take(&mut buf);
                let exchange =
                    Exchange::new(&Endpoint::region(Region::Na), &request, &mut exchange_buf)
                        .map_err(|e| format!("t={now}: cannot write request: {e}"))?;
                let sent_at = now;
                stats.requests += 1;
                // Code-pair polling follows the server's interval (checked by the server's
                // `slow_down` count); the hourly bound is for the token lifecycle.
                if !schedule.outages.contains(now) && matches!(request, Request::Refresh { .. }) {
                    *per_hour.entry(now / HOUR).or_default() += 1;
                }
                let answer = if schedule.outages.contains(now) {
                    Answer::NoAnswer
                } else {
                    server.handle(now, exchange.poll_transmit(), &schedule)
                };
                let calm = schedule.calm.contains(now);
                now += if calm {
                    rng.range(50, 2000)
                } else if rng.chance(100) {
                    rng.range(5, 30) * SEC
                } else {
                    rng.range(50, 2000)
                };
                let result = match answer {
                    Answer::NoAnswer => Err(Failure::Transport),
                    Answer::Bytes(bytes) => {
                        let rx = exchange.handle_sent();
                        let cut = rng.range(1, 512) as usize;
                        let mut step = Ok(Step::NeedMore(rx));
                        for piece in bytes.chunks(cut) {
                            step = match step {
                                Ok(Step::NeedMore(rx)) => rx.handle_data(piece),
                                done => done,
                            };
                        }
                        match step {
                            Ok(Step::Done(outcome)) => Ok(outcome),
                            Ok(Step::NeedMore(rx)) => rx.handle_eof().map_err(Failure::Exchange),
                            Err(e) => Err(Failure::Exchange(e)),
                        }
                    }
                };
                if let Ok(lwa_core::exchange::Outcome::CodePair(_)) = &result {
                    stats.links += 1;
                }
                session
                    .handle_response(
                        Instant::from_millis(sent_at),
                        Instant::from_millis(now),
                        result,
                        random,
                    )
                    .map_err(|e| format!("t={now}: {e}"))?;
                buf = exchange_buf;
            }
            Action::Persist(tokens) => {
                let ok = !schedule.store_down.contains(now);
                if ok {
                    stored = Some(tokens.refresh_token.expose().to_string());
                    stored_access = tokens
                        .access_token
                        .map(|(t, at)| (t.expose().to_string(), at.as_millis()));
                }
                session
                    .handle_persisted(Instant::from_millis(now), ok, random)
                    .unwrap();
            }
            Action::Forget => {
                let ok = !schedule.store_down.contains(now);
                if ok {
                    stored = None;
                    stored_access = None;
                }
                session
                    .handle_persisted(Instant::from_millis(now), ok, random)
                    .unwrap();
            }
            Action::ShowCode { .. } => {}
            Action::Wait(until) => {
                if until.as_millis() <= now {
                    return Err(format!(
                        "t={now}: wait until {until:?} is not in the future"
                    ));
                }
                now = until.as_millis();
            }
            Action::SignIn => {
                return Err(format!(
                    "t={now}: asked for a sign-in though linking is configured"
                ));
            }
            Action::Stopped(reason) => return Err(format!("t={now}: stopped: {reason}")),
        }
        // Invariant 2, after every step.
        if stored != server.newest && !session.is_storage_pending() {
            return Err(format!(
                "t={now}: stored refresh token {:?} is not the newest issued {:?}",
                stored.as_deref().map(|s| &s[..12.min(s.len())]),
                server.newest.as_deref().map(|s| &s[..12.min(s.len())])
            ));
        }
    }

    if server.slow_downs > 0 {
        return Err(format!(
            "polled faster than the interval {} times",
            server.slow_downs
        ));
    }
    // Invariant 3.
    for (&hour, &n) in &per_hour {
        let (s, e) = (hour * HOUR, (hour + 1) * HOUR);
        if n > 20 && !schedule.outages.overlaps(s, e) {
            return Err(format!("hour {hour}: {n} requests outside any outage"));
        }
    }
    // Invariant 4.
    for (i, &(_, e)) in schedule.outages.0.iter().enumerate() {
        if e >= end || linked_at_end[i] != Some(true) {
            continue;
        }
        match first_ready_after[i] {
            Some(t) if t <= e + 2 * MIN => {}
            other => {
                return Err(format!(
                    "outage ended at {e}: first valid token at {other:?}"
                ));
            }
        }
    }
    Ok(stats)
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn a_month_of_faults_for_many_seeds() {
    let days = env("LWA_SIM_DAYS", 30);
    let seeds: Vec<u64> = match std::env::var("LWA_SIM_SEED") {
        Ok(one) => vec![one.parse().expect("LWA_SIM_SEED is a number")],
        Err(_) => (0..env("LWA_SIM_SEEDS", 200)).collect(),
    };
    let (mut requests, mut tokens, mut links, mut served) = (0, 0, 0, 0);
    for &seed in &seeds {
        match run(seed, days) {
            Ok(s) => {
                requests += s.requests;
                tokens += s.tokens;
                links += s.links;
                served += s.reboots_served;
            }
            Err(e) => panic!(
                "seed {seed}: {e}\nreplay: LWA_SIM_SEED={seed} cargo test -p lwa-tests --test simulation"
            ),
        }
    }
    println!(
        "{} seeds x {days} days: {requests} requests, {tokens} tokens handed out, {links} code pairs, {served} reboots served a kept token unsent",
        seeds.len()
    );
    assert!(
        served > seeds.len() as u64 * days,
        "reboots with a kept token happen: {served}"
    );
    assert!(
        tokens > seeds.len() as u64 * days * 200,
        "the device had a token most of the time"
    );
}
