//! Power cuts at every step of a long run of refreshes: after each cut the flash store holds
//! the old token or the new one, never neither, never a mixture, and the next store after the
//! "reboot" works. The flash is `RamFlash` (NOR semantics in RAM; no chip here), which cuts
//! the power after a chosen number of word writes and page erases and leaves the interrupted
//! operation half done.
//!
//! Every run is made twice: with plain records and with records sealed under a board key
//! (`FlashStore::sealed`), where the tokens' bytes must never be in the flash at all.
//!
//! `LWA_CUT_REFRESHES=n` runs more refreshes than the default.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use lwa_embedded::core::secret::Secret;
use lwa_embedded::core::session::{Instant, TokenStore, Tokens};
use std::ops::Range;

use lwa_embedded::flash::{ApplicationKey, BUFFER_LEN, FlashStore};
use lwa_test_support::flash::RamFlash;

const PAGE: usize = 1024;
const CLIENT: &str = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";
const KEY: [u8; 16] = *b"board key 0123ab";

/// The board's key, for a sealed run.
fn key(sealed: bool) -> Option<ApplicationKey> {
    sealed.then(|| ApplicationKey::new(KEY))
}

/// A store over `flash`, sealed with `key` if there is one.
fn open<'a, const P: usize>(
    flash: RamFlash<'a, P>,
    range: Range<u32>,
    buffer: &'a mut [u8],
    key: &'a mut Option<ApplicationKey>,
) -> FlashStore<'a, RamFlash<'a, P>> {
    let store = FlashStore::new(flash, range, buffer, CLIENT).unwrap();
    match key {
        Some(k) => store.sealed(k),
        None => store,
    }
}

/// Whether any 8 bytes of `secret` are in `memory`.
fn leaks(memory: &[u8], secret: &str) -> bool {
    secret
        .as_bytes()
        .windows(8)
        .any(|w| memory.windows(8).any(|m| m == w))
}

/// Refresh token number `i`, `len` bytes long, every byte depending on `i`.
fn token(i: usize, len: usize) -> String {
    let mut t = format!("Atzr|{i}|");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    while t.len() < len {
        t.push(alphabet[(t.len() * 7 + i) % 64] as char);
    }
    t
}

fn access(i: usize) -> String {
    format!("Atza|{i}|{}", "x".repeat(300))
}

/// What a store over `memory` loads: the refresh token and the access token, if any.
fn load(
    memory: &mut [u8],
    keep_access: bool,
    sealed: bool,
) -> Option<(String, Option<(String, u64)>)> {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = key(sealed);
    let range = 0..memory_len(memory);
    let mut store = open(RamFlash::<PAGE>::new(memory), range, &mut buffer, &mut key);
    let stored = store.load().expect("the store loads after any cut")?;
    // Stored only when the session keeps access tokens (it then hands them to the store).
    assert!(keep_access || stored.access_token.is_none());
    Some((
        stored.refresh_token.expose().to_owned(),
        stored
            .access_token
            .map(|(t, at)| (t.expose().to_owned(), at.as_millis())),
    ))
}

fn memory_len(memory: &[u8]) -> u32 {
    u32::try_from(memory.len()).unwrap()
}

/// Stores refresh token `i` (and access token `i` if kept) over `memory`, cutting the power
/// after `cut` operations; the flash's operation count.
fn store(
    memory: &mut [u8],
    i: usize,
    len: usize,
    (keep_access, sealed): (bool, bool),
    cut: Option<u64>,
) -> u64 {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = key(sealed);
    let range = 0..memory_len(memory);
    let mut flash = RamFlash::<PAGE>::new(memory);
    if let Some(n) = cut {
        flash.cut_power_after(n);
    }
    let mut store = open(flash, range, &mut buffer, &mut key);
    let refresh = token(i, len);
    let access = access(i);
    let tokens = Tokens {
        refresh_token: Secret::new(&refresh),
        // What the session hands the store: the access token only when it keeps them.
        access_token: keep_access.then(|| {
            (
                Secret::new(access.as_str()),
                Instant::from_millis(1_000 * i as u64),
            )
        }),
    };
    let result = store.store(&tokens);
    let flash = store.into_flash();
    assert_eq!(
        result.is_err(),
        flash.power_cut(),
        "refresh {i}, cut {cut:?}"
    );
    let stats = flash.stats();
    stats.erases + stats.word_writes
}

