//! The heap the RSA build needs (the `rsa` crate's big integers), counting its high-water
//! mark. `unsafe` here implements `GlobalAlloc` and hands the allocator its memory, the
//! measured need.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// Heap for the RSA certificate checks (the `rsa` crate allocates its big integers): a chain
/// with RSA-4096 CAs peaks at 22 193 bytes (RSA-2048 chains at 11 441); 16 KiB ran out.
const HEAP_LEN: usize = 24 * 1024;

/// The allocator, counting bytes in use and their high-water mark.
struct Counting {
    heap: LlffHeap,
    used: AtomicUsize,
    peak: AtomicUsize,
}

#[global_allocator]
static HEAP: Counting = Counting {
    heap: LlffHeap::empty(),
    used: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

// SAFETY: forwards to LlffHeap, which upholds GlobalAlloc's contract; the counters are
// bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let used = self.used.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(used, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

/// Gives the allocator its memory. Call once, before the first TLS handshake.
pub fn init_heap() {
    static mut MEMORY: [MaybeUninit<u8>; HEAP_LEN] = [MaybeUninit::uninit(); HEAP_LEN];
    // SAFETY: called once; MEMORY is used by nothing else.
    unsafe { HEAP.heap.init(addr_of_mut!(MEMORY) as usize, HEAP_LEN) }
}

/// The most heap bytes in use at once so far, and the heap's size.
#[must_use]
pub fn heap_peak() -> (usize, usize) {
    (HEAP.peak.load(Ordering::Relaxed), HEAP_LEN)
}
