//! A NOR flash in RAM that can lose its power after any word write or page erase: for the
//! flash store's power-cut tests, and for firmware that runs where there is no flash (QEMU's
//! MPS2 board models its code memory as RAM). A test aid, not part of any shipped crate.
//!
//! ```
//! use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
//! use lwa_test_support::flash::{PowerCut, RamFlash};
//!
//! let mut memory = [0xFFu8; 2048];
//! let mut flash = RamFlash::<1024>::new(&mut memory);
//! flash.write(0, &[0x0F; 8]).unwrap();
//! flash.cut_power_after(1);
//! assert_eq!(flash.write(8, &[0; 8]), Err(PowerCut)); // the second word is cut half written
//! assert_eq!(flash.stats().word_writes, 3);
//! assert_eq!(&flash.memory()[8..16], &[0, 0, 0, 0, 0, 0, 0xFF, 0xFF]);
//! ```

use core::ops::Range;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// The power was cut: [`RamFlash`] refuses every operation from the cut on, as a chip without
/// power would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PowerCut;

impl NorFlashError for PowerCut {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

/// Operations [`RamFlash`] has performed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlashStats {
    /// Pages erased.
    pub erases: u64,
    /// Words (4 bytes) written.
    pub word_writes: u64,
}

/// A NOR flash in RAM, with `PAGE` bytes per erase page and 4-byte words: for tests, and for
/// firmware that runs where there is no flash (the QEMU board). It behaves as NOR flash does:
/// an erase sets a page to `0xFF`, a write can only clear bits.
///
/// It can cut the power ([`cut_power_after`](Self::cut_power_after)) after any number of
/// word writes and page erases; the operation that the cut interrupts is left half done (the
/// word half written, the page half erased) and every later one fails with [`PowerCut`].
#[derive(Debug)]
pub struct RamFlash<'m, const PAGE: usize> {
    memory: &'m mut [u8],
    /// Word writes and erases until the power goes.
    cut_in: Option<u64>,
    /// The power is off.
    off: bool,
    stats: FlashStats,
}

impl<'m, const PAGE: usize> RamFlash<'m, PAGE> {
    /// Flash over `memory` (its length a multiple of `PAGE`, a multiple of 4), as it is: pass
    /// `0xFF` bytes for an erased chip, or the bytes a previous run left.
    #[must_use]
    pub fn new(memory: &'m mut [u8]) -> Self {
        Self {
            memory,
            cut_in: None,
            off: false,
            stats: FlashStats::default(),
        }
    }

    /// Cuts the power after `ops` more word writes and page erases (`0`: at the next one).
    pub fn cut_power_after(&mut self, ops: u64) {
        self.cut_in = Some(ops);
    }

    /// Whether the power has been cut.
    #[must_use]
    pub fn power_cut(&self) -> bool {
        self.off
    }

    /// What was done so far.
    #[must_use]
    pub fn stats(&self) -> FlashStats {
        self.stats
    }

    /// The memory.
    #[must_use]
    pub fn memory(&self) -> &[u8] {
        self.memory
    }

    /// Counts one operation; `false` if the power goes before it completes.
    fn tick(&mut self) -> Result<bool, PowerCut> {
        if self.off {
            return Err(PowerCut);
        }
        match self.cut_in {
            Some(0) => {
                self.off = true;
                Ok(false)
            }
            Some(n) => {
                self.cut_in = Some(n - 1);
                Ok(true)
            }
            None => Ok(true),
        }
    }

    fn range(&self, offset: u32, len: usize) -> Result<Range<usize>, PowerCut> {
        let start = usize::try_from(offset).map_err(|_| PowerCut)?;
        let end = start.checked_add(len).ok_or(PowerCut)?;
        if end > self.memory.len() {
            return Err(PowerCut);
        }
        Ok(start..end)
    }
}

impl<const PAGE: usize> ErrorType for RamFlash<'_, PAGE> {
    type Error = PowerCut;
}

impl<const PAGE: usize> ReadNorFlash for RamFlash<'_, PAGE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), PowerCut> {
        if self.off {
            return Err(PowerCut);
        }
        let range = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(self.memory.get(range).ok_or(PowerCut)?);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.memory.len()
    }
}

impl<const PAGE: usize> NorFlash for RamFlash<'_, PAGE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), PowerCut> {
        let range = self.range(from, (to.saturating_sub(from)) as usize)?;
        let mut start = range.start;
        while start < range.end {
            let whole = self.tick()?;
            let end = (start + PAGE).min(range.end);
            let upto = if whole {
                end
            } else {
                start + (end - start) / 2
            };
            if let Some(bytes) = self.memory.get_mut(start..upto) {
                bytes.fill(0xFF);
            }
            if !whole {
                return Err(PowerCut);
            }
            self.stats.erases += 1;
            start = end;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), PowerCut> {
        let range = self.range(offset, bytes.len())?;
        let mut at = range.start;
        for word in bytes.chunks(4) {
            let whole = self.tick()?;
            let n = if whole { word.len() } else { word.len() / 2 };
            for (cell, &b) in self
                .memory
                .get_mut(at..at + n)
                .unwrap_or_default()
                .iter_mut()
                .zip(word)
            {
                // NOR: programming clears bits, never sets them.
                *cell &= b;
            }
            if !whole {
                return Err(PowerCut);
            }
            self.stats.word_writes += 1;
            at += word.len();
        }
        Ok(())
    }
}

impl<const PAGE: usize> embedded_storage_async::nor_flash::ReadNorFlash for RamFlash<'_, PAGE> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), PowerCut> {
        ReadNorFlash::read(self, offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.memory.len()
    }
}

impl<const PAGE: usize> embedded_storage_async::nor_flash::NorFlash for RamFlash<'_, PAGE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), PowerCut> {
        NorFlash::erase(self, from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), PowerCut> {
        NorFlash::write(self, offset, bytes)
    }
}
