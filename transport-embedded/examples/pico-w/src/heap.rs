//! The heap the `rsa` crate's big integers need to check RSA chains; lwa,
//! embedded-tls and the rest of the firmware allocate nothing. `unsafe` here hands the
//! allocator its memory, once, the one thing embedded-alloc cannot do safely.

use core::mem::MaybeUninit;

use embedded_alloc::LlffHeap;
use static_cell::ConstStaticCell;

/// Bytes of heap: the highest use measured for a handshake is 22 193 bytes with RSA-4096 CAs
/// (Amazon Root CA 2's and DigiCert TLS RSA4096 Root G5's shape; 11 441 with RSA-2048), in
/// tests/device on a Cortex-M4 with the same 32-bit words. 16 KiB ran out.
pub const HEAP_LEN: usize = 24 * 1024;

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// The heap's memory.
static MEMORY: ConstStaticCell<[MaybeUninit<u8>; HEAP_LEN]> =
    ConstStaticCell::new([MaybeUninit::uninit(); HEAP_LEN]);

/// Gives the allocator its memory. Call once, before the first TLS handshake; a second call
/// panics in `take` (a bug, not a runtime condition).
// The measured need: embedded-alloc's `init` is unsafe.
#[allow(unsafe_code)]
pub fn init() {
    let memory = MEMORY.take();
    // SAFETY: `memory` is a `'static` region that nothing else refers to (ConstStaticCell
    // hands it out once), and the allocator is given memory this once.
    unsafe { HEAP.init(memory.as_mut_ptr() as usize, HEAP_LEN) }
}
