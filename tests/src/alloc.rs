//! A global allocator that counts the live heap bytes of the threads that opt in, and their
//! peak: the benchmarks and the RSA measurement use it to tell what one operation costs on
//! one thread while servers run on others.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: lwa_tests::alloc::Peak = lwa_tests::alloc::Peak;
//! let bytes = lwa_tests::alloc::peak_heap(|| do_the_work());
//! ```

// GlobalAlloc is an unsafe trait; this one forwards every call unchanged to the system
// allocator and only adds bookkeeping. It is the one measured need for unsafe code here.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

/// Counts live and peak heap bytes per thread, for threads inside [`peak_heap`].
#[derive(Debug)]
pub struct Peak;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = LIVE.try_with(|live| {
                let now = live.get().saturating_add_signed(delta);
                live.set(now);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }
    });
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(signed(layout.size()));
        // SAFETY: the caller upholds `alloc`'s contract, which is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-signed(layout.size()));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(signed(new_size) - signed(layout.size()));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Peak heap bytes above the starting level while `op` runs on this thread (only with
/// [`Peak`] as the global allocator).
pub fn peak_heap<T>(op: impl FnOnce() -> T) -> usize {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    COUNTING.with(|c| c.set(true));
    black_box(op());
    COUNTING.with(|c| c.set(false));
    PEAK.with(Cell::get)
}
