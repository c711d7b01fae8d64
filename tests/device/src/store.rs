//! Where the device keeps its refresh token: lwa-embedded's flash store on a partition of the
//! board's code memory. QEMU's MPS2 models that memory as RAM, so `RamFlash` makes it behave
//! as NOR flash (erase to `0xFF`, writes clear bits); on a real board the HAL's flash driver
//! takes its place. `unsafe` here takes the partition, once, the measured need of any
//! firmware that owns a region by address.

use embedded_storage::nor_flash::NorFlash;
use lwa_embedded::flash::BUFFER_LEN;
use lwa_test_support::flash::RamFlash;
use static_cell::ConstStaticCell;

/// Bytes per erase page (the sector of most SPI NOR flash).
pub const PAGE: usize = 4096;
/// The partition: four pages.
pub const PARTITION_LEN: usize = 4 * PAGE;

/// The partition, in the board's code memory (`.token_flash` in `memory.x`, not loaded: a
/// device's flash keeps what it held; this one is erased at boot).
#[unsafe(link_section = ".token_flash")]
static mut PARTITION: [u8; PARTITION_LEN] = [0; PARTITION_LEN];

/// The store's work buffer.
static BUFFER: ConstStaticCell<[u8; BUFFER_LEN]> = ConstStaticCell::new([0; BUFFER_LEN]);

/// The flash the store runs on, erased as it leaves the factory, and its work buffer. Call
/// once.
#[must_use]
pub fn partition() -> (RamFlash<'static, PAGE>, &'static mut [u8]) {
    // SAFETY: the only reference to PARTITION, taken once (a second call panics on BUFFER
    // before, so this line is reached once).
    let buffer: &'static mut [u8] = BUFFER.take();
    let memory: &'static mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(PARTITION) };
    let mut flash = RamFlash::new(memory);
    // A factory-fresh chip is erased; memory the loader did not fill is not.
    let erased = NorFlash::erase(&mut flash, 0, PARTITION_LEN as u32).is_ok();
    assert!(erased, "erasing RAM cannot fail");
    (flash, buffer)
}

/// The sealing key (feature `sealed`). The board has no secret storage: a fixed key, enough
/// to measure what sealing costs. Call once.
#[cfg(feature = "sealed")]
#[must_use]
pub fn key() -> &'static mut lwa_embedded::flash::ApplicationKey {
    static KEY: static_cell::StaticCell<lwa_embedded::flash::ApplicationKey> =
        static_cell::StaticCell::new();
    KEY.init(lwa_embedded::flash::ApplicationKey::new(
        *b"qemu board key 0",
    ))
}
