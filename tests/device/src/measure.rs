//! What a test firmware measures about itself, and how it ends: peak stack (paint the free
//! RAM, find the lowest word that changed), static RAM, and the verdict as QEMU's exit code.
//! `unsafe` here writes and reads raw memory below the stack pointer, the measured need.
//!
//! Shared with `tests/firmware` (which includes this file by path), so it depends on nothing
//! but `cortex-m` and `cortex-m-semihosting`.

use core::ptr::{addr_of, addr_of_mut};

use cortex_m_semihosting::{debug, hprintln};

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

/// Prints the verdict and ends the run: QEMU exits 0 when `ok`, 1 otherwise.
pub fn exit(ok: bool) -> ! {
    hprintln!(
        "{}",
        if ok {
            "all checks passed"
        } else {
            "CHECKS FAILED"
        }
    );
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}
