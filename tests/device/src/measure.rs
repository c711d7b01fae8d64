//! What a test firmware measures about itself, and how it ends: peak stack (paint the free
//! RAM, find the lowest word that changed), static RAM, instructions executed (TIMER0 under
//! QEMU's `-icount`), and the verdict as QEMU's exit code.
//! `unsafe` here writes and reads raw memory below the stack pointer, the measured need.
//!
//! Shared with `tests/firmware` (which includes this file by path), so it depends on nothing
//! but `cortex-m` and `cortex-m-semihosting`.

use core::ptr::{addr_of, addr_of_mut};

use core::ptr::{read_volatile, write_volatile};

use cortex_m_semihosting::{debug, hio};

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

/// The bus clock of the AN385/AN386 images, which drives TIMER0.
const BUS_HZ: u32 = 25_000_000;

/// TIMER0 of the MPS2 images, a CMSDK APB timer counting down at the 25 MHz bus clock.
const TIMER0: usize = 0x4000_0000;
const TIMER_CTRL: usize = 0x00;
const TIMER_VALUE: usize = 0x04;
const TIMER_RELOAD: usize = 0x08;

fn timer_reg(offset: usize) -> *mut u32 {
    (TIMER0 + offset) as *mut u32
}

/// Starts the busy counter: TIMER0 from `u32::MAX` down, counting only while the firmware
/// works ([`pause_busy`] stops it while the firmware waits for the host). At 25 MHz it
/// would wrap after 171 s of work; a run does a few seconds.
pub fn start_busy_counter() {
    // SAFETY: TIMER0's registers at their documented addresses; this is the only owner.
    unsafe {
        write_volatile(timer_reg(TIMER_CTRL), 0);
        write_volatile(timer_reg(TIMER_RELOAD), u32::MAX);
        write_volatile(timer_reg(TIMER_VALUE), u32::MAX);
        write_volatile(timer_reg(TIMER_CTRL), 1);
    }
}

/// Stops the busy counter (the firmware is about to wait for the host).
pub fn pause_busy() {
    // SAFETY: a write of TIMER0's control register: disable.
    unsafe { write_volatile(timer_reg(TIMER_CTRL), 0) }
}

/// Restarts the busy counter.
pub fn resume_busy() {
    // SAFETY: a write of TIMER0's control register: enable.
    unsafe { write_volatile(timer_reg(TIMER_CTRL), 1) }
}

/// Bus-clock counts (40 ns each) the firmware spent working since [`start_busy_counter`],
/// waiting for the host left out. Under `qemu-system-arm -icount shift=0` one instruction
/// takes 1 ns of virtual time, so a count is [`INSNS_PER_COUNT`] instructions.
#[must_use]
pub fn busy_counts() -> u32 {
    // SAFETY: a read of TIMER0's value register.
    u32::MAX - unsafe { read_volatile(timer_reg(TIMER_VALUE)) }
}

/// Instructions per busy count under `-icount shift=0` (1 ns per instruction, 40 ns per
/// count of the 25 MHz timer).
pub const INSNS_PER_COUNT: u64 = 1_000_000_000 / BUS_HZ as u64;

/// Prints the verdict and ends the run: QEMU exits 0 when `ok`, 1 otherwise.
pub fn exit(ok: bool) -> ! {
    // Without `core::fmt`: tests/firmware measures a firmware that does not link it.
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(if ok {
            b"all checks passed\n"
        } else {
            b"CHECKS FAILED\n"
        });
    }
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}
