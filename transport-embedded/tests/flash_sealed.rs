//! Sealed records that must not open, written with valid CRCs straight through
//! sequential-storage so that the store's own checks meet them: every single-bit flip of a
//! stored record, every truncation, a record sealed under another key or for another client
//! ID, a plain record where a sealed one is expected. Each loads as no token, with the typed
//! reason, never a panic and never a part of a token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use lwa_embedded::core::secret::Secret;
use lwa_embedded::core::session::{Instant, TokenStore, Tokens};
use lwa_embedded::flash::{ApplicationKey, BUFFER_LEN, FlashError, FlashStore, OpenError};
use lwa_test_support::flash::{PowerCut, RamFlash};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};

const PAGE: usize = 1024;
const LEN: usize = 4 * PAGE;
const CLIENT: &str = "amzn1.application-oa2-client.0123456789abcdef";
const KEY: [u8; 16] = *b"board key 0123ab";
const REFRESH: &str = "Atzr|IwEBIJ-refresh-token-of-this-device-0123456789";
const ACCESS: &str = "Atza|IwEBIA-access-token-of-this-device-9876543210";

/// Refresh token, access token and expiry, as loaded.
type Loaded = Result<Option<(String, String, u64)>, FlashError<PowerCut>>;

/// What a store with `key` (sealed) or none (plain) for `client` loads from `memory`, and
/// why it loaded nothing.
fn load(memory: &mut [u8], key: Option<[u8; 16]>, client: &str) -> (Loaded, Option<OpenError>) {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = key.map(ApplicationKey::new);
    let store = FlashStore::new(
        RamFlash::<PAGE>::new(memory),
        0..LEN as u32,
        &mut buffer,
        client,
    )
    .unwrap();
    let mut store = match &mut key {
        Some(k) => store.sealed(k),
        None => store,
    };
    let loaded = store.load().map(|s| {
        s.map(|s| {
            let (access, at) = s.access_token.unwrap();
            (
                s.refresh_token.expose().to_owned(),
                access.expose().to_owned(),
                at.as_millis(),
            )
        })
    });
    let why = store.unopened();
    (loaded, why)
}

/// A flash holding the tokens, stored by a store with `key` for `client`.
fn stored(key: Option<[u8; 16]>, client: &str) -> Vec<u8> {
    let mut memory = vec![0xFF; LEN];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = key.map(ApplicationKey::new);
    let store = FlashStore::new(
        RamFlash::<PAGE>::new(&mut memory),
        0..LEN as u32,
        &mut buffer,
        client,
    )
    .unwrap();
    let mut store = match &mut key {
        Some(k) => store.sealed(k),
        None => store,
    };
    store
        .store(&Tokens {
            refresh_token: Secret::new(REFRESH),
            access_token: Some((Secret::new(ACCESS), Instant::from_millis(1_234))),
        })
        .unwrap();
    memory
}

/// No RAM cache, as the store.
type NoCache = Cache<Uncached, Uncached, Uncached, u8>;

fn map(memory: &mut [u8]) -> MapStorage<u8, RamFlash<'_, PAGE>, NoCache> {
    MapStorage::new(
        RamFlash::<PAGE>::new(memory),
        MapConfig::new(0..LEN as u32),
        Cache::new_uncached(),
    )
}

/// The stored value's bytes, as sequential-storage holds them.
fn raw_record(memory: &mut [u8]) -> Vec<u8> {
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut map = map(memory);
    pollster::block_on(map.fetch_item::<&[u8]>(&mut buffer, &0))
        .unwrap()
        .unwrap()
        .to_vec()
}

/// A fresh flash holding `record` under the store's key, with valid CRCs.
fn with_record(record: &[u8]) -> Vec<u8> {
    let mut memory = vec![0xFF; LEN];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut map = map(&mut memory);
    pollster::block_on(map.store_item(&mut buffer, &0, &record)).unwrap();
    memory
}

fn tokens() -> Option<(String, String, u64)> {
    Some((REFRESH.to_owned(), ACCESS.to_owned(), 1_234))
}