#[derive(Debug, Default)]
struct Figures {
    refreshes: usize,
    cuts: u64,
    old: u64,
    new: u64,
    lost: u64,
    mixed: u64,
    erases: u64,
}

/// `refreshes` refreshes, each a new refresh token of `len` bytes, with a power cut tried at
/// every operation of every store.
fn run(pages: usize, len: usize, refreshes: usize, keep_access: bool, sealed: bool) -> Figures {
    let mode = (keep_access, sealed);
    let mut memory = vec![0xFF; pages * PAGE];
    store(&mut memory, 0, len, mode, None);
    let mut f = Figures::default();
    for i in 1..=refreshes {
        let before = memory.clone();
        let mut after = memory.clone();
        let ops = store(&mut after, i, len, mode, None);
        if sealed {
            assert!(
                !leaks(&after, &token(i, len)),
                "refresh {i}: the token in the flash"
            );
            assert!(
                !leaks(&after, &access(i)),
                "refresh {i}: the token in the flash"
            );
        }
        for cut in 0..ops {
            let mut memory = before.clone();
            store(&mut memory, i, len, mode, Some(cut));
            f.cuts += 1;
            let want_old = (token(i - 1, len), access(i - 1), 1_000 * (i as u64 - 1));
            let want_new = (token(i, len), access(i), 1_000 * i as u64);
            match load(&mut memory, keep_access, sealed) {
                None => f.lost += 1,
                Some((refresh, acc)) => {
                    let matches = |(r, a, t): &(String, String, u64)| {
                        refresh == *r
                            && if keep_access {
                                acc == Some((a.clone(), *t))
                            } else {
                                acc.is_none()
                            }
                    };
                    if matches(&want_old) {
                        f.old += 1;
                    } else if matches(&want_new) {
                        f.new += 1;
                    } else {
                        f.mixed += 1;
                    }
                }
            }
            // After the reboot the same store goes through, and is what loads.
            store(&mut memory, i, len, mode, None);
            assert_eq!(
                load(&mut memory, keep_access, sealed).map(|(r, _)| r),
                Some(token(i, len)),
                "refresh {i}, cut {cut}: the store after the reboot"
            );
        }
        memory = after;
        f.refreshes += 1;
    }
    // Erases for the whole run without cuts, counted on a fresh flash.
    f.erases = erases_per_refreshes::<PAGE>(pages, len, refreshes, sealed);
    f
}

