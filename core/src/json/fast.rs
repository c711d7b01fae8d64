//! A host fast path (feature `fast`) in front of the strict walk, for the common answer: one
//! flat object whose members are plain ASCII strings (no escapes), unsigned integers and
//! literals. It reads that shape straight through and gives up, leaving the document to the
//! walk, on anything else: an escape, a non-ASCII byte, a nested value, a duplicate, a
//! malformed byte. It only ever accepts what the walk reads to the same values (the property
//! test and the JSON fuzz target compare them), so every error still comes from the walk.
//!
//! Measured need, for a second JSON reader: without it a refresh (request and answer,
//! `tests/examples/profile_refresh` under callgrind) takes 9 335 instructions on x86-64
//! instead of 8 239, 13% more, and 10% more time (`perf stat`); devices, where flash counts
//! more, use the walk alone.

use super::{Kind, Member, Slot, scan};

struct Scanner<'b> {
    b: &'b [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Skips whitespace and takes `c`.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == c).then(|| self.at += 1)
    }

    /// A string without escapes at the cursor: its content's (start, len). Inlined: returned
    /// through memory, the pair cost a store-forwarding stall per string (measured).
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.at;
        let end = scan::special(self.b, start)?;
        if self.b.get(end)? != &b'"' {
            return None; // an escape, a control character or a non-ASCII byte: the walk's
        }
        self.at = end + 1;
        Some((start, end - start))
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.b.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// An unsigned integer as serde-json-core reads one: `0`, or `[1-9][0-9]*` in range.
    fn unsigned(&mut self) -> Option<u32> {
        match self.peek()? {
            b'0' => {
                self.at += 1;
                Some(0)
            }
            b'1'..=b'9' => {
                let mut n: u32 = 0;
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
                    self.at += 1;
                }
                Some(n)
            }
            _ => None,
        }
    }

    /// An unknown member's value: a plain string, a literal, or a number in the JSON grammar
    /// (as strictly as the walk; anything else is left to it).
    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => {
                self.at = super::strict::number(self.b, self.at).ok()?;
                Some(())
            }
        }
    }
}

/// Reads `body` into `slots` if it is a flat object of plain values, every byte of it checked
/// as strictly as the walk would (so the depth limit holds too: its only brackets are its own
/// braces). `false`: use the walk (and reset the slots).
pub(super) fn scan(body: &[u8], members: &[Member], slots: &mut [Slot]) -> bool {
    scan_inner(body, members, slots).is_some()
}

/// `Some` for a flat object.
fn scan_inner(body: &[u8], members: &[Member], slots: &mut [Slot]) -> Option<()> {
    let mut s = Scanner { b: body, at: 0 };
    s.eat(b'{')?;
    s.skip_ws();
    if s.peek()? == b'}' {
        s.at += 1;
    } else {
        loop {
            let (start, len) = s.string()?;
            let key = body.get(start..start + len)?;
            s.eat(b':')?;
            match members.iter().position(|m| m.name.as_bytes() == key) {
                None => s.skip_value()?,
                Some(i) => {
                    let (member, slot) = (members.get(i)?, slots.get_mut(i)?);
                    if *slot != Slot::Absent {
                        return None; // a duplicate: the walk names it
                    }
                    s.skip_ws();
                    *slot = if s.peek()? == b'n' {
                        s.literal(b"null")?;
                        Slot::Null
                    } else {
                        match member.kind {
                            Kind::Str => {
                                let (start, len) = s.string()?;
                                Slot::Str {
                                    start,
                                    len,
                                    escaped: false,
                                }
                            }
                            Kind::U32 => Slot::U32(s.unsigned()?),
                        }
                    };
                }
            }
            s.skip_ws();
            match s.peek()? {
                b',' => s.at += 1,
                b'}' => {
                    s.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    s.skip_ws();
    (s.at == body.len()).then_some(())
}