#[test]
fn the_sealed_record_loads_and_its_rewrite_through_the_map_is_the_same() {
    let mut memory = stored(Some(KEY), CLIENT);
    let record = raw_record(&mut memory);
    assert_eq!(record[0], 0x51, "the sealed format byte");
    assert!(
        !record
            .windows(8)
            .any(|w| REFRESH.as_bytes().windows(8).any(|t| t == w))
    );
    assert_eq!(load(&mut memory, Some(KEY), CLIENT), (Ok(tokens()), None));
    // Rewritten by the test's own map, it still opens: the tests below change only the bit.
    assert_eq!(
        load(&mut with_record(&record), Some(KEY), CLIENT),
        (Ok(tokens()), None)
    );
}

#[test]
fn every_single_bit_flip_of_a_stored_record_loads_no_token() {
    let record = raw_record(&mut stored(Some(KEY), CLIENT));
    let mut flips = 0;
    for bit in 0..record.len() * 8 {
        let mut flipped = record.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        // The format byte flipped is no format at all; any other bit fails the tag.
        let why = if bit < 8 {
            OpenError::Format
        } else {
            OpenError::Sealed
        };
        assert_eq!(
            load(&mut with_record(&flipped), Some(KEY), CLIENT),
            (Ok(None), Some(why)),
            "bit {bit}"
        );
        flips += 1;
    }
    assert_eq!(flips, record.len() * 8);
    println!(
        "{flips} single-bit flips of a {}-byte sealed record: none opened",
        record.len()
    );
}

#[test]
fn every_truncation_of_a_stored_record_loads_no_token() {
    let record = raw_record(&mut stored(Some(KEY), CLIENT));
    for len in 0..record.len() {
        let why = if len == 0 {
            OpenError::Format
        } else {
            OpenError::Sealed
        };
        assert_eq!(
            load(&mut with_record(&record[..len]), Some(KEY), CLIENT),
            (Ok(None), Some(why)),
            "{len} bytes"
        );
    }
}

#[test]
fn a_record_of_another_key_or_client_id_loads_no_token() {
    let mut memory = stored(Some(KEY), CLIENT);
    let other_key = *b"another device's";
    assert_eq!(
        load(&mut memory, Some(other_key), CLIENT),
        (Ok(None), Some(OpenError::Sealed))
    );
    let other_client = "amzn1.application-oa2-client.fedcba9876543210";
    assert_eq!(
        load(&mut memory, Some(KEY), other_client),
        (Ok(None), Some(OpenError::Sealed))
    );
    // A plain store cannot read it; a sealed one still can.
    assert_eq!(
        load(&mut memory, None, CLIENT),
        (Ok(None), Some(OpenError::NoKey))
    );
    assert_eq!(load(&mut memory, Some(KEY), CLIENT), (Ok(tokens()), None));
}

#[test]
fn every_single_bit_flip_in_the_flash_image_loads_the_tokens_whole_or_none() {
    let memory = stored(Some(KEY), CLIENT);
    let used = memory.iter().rposition(|&b| b != 0xFF).unwrap() + 1;
    let (mut whole, mut none, mut errors) = (0, 0, 0);
    for bit in 0..used * 8 {
        let mut flipped = memory.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        match load(&mut flipped, Some(KEY), CLIENT).0 {
            Ok(Some(t)) => {
                assert_eq!(Some(t), tokens(), "bit {bit}");
                whole += 1;
            }
            Ok(None) => none += 1,
            Err(_) => errors += 1,
        }
    }
    println!(
        "{} flips of the image: {whole} whole, {none} none, {errors} errors",
        used * 8
    );
    assert!(none > 0);
}

#[test]
fn a_plain_record_is_not_loaded_by_a_sealed_store_and_is_wiped_by_its_first_store() {
    let mut memory = stored(None, CLIENT);
    assert!(memory.windows(8).any(|w| w == &REFRESH.as_bytes()[..8]));
    assert_eq!(
        load(&mut memory, Some(KEY), CLIENT),
        (Ok(None), Some(OpenError::Plain))
    );

    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut key = ApplicationKey::new(KEY);
    let mut store = FlashStore::new(
        RamFlash::<PAGE>::new(&mut memory),
        0..LEN as u32,
        &mut buffer,
        CLIENT,
    )
    .unwrap()
    .sealed(&mut key);
    let relinked = "Atzr|IwEBIJ-a-new-refresh-token-after-linking-again";
    store
        .store(&Tokens {
            refresh_token: Secret::new(relinked),
            access_token: None,
        })
        .unwrap();
    let _ = store.into_flash();
    for secret in [REFRESH, ACCESS, relinked] {
        let found = secret
            .as_bytes()
            .windows(8)
            .filter(|w| memory.windows(8).any(|m| m == *w))
            .count();
        assert_eq!(found, 0, "{secret}");
    }
}

