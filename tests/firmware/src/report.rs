//! The firmware's report over semihosting, without `core::fmt`: the footprint of the
//! exchanges is measured against a baseline that does not link the formatting machinery,
//! as a firmware that never prints would not.

use cortex_m_semihosting::hio;

/// Writes `s` to the host's standard output.
pub fn text(s: &str) {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(s.as_bytes());
    }
}

/// Writes `n` in decimal.
pub fn number(n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(&digits[at..]);
    }
}

/// Writes `label: n unit` and a line end, the form `footprint.py` reads.
pub fn figure(label: &str, n: u64, unit: &str) {
    text(label);
    text(": ");
    number(n);
    text(" ");
    text(unit);
    text("\n");
}
