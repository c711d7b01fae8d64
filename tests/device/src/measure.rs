//! What the firmware measures about itself: peak stack (paint the free RAM, find the lowest
//! word that changed) and, on the RSA build, the heap's high-water mark. `unsafe` here
//! writes and reads raw memory below the stack pointer and implements `GlobalAlloc`; both
//! are the measured need.

use core::ptr::{addr_of, addr_of_mut};

const PAINT: u32 = 0xA5A5_A5A5;

unsafe extern "C" {
    /// End of static RAM (start of the free area below the stack), from cortex-m-rt.
    static mut __sheap: u32;
    /// Top of the stack, from cortex-m-rt.
    static _stack_start: u32;
    /// Start of static RAM, from cortex-m-rt's linker script.
    static __sdata: u32;
}

/// Fills the free RAM below the current stack frame with a pattern.
#[inline(never)]
pub fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = addr_of_mut!(__sheap);
    // Leave this function's own frame alone.
    while (p as usize) < sp - 64 {
        // SAFETY: [__sheap, sp - 64) is RAM no live data uses: statics end at __sheap and
        // the stack lies above sp.
        unsafe {
            p.write_volatile(PAINT);
            p = p.add(1);
        }
    }
}

/// Bytes of stack used since [`paint_stack`]: from the top down to the lowest word that no
/// longer holds the pattern.
#[inline(never)]
#[must_use]
pub fn stack_used() -> usize {
    let top = addr_of!(_stack_start) as usize;
    let mut p = addr_of!(__sheap);
    // SAFETY: reads within RAM between the statics and the stack top.
    unsafe {
        while (p as usize) < top && p.read_volatile() == PAINT {
            p = p.add(1);
        }
    }
    top - p as usize
}

/// Static RAM in use (`.data` + `.bss` + `.uninit`): from the start of RAM to the end of the
/// statics.
#[must_use]
pub fn static_ram() -> usize {
    addr_of!(__sheap) as usize - addr_of!(__sdata) as usize
}

#[cfg(feature = "rsa")]
pub use heap::{heap_peak, init_heap};

#[cfg(feature = "rsa")]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};
    use core::mem::MaybeUninit;
    use core::ptr::addr_of_mut;
    use core::sync::atomic::{AtomicUsize, Ordering};

    use embedded_alloc::LlffHeap;

    /// Heap for embedded-tls's RSA code (the `rsa` crate allocates its big integers).
    const HEAP_LEN: usize = 16 * 1024;

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
}