#[cfg(feature = "async")]
#[test]
fn the_async_store_seals_and_forgets_the_same_way() {
    use lwa_embedded::asynch::TokenStore as _;
    use lwa_embedded::flash::AsyncFlashStore;
    let mut memory = vec![0xFF; LEN];
    {
        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut key = ApplicationKey::new(KEY);
        let mut store = AsyncFlashStore::new(
            RamFlash::<PAGE>::new(&mut memory),
            0..LEN as u32,
            &mut buffer,
            CLIENT,
        )
        .unwrap()
        .sealed(&mut key);
        pollster::block_on(store.store(&Tokens {
            refresh_token: Secret::new(REFRESH),
            access_token: None,
        }))
        .unwrap();
        let loaded = pollster::block_on(store.load()).unwrap().unwrap();
        assert_eq!(loaded.refresh_token.expose(), REFRESH);
    }
    let record = raw_record(&mut memory);
    assert_eq!(record[0], 0x51);
    {
        let mut buffer = vec![0u8; BUFFER_LEN];
        let mut store = AsyncFlashStore::new(
            RamFlash::<PAGE>::new(&mut memory),
            0..LEN as u32,
            &mut buffer,
            CLIENT,
        )
        .unwrap();
        // Forgetting needs no key.
        pollster::block_on(store.forget()).unwrap();
    }
    let found = record[16..]
        .windows(8)
        .filter(|w| memory.windows(8).any(|m| m == *w))
        .count();
    assert_eq!(found, 0);
    assert_eq!(load(&mut memory, Some(KEY), CLIENT), (Ok(None), None));
}

#[test]
fn a_key_the_board_cannot_supply_is_a_typed_error_and_nothing_is_written() {
    struct Absent;
    impl lwa_embedded::flash::SealingKey for Absent {
        fn key(
            &mut self,
            _: &mut [u8; lwa_embedded::flash::KEY_LEN],
        ) -> Result<(), lwa_embedded::flash::KeyUnavailable> {
            Err(lwa_embedded::flash::KeyUnavailable)
        }
    }
    let tokens = Tokens {
        refresh_token: Secret::new(REFRESH),
        access_token: None,
    };
    // Storing into an erased flash: the key is asked for when the record is sealed.
    let mut memory = vec![0xFF; LEN];
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut absent = Absent;
    let mut store = FlashStore::new(
        RamFlash::<PAGE>::new(&mut memory),
        0..LEN as u32,
        &mut buffer,
        CLIENT,
    )
    .unwrap()
    .sealed(&mut absent);
    assert_eq!(store.store(&tokens), Err(FlashError::Key));
    assert_eq!(store.writes(), 0);
    let _ = store.into_flash();
    // No record (sequential-storage may have marked a page as in use).
    assert_eq!(load(&mut memory, Some(KEY), CLIENT), (Ok(None), None));

    // Loading a sealed record: the key is asked for to open it.
    let mut memory = stored(Some(KEY), CLIENT);
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut store = FlashStore::new(
        RamFlash::<PAGE>::new(&mut memory),
        0..LEN as u32,
        &mut buffer,
        CLIENT,
    )
    .unwrap()
    .sealed(&mut absent);
    assert_eq!(store.load().map(|s| s.is_some()), Err(FlashError::Key));
    assert_eq!(store.store(&tokens), Err(FlashError::Key));
    // Forgetting needs no key.
    assert_eq!(store.forget(), Ok(()));
    let _ = store.into_flash();
    assert_eq!(load(&mut memory, Some(KEY), CLIENT), (Ok(None), None));
}
