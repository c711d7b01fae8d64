//! Where the refresh token lives: lwa-embedded's flash store on the last 32 KiB of the Pico
//! W's 2 MiB flash, through embassy-rp's async flash driver. `memory.x` keeps the linker out
//! of this range (`TOKEN_STORE`), so a new firmware leaves the token where it was.
//!
//! The records are sealed (AES-128-GCM), but the RP2040 has no secret storage: no eFuse,
//! OTP or secure element holds a key only the chip can read. The key here is the flash
//! chip's 64-bit unique ID with a fixed label, read at boot. Anyone who holds the board can
//! read that ID over the same SPI bus, so this protects against casual reading only: a dump
//! of the token range moved to another board, or searched for `Atzr|`, shows no token; a
//! dump of the whole chip with the ID (or the board itself) opens it. A product that needs
//! more adds a secure element (an ATECC608 or SE050, say) and implements
//! `lwa_embedded::flash::SealingKey` over it.

use core::ops::Range;

use embassy_rp::flash::{Async, Flash};
use embassy_rp::peripherals::FLASH;
use lwa_embedded::flash::{ApplicationKey, AsyncFlashStore, KEY_LEN};

/// The Pico W's flash: a 2 MiB W25Q16JV.
pub const FLASH_SIZE: usize = 2 * 1024 * 1024;

/// The store's range, as offsets into the flash (addresses 0x101F8000..0x10200000): eight
/// 4 KiB erase sectors. sequential-storage needs two; with eight, a sector is erased once
/// per eight sectors' worth of records, a quarter of the wear of two.
pub const RANGE: Range<u32> = 0x1F_8000..0x20_0000;

/// The flash as the store uses it.
pub type PicoFlash = Flash<'static, FLASH, Async, FLASH_SIZE>;

/// The token store the driver persists to.
pub type Store = AsyncFlashStore<'static, PicoFlash>;

/// The sealing key: the flash chip's unique ID and a label (see the module docs: it is no
/// secret from whoever holds the board). Read before the store takes the flash.
pub fn chip_key(flash: &mut PicoFlash) -> ApplicationKey {
    let mut key = *b"lwa-pico\0\0\0\0\0\0\0\0";
    let (_, id) = key.split_at_mut(KEY_LEN / 2);
    if flash.blocking_unique_id(id).is_err() {
        // The ID is read from the chip that runs this code: a failure leaves the label alone
        // (zeros for the ID), the same key at every boot, as casual a protection.
        defmt::warn!("reading the flash's unique ID failed: the store's key is the label alone");
        id.fill(0);
    }
    ApplicationKey::new(key)
}