fn refreshes(default: usize) -> usize {
    std::env::var("LWA_CUT_REFRESHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check(name: &str, f: &Figures) {
    println!(
        "{name}: {} refreshes, {} power cuts: old token {}, new token {}, lost {}, mixed {}; {} page erases without cuts ({:.1} per 1 000 refreshes)",
        f.refreshes,
        f.cuts,
        f.old,
        f.new,
        f.lost,
        f.mixed,
        f.erases,
        f.erases as f64 * 1000.0 / (f.refreshes + 1) as f64
    );
    assert_eq!((f.lost, f.mixed), (0, 0), "{name}");
    assert_eq!(f.old + f.new, f.cuts);
    // sequential-storage writes the new item before it retires the old one, so a cut
    // anywhere in the item keeps the old token; a cut after it (while a page is erased or
    // the old item marked) already reads the new one.
    assert!(f.old > 0, "{name}: {f:?}");
}

#[test]
fn every_cut_during_short_token_refreshes_keeps_the_old_or_the_new_token() {
    let f = run(4, 400, refreshes(300), false, false);
    check("400-byte refresh tokens, 4 KiB of flash", &f);
}

#[test]
fn every_cut_with_the_access_token_kept_too() {
    let f = run(4, 300, refreshes(100), true, false);
    check("300-byte refresh and access tokens, 4 KiB of flash", &f);
}

#[test]
fn every_cut_with_the_longest_tokens() {
    let f = run_long(refreshes(30), false);
    check("2048-byte refresh tokens, 4 pages of 4 KiB", &f);
}

#[test]
fn sealed_every_cut_during_short_token_refreshes_keeps_the_old_or_the_new_token() {
    let f = run(4, 400, refreshes(300), false, true);
    check("sealed, 400-byte refresh tokens, 4 KiB of flash", &f);
}

#[test]
fn sealed_every_cut_with_the_access_token_kept_too() {
    let f = run(4, 300, refreshes(100), true, true);
    check(
        "sealed, 300-byte refresh and access tokens, 4 KiB of flash",
        &f,
    );
}

#[test]
fn sealed_every_cut_with_the_longest_tokens() {
    let f = run_long(refreshes(30), true);
    check("sealed, 2048-byte refresh tokens, 4 pages of 4 KiB", &f);
}

/// The longest tokens on 4 KiB pages (an item must fit in a page), the sector size of most
/// SPI NOR flash.
fn run_long(refreshes: usize, sealed: bool) -> Figures {
    const BIG: usize = 4 * 1024;
    let len = 2048;
    let mut memory = vec![0xFF; 4 * BIG];
    let store_big = |memory: &mut [u8], i: usize, cut: Option<u64>| -> u64 {
        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut key = key(sealed);
        let range = 0..memory_len(memory);
        let mut flash = RamFlash::<BIG>::new(memory);
        if let Some(n) = cut {
            flash.cut_power_after(n);
        }
        let mut store = open(flash, range, &mut buffer, &mut key);
        let refresh = token(i, len);
        let _ = store.store(&Tokens {
            refresh_token: Secret::new(&refresh),
            access_token: None,
        });
        let s = store.into_flash().stats();
        s.erases + s.word_writes
    };
    let load_big = |memory: &mut [u8]| -> Option<String> {
        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut key = key(sealed);
        let range = 0..memory_len(memory);
        let mut store = open(RamFlash::<BIG>::new(memory), range, &mut buffer, &mut key);
        store
            .load()
            .unwrap()
            .map(|s| s.refresh_token.expose().to_owned())
    };
    store_big(&mut memory, 0, None);
    let mut f = Figures::default();
    for i in 1..=refreshes {
        let before = memory.clone();
        let mut after = memory.clone();
        let ops = store_big(&mut after, i, None);
        for cut in 0..ops {
            let mut memory = before.clone();
            store_big(&mut memory, i, Some(cut));
            f.cuts += 1;
            match load_big(&mut memory) {
                None => f.lost += 1,
                Some(t) if t == token(i - 1, len) => f.old += 1,
                Some(t) if t == token(i, len) => f.new += 1,
                Some(_) => f.mixed += 1,
            }
        }
        memory = after;
        f.refreshes += 1;
    }
    f.erases = erases_per_refreshes::<BIG>(4, len, refreshes, sealed);
    f
}

/// Page erases for `refreshes` refreshes, each with a new refresh token of `len` bytes (LWA
/// rarely sends one; the session stores only then), on `pages` pages, no cuts.
fn erases_per_refreshes<const P: usize>(
    pages: usize,
    len: usize,
    refreshes: usize,
    sealed: bool,
) -> u64 {
    let mut memory = vec![0xFF; pages * P];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = key(sealed);
    let range = 0..memory_len(&memory);
    let mut store = open(
        RamFlash::<P>::new(&mut memory),
        range,
        &mut buffer,
        &mut key,
    );
    for i in 0..=refreshes {
        let refresh = token(i, len);
        store
            .store(&Tokens {
                refresh_token: Secret::new(&refresh),
                access_token: None,
            })
            .unwrap();
    }
    assert_eq!(store.writes() as usize, refreshes + 1);
    store.into_flash().stats().erases
}

/// Erase cycles per 1 000 refreshes: with a new refresh token each time (the worst case),
/// and with the same one (what LWA usually sends: nothing is written).
#[test]
fn erase_cycles_per_thousand_refreshes() {
    let rotating = erases_per_refreshes::<4096>(4, 2048, 1000, false);
    let small = erases_per_refreshes::<4096>(4, 400, 1000, false);
    println!(
        "erases per 1 000 refreshes on 4 pages of 4 KiB: {rotating} with a new 2048-byte refresh token each time, {small} with a new 400-byte one"
    );
    // One 2.1 KiB record per 4 KiB page: a page per refresh at most.
    assert!(rotating <= 1000, "{rotating}");
    assert!(small < rotating, "{small}");

    let mut memory = vec![0xFF; 4 * 4096];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let range = 0..memory_len(&memory);
    let mut store = FlashStore::new(
        RamFlash::<4096>::new(&mut memory),
        range,
        &mut buffer,
        CLIENT,
    )
    .unwrap();
    let refresh = token(1, 2048);
    for _ in 0..1000 {
        store
            .store(&Tokens {
                refresh_token: Secret::new(&refresh),
                access_token: None,
            })
            .unwrap();
    }
    assert_eq!(store.writes(), 1);
    assert_eq!(store.into_flash().stats().erases, 0);
}

#[test]
fn an_unchanged_token_is_not_written_again_and_another_client_id_is_not_loaded() {
    for sealed in [false, true] {
        let mut memory = vec![0xFF; 4 * PAGE];
        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut k = key(sealed);
        let range = 0..memory_len(&memory);
        let mut store = open(
            RamFlash::<PAGE>::new(&mut memory),
            range.clone(),
            &mut buffer,
            &mut k,
        );
        let refresh = token(1, 400);
        let tokens = Tokens {
            refresh_token: Secret::new(&refresh),
            access_token: None,
        };
        for _ in 0..5 {
            store.store(&tokens).unwrap();
        }
        assert_eq!(store.writes(), 1, "sealed: {sealed}");
        let _ = store.into_flash();

        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut k = key(sealed);
        let other = FlashStore::new(
            RamFlash::<PAGE>::new(&mut memory),
            range,
            &mut buffer,
            "another-client",
        )
        .unwrap();
        let mut other = match &mut k {
            Some(k) => other.sealed(k),
            None => other,
        };
        assert!(other.load().unwrap().is_none());
        let why = if sealed {
            lwa_embedded::flash::OpenError::Sealed
        } else {
            lwa_embedded::flash::OpenError::OtherClient
        };
        assert_eq!(other.unopened(), Some(why));
    }
}

/// `forget` over `memory`, cutting the power after `cut` operations: whether it returned
/// `Ok`, and the operations it took.
fn forget(memory: &mut [u8], sealed: bool, cut: Option<u64>) -> (bool, u64) {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = key(sealed);
    let range = 0..memory_len(memory);
    let mut flash = RamFlash::<PAGE>::new(memory);
    if let Some(n) = cut {
        flash.cut_power_after(n);
    }
    let mut store = open(flash, range, &mut buffer, &mut key);
    let done = store.forget().is_ok();
    let stats = store.into_flash().stats();
    (done, stats.erases + stats.word_writes)
}

/// The runs of at least 64 bytes that differ between `before` and `after`: what a store
/// wrote (the item, plain or sealed, with its header).
fn changed_runs(before: &[u8], after: &[u8]) -> Vec<Vec<u8>> {
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for (&b, &a) in before.iter().zip(after) {
        if a == b {
            if run.len() >= 64 {
                runs.push(std::mem::take(&mut run));
            }
            run.clear();
        } else {
            run.push(a);
        }
    }
    if run.len() >= 64 {
        runs.push(run);
    }
    runs
}

/// Every 8-byte sequence of `memory`.
fn windows(memory: &[u8]) -> std::collections::HashSet<[u8; 8]> {
    memory
        .windows(8)
        .map(|w| <[u8; 8]>::try_from(w).unwrap())
        .collect()
}

/// The 8-byte sequences of `secrets` found in `memory`. Sequences of fewer than four
/// distinct byte values are left out: padding and item headers (zeros, a length) recur by
/// themselves, token text and ciphertext do not.
fn leaked(memory: &[u8], secrets: &[Vec<u8>]) -> usize {
    let found = windows(memory);
    secrets
        .iter()
        .flat_map(|s| s.windows(8))
        .filter(|w| w.iter().collect::<std::collections::HashSet<_>>().len() >= 4)
        .filter(|w| found.contains(*w))
        .count()
}

/// Five refreshes (older versions of the tokens in older pages), then a forget with a cut
/// at every operation. After each cut the store loads the whole newest tokens or none; when
/// none, the load (which finishes an interrupted wipe) leaves no 8 bytes of any token, or of
/// any record a store wrote, anywhere in the flash. When tokens are kept, the forget after
/// the reboot wipes them. An uncut forget leaves none at once, and a second one writes
/// nothing. Returns (cuts that kept the tokens, cuts that left none).
fn forget_under_cuts(sealed: bool) -> (u64, u64) {
    let mut memory = vec![0xFF; 4 * PAGE];
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for i in 0..5 {
        let before = memory.clone();
        store(&mut memory, i, 400, (true, sealed), None);
        secrets.push(token(i, 400).into_bytes());
        secrets.push(access(i).into_bytes());
        secrets.extend(changed_runs(&before, &memory));
    }
    assert!(leaked(&memory, &secrets) > 0, "the check can fail");
    let before = memory.clone();
    let newest = (token(4, 400), Some((access(4), 4_000)));
    let (mut kept, mut gone) = (0, 0);
    for cut in 0.. {
        let mut memory = before.clone();
        let (done, _) = forget(&mut memory, sealed, Some(cut));
        match load(&mut memory, true, sealed) {
            Some(tokens) => {
                assert_eq!(tokens, newest, "cut {cut}");
                assert!(!done, "cut {cut}: forget returned Ok and the tokens load");
                kept += 1;
                assert!(forget(&mut memory, sealed, None).0, "cut {cut}");
                assert_eq!(load(&mut memory, true, sealed), None, "cut {cut}");
            }
            None => gone += 1,
        }
        assert_eq!(leaked(&memory, &secrets), 0, "cut {cut}, sealed {sealed}");
        if done {
            break;
        }
    }
    let mut memory = before;
    assert!(forget(&mut memory, sealed, None).0);
    assert_eq!(leaked(&memory, &secrets), 0);
    assert_eq!(
        forget(&mut memory, sealed, None).1,
        0,
        "a second forget writes nothing"
    );
    assert_eq!(load(&mut memory, true, sealed), None);
    (kept, gone)
}

#[test]
fn forget_leaves_no_token_byte_under_every_cut() {
    let (kept, gone) = forget_under_cuts(false);
    println!("forget, plain: {kept} cuts kept the tokens, {gone} left none");
    assert!(kept > 0 && gone > 0);
}

#[test]
fn sealed_forget_leaves_no_token_byte_under_every_cut() {
    let (kept, gone) = forget_under_cuts(true);
    println!("forget, sealed: {kept} cuts kept the tokens, {gone} left none");
    assert!(kept > 0 && gone > 0);
}

/// Forget after 1 to 16 refreshes of tokens of three sizes: every position of the newest
/// record in sequential-storage's ring of pages. None of the tokens' bytes stays.
#[test]
fn forget_leaves_no_token_byte_wherever_the_ring_stands() {
    for sealed in [false, true] {
        for len in [100, 250, 400] {
            for refreshes in 1..=16 {
                let mut memory = vec![0xFF; 4 * PAGE];
                let mut secrets: Vec<Vec<u8>> = Vec::new();
                for i in 0..refreshes {
                    let before = memory.clone();
                    store(&mut memory, i, len, (true, sealed), None);
                    secrets.push(token(i, len).into_bytes());
                    secrets.push(access(i).into_bytes());
                    secrets.extend(changed_runs(&before, &memory));
                }
                assert!(leaked(&memory, &secrets) > 0);
                assert!(forget(&mut memory, sealed, None).0);
                let left = leaked(&memory, &secrets);
                assert_eq!(
                    left, 0,
                    "sealed {sealed}, {len} bytes, {refreshes} refreshes"
                );
                assert_eq!(load(&mut memory, true, sealed), None);
            }
        }
    }
}
