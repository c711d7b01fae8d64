//! Power cuts at every step of a long run of refreshes: after each cut the flash store holds
//! the old token or the new one, never neither, never a mixture, and the next store after the
//! "reboot" works. The flash is `RamFlash` (NOR semantics in RAM; no chip here), which cuts
//! the power after a chosen number of word writes and page erases and leaves the interrupted
//! operation half done.
//!
//! `LWA_CUT_REFRESHES=n` runs more refreshes than the default.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use lwa_embedded::core::secret::Secret;
use lwa_embedded::core::session::{Instant, TokenStore, Tokens};
use lwa_embedded::flash::{BUFFER_LEN, FlashStore};
use lwa_test_support::flash::RamFlash;

const PAGE: usize = 1024;
const CLIENT: &str = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";

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
fn load(memory: &mut [u8], keep_access: bool) -> Option<(String, Option<(String, u64)>)> {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let range = 0..memory_len(memory);
    let mut store = FlashStore::new(RamFlash::<PAGE>::new(memory), range, &mut buffer, CLIENT)
        .unwrap()
        .keep_access_token(keep_access);
    let stored = store.load().expect("the store loads after any cut")?;
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
fn store(memory: &mut [u8], i: usize, len: usize, keep_access: bool, cut: Option<u64>) -> u64 {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let range = 0..memory_len(memory);
    let mut flash = RamFlash::<PAGE>::new(memory);
    if let Some(n) = cut {
        flash.cut_power_after(n);
    }
    let mut store = FlashStore::new(flash, range, &mut buffer, CLIENT)
        .unwrap()
        .keep_access_token(keep_access);
    let refresh = token(i, len);
    let access = access(i);
    let tokens = Tokens {
        refresh_token: Secret::new(&refresh),
        access_token: Some((Secret::new(&access), Instant::from_millis(1_000 * i as u64))),
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
fn run(pages: usize, len: usize, refreshes: usize, keep_access: bool) -> Figures {
    let mut memory = vec![0xFF; pages * PAGE];
    store(&mut memory, 0, len, keep_access, None);
    let mut f = Figures::default();
    for i in 1..=refreshes {
        let before = memory.clone();
        let mut after = memory.clone();
        let ops = store(&mut after, i, len, keep_access, None);
        for cut in 0..ops {
            let mut memory = before.clone();
            store(&mut memory, i, len, keep_access, Some(cut));
            f.cuts += 1;
            let want_old = (token(i - 1, len), access(i - 1), 1_000 * (i as u64 - 1));
            let want_new = (token(i, len), access(i), 1_000 * i as u64);
            match load(&mut memory, keep_access) {
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
            store(&mut memory, i, len, keep_access, None);
            assert_eq!(
                load(&mut memory, keep_access).map(|(r, _)| r),
                Some(token(i, len)),
                "refresh {i}, cut {cut}: the store after the reboot"
            );
        }
        memory = after;
        f.refreshes += 1;
    }
    // Erases for the whole run without cuts, counted on a fresh flash.
    f.erases = erases_per_refreshes::<PAGE>(pages, len, refreshes);
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
    let f = run(4, 400, refreshes(300), false);
    check("400-byte refresh tokens, 4 KiB of flash", &f);
}

#[test]
fn every_cut_with_the_access_token_kept_too() {
    let f = run(4, 300, refreshes(100), true);
    check("300-byte refresh and access tokens, 4 KiB of flash", &f);
}

#[test]
fn every_cut_with_the_longest_tokens() {
    let f = run_long(refreshes(30));
    check("2048-byte refresh tokens, 4 pages of 4 KiB", &f);
}

/// The longest tokens on 4 KiB pages (an item must fit in a page), the sector size of most
/// SPI NOR flash.
fn run_long(refreshes: usize) -> Figures {
    const BIG: usize = 4 * 1024;
    let len = 2048;
    let mut memory = vec![0xFF; 4 * BIG];
    let store_big = |memory: &mut [u8], i: usize, cut: Option<u64>| -> u64 {
        let mut buffer = vec![0u8; BUFFER_LEN];
        let range = 0..memory_len(memory);
        let mut flash = RamFlash::<BIG>::new(memory);
        if let Some(n) = cut {
            flash.cut_power_after(n);
        }
        let mut store = FlashStore::new(flash, range, &mut buffer, CLIENT).unwrap();
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
        let range = 0..memory_len(memory);
        let mut store =
            FlashStore::new(RamFlash::<BIG>::new(memory), range, &mut buffer, CLIENT).unwrap();
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
    f.erases = erases_per_refreshes::<BIG>(4, len, refreshes);
    f
}

/// Page erases for `refreshes` refreshes, each with a new refresh token of `len` bytes (LWA
/// rarely sends one; the session stores only then), on `pages` pages, no cuts.
fn erases_per_refreshes<const P: usize>(pages: usize, len: usize, refreshes: usize) -> u64 {
    let mut memory = vec![0xFF; pages * P];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let range = 0..memory_len(&memory);
    let mut store =
        FlashStore::new(RamFlash::<P>::new(&mut memory), range, &mut buffer, CLIENT).unwrap();
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
    let rotating = erases_per_refreshes::<4096>(4, 2048, 1000);
    let small = erases_per_refreshes::<4096>(4, 400, 1000);
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
fn an_unchanged_token_is_not_written_again_and_forget_survives_a_cut() {
    let mut memory = vec![0xFF; 4 * PAGE];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let range = 0..memory_len(&memory);
    let mut store = FlashStore::new(
        RamFlash::<PAGE>::new(&mut memory),
        range.clone(),
        &mut buffer,
        CLIENT,
    )
    .unwrap();
    let refresh = token(1, 400);
    let tokens = Tokens {
        refresh_token: Secret::new(&refresh),
        access_token: None,
    };
    for _ in 0..5 {
        store.store(&tokens).unwrap();
    }
    assert_eq!(store.writes(), 1);
    let flash = store.into_flash();
    let ops = flash.stats().word_writes;

    // Forget, with a cut at every operation: the token or nothing, never garbage.
    let before = memory.clone();
    let mut forgotten_ops = 0;
    for cut in 0.. {
        let mut memory = before.clone();
        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut flash = RamFlash::<PAGE>::new(&mut memory);
        flash.cut_power_after(cut);
        let mut store = FlashStore::new(flash, range.clone(), &mut buffer, CLIENT).unwrap();
        let done = store.forget().is_ok();

        let got = load(&mut memory, false).map(|(r, _)| r);
        assert!(
            got.is_none() || got == Some(refresh.clone()),
            "cut {cut}: {got:?}"
        );
        if done {
            assert_eq!(got, None);
            forgotten_ops = cut;
            break;
        }
    }
    assert!(forgotten_ops > 0 && ops > 0);

    // Another client ID's record is not loaded.
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut other = FlashStore::new(
        RamFlash::<PAGE>::new(&mut memory),
        range,
        &mut buffer,
        "another-client",
    )
    .unwrap();
    assert!(other.load().unwrap().is_none());
}
