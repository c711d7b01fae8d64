//! Where the refresh token lives: lwa-embedded's flash store on the last 32 KiB of the Pico
//! W's 2 MiB flash, through embassy-rp's async flash driver. `memory.x` keeps the linker out
//! of this range (`TOKEN_STORE`), so a new firmware leaves the token where it was.

use core::ops::Range;

use embassy_rp::flash::{Async, Flash};
use embassy_rp::peripherals::FLASH;
use lwa_embedded::flash::AsyncFlashStore;

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
