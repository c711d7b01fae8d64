//! The random numbers TLS needs (client random, key shares). A device takes them from its
//! true random number generator; QEMU's MPS2 board has none, so this stand-in expands a seed
//! with SHA-256 in counter mode (`SHA-256(seed || counter)`, 32 bytes a block), on the
//! SHA-256 the TLS stack links anyway: 3.2 KiB less flash than ChaCha20. The test's seed is
//! fixed; it protects no secret.

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// SHA-256 in counter mode over a 32-byte seed.
#[derive(Debug)]
pub struct Sha256Rng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Sha256Rng {
    /// A generator over `seed`.
    #[must_use]
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }
}

impl RngCore for Sha256Rng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.block.len() {
                let mut hash = Sha256::new();
                hash.update(self.seed);
                hash.update(self.counter.to_le_bytes());
                self.block = hash.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.block.get(self.used).copied().unwrap_or_default();
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Sha256Rng {}
