//! RFC 8259, strictly, in one pass: literals spelled out, numbers in the JSON grammar,
//! strings with valid escapes, no raw control characters and valid UTF-8, objects and arrays
//! well formed and at most [`MAX_DEPTH`](super::MAX_DEPTH) deep, nothing after the top-level
//! object. The same pass hands each top-level member to the reader ([`walk`]), so a body is
//! read once, and every malformed answer is an error. serde-json-core, the reference the
//! property tests and fuzz targets compare with, skips unknown values leniently (`tru e`,
//! `01`, `+1`, `NaN`, raw control characters and bad escapes in strings all pass it), so it
//! reads only documents this pass accepted ([`check`]).
//!
//! No recursion: one bit per open container says whether it is an object.

use super::MAX_DEPTH;
use super::scan;
use crate::error::JsonErrorKind;

// One bit per open container in a u32.
const _: () = assert!(MAX_DEPTH <= 32);

/// What the pass expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value.
    Value,
    /// A value or `]` (just after `[`).
    ValueOrEnd,
    /// A key or `}` (just after `{`).
    KeyOrEnd,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the end of the open container, after a value.
    CommaOrEnd,
}

/// Where a document first breaks the grammar, and in which top-level member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Broken {
    /// What is wrong.
    pub(super) kind: JsonErrorKind,
    /// The raw key of the top-level member it is in, if it is in one.
    pub(super) key: Option<(usize, usize)>,
}

/// The value of a top-level member, as the pass found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// A string: its content's start and length in the body, and whether it holds escapes.
    Str {
        /// Where the content starts (after the quote).
        start: usize,
        /// Its length in bytes, escapes as written.
        len: usize,
        /// Whether it holds a `\`.
        escaped: bool,
    },
    /// A number in the JSON grammar, `start..end` in the body.
    Number {
        /// Where it starts.
        start: usize,
        /// Where it ends.
        end: usize,
    },
    /// `null`.
    Null,
    /// `true`, `false`, an object or an array.
    Other,
}

/// Checks that `b` is one JSON object, strictly (see the [module docs](self)).
#[cfg(any(test, feature = "reference"))]
pub(super) fn check(b: &[u8]) -> Result<(), Broken> {
    walk(b, |_, _| {})
}

/// Checks `b` as [`check`] does, and hands `member` the raw key (start, len, whether it holds
/// escapes) and the value of
/// every top-level member, in document order, as soon as the value is known to be well
/// formed (an object or array: as soon as it opens). The pass goes on to the end whatever
/// `member` makes of it, so a malformed byte anywhere takes precedence.
pub(super) fn walk(
    b: &[u8],
    mut member: impl FnMut((usize, usize, bool), Found),
) -> Result<(), Broken> {
    let mut at = 0;
    // Bit i set: the container at depth i + 1 is an object.
    let mut objects: u32 = 0;
    let mut depth = 0usize;
    let mut key: Option<(usize, usize)> = None;
    let mut key_escaped = false;
    let mut expect = Expect::Value;
    let broken = |kind, key| Err(Broken { kind, key });
    loop {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(at) {
            at += 1;
        }
        let Some(&c) = b.get(at) else {
            return broken(JsonErrorKind::Eof, key);
        };
        if depth == 0 && expect == Expect::Value && c != b'{' {
            // Only an object is an LWA answer.
            return broken(JsonErrorKind::InvalidType, None);
        }
        let in_object = depth > 0 && objects & (1 << (depth - 1)) != 0;
        // The end of the open container, where one may end.
        let closes = match expect {
            Expect::CommaOrEnd => c == if in_object { b'}' } else { b']' },
            Expect::KeyOrEnd => c == b'}',
            Expect::ValueOrEnd => c == b']',
            _ => false,
        };
        if closes {
            at += 1;
            depth -= 1;
            if depth == 0 {
                return end(b, at);
            }
            if depth == 1 {
                key = None; // the member's value is complete
            }
            expect = Expect::CommaOrEnd;
            continue;
        }
        match expect {
            Expect::Colon | Expect::CommaOrEnd => {
                let (want, next) = match expect {
                    Expect::Colon => (b':', Expect::Value),
                    _ if in_object => (b',', Expect::Key),
                    _ => (b',', Expect::Value),
                };
                if c != want {
                    return broken(JsonErrorKind::Syntax, key);
                }
                at += 1;
                expect = next;
                continue;
            }
            Expect::KeyOrEnd | Expect::Key => {
                if c != b'"' {
                    return broken(JsonErrorKind::Syntax, key);
                }
                let (start, len, escaped) = string(b, at).map_err(|kind| Broken { kind, key })?;
                if depth == 1 {
                    key = Some((start, len));
                    key_escaped = escaped;
                }
                at = start + len + 1;
                expect = Expect::Colon;
                continue;
            }
            Expect::Value | Expect::ValueOrEnd => {}
        }
        // A value: a member's value when `depth` is 1.
        let level = depth;
        let found = match c {
            b'{' | b'[' => {
                if depth >= MAX_DEPTH {
                    return broken(JsonErrorKind::TooDeep, key);
                }
                if c == b'{' {
                    objects |= 1 << depth;
                } else {
                    objects &= !(1 << depth);
                }
                depth += 1;
                at += 1;
                Found::Other
            }
            b'"' => {
                let (start, len, escaped) = string(b, at).map_err(|kind| Broken { kind, key })?;
                at = start + len + 1;
                Found::Str {
                    start,
                    len,
                    escaped,
                }
            }
            b't' | b'f' | b'n' => {
                let word: &[u8] = match c {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                match b.get(at..at + word.len()) {
                    Some(w) if w == word => at += word.len(),
                    None if b.get(at..).is_some_and(|rest| word.starts_with(rest)) => {
                        return broken(JsonErrorKind::Eof, key);
                    }
                    _ => return broken(JsonErrorKind::Syntax, key),
                }
                if c == b'n' { Found::Null } else { Found::Other }
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                at = number(b, at).map_err(|kind| Broken { kind, key })?;
                Found::Number { start, end: at }
            }
            _ => return broken(JsonErrorKind::Syntax, key),
        };
        let opened = depth > level;
        if level == 1 {
            if let Some(k) = key {
                member((k.0, k.1, key_escaped), found);
            }
            if !opened {
                key = None; // the member's value is complete
            }
        }
        expect = match c {
            _ if !opened => Expect::CommaOrEnd,
            b'{' => Expect::KeyOrEnd,
            _ => Expect::ValueOrEnd,
        };
    }
}

/// After the top-level object: only whitespace.
fn end(b: &[u8], at: usize) -> Result<(), Broken> {
    let rest = b.get(at..).unwrap_or_default();
    if rest
        .iter()
        .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        Ok(())
    } else {
        Err(Broken {
            kind: JsonErrorKind::TrailingCharacters,
            key: None,
        })
    }
}

/// The string whose opening quote is at `at`: its content's (start, len), and whether it
/// holds escapes. The bytes between the special ones (`"`, `\`, control characters,
/// non-ASCII) are skipped a word or a block at a time ([`scan::special`]).
fn string(b: &[u8], at: usize) -> Result<(usize, usize, bool), JsonErrorKind> {
    let start = at + 1;
    let mut i = start;
    let mut escaped = false;
    let mut ascii = true;
    loop {
        i = scan::special(b, i).ok_or(JsonErrorKind::Eof)?;
        match *b.get(i).ok_or(JsonErrorKind::Eof)? {
            b'"' => break,
            b'\\' => {
                escaped = true;
                let width = match *b.get(i + 1).ok_or(JsonErrorKind::Eof)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                    b'u' => {
                        let digits = b.get(i + 2..i + 6).ok_or(JsonErrorKind::Eof)?;
                        if !digits.iter().all(u8::is_ascii_hexdigit) {
                            return Err(JsonErrorKind::InvalidString);
                        }
                        6
                    }
                    _ => return Err(JsonErrorKind::InvalidString),
                };
                i += width;
            }
            // RFC 8259: control characters must be escaped (a token goes into a header).
            0..0x20 => return Err(JsonErrorKind::InvalidString),
            _ => {
                ascii = false;
                i += 1;
            }
        }
    }
    if !ascii && core::str::from_utf8(b.get(start..i).ok_or(JsonErrorKind::Eof)?).is_err() {
        return Err(JsonErrorKind::InvalidString);
    }
    Ok((start, i - start, escaped))
}

/// The number starting at `at` (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`): where it
/// ends. A number runs into the next delimiter or the end of the text; `01` or `1x` do not.
pub(super) fn number(b: &[u8], mut at: usize) -> Result<usize, JsonErrorKind> {
    // States: 0 want the integer part, 1 after a leading `0`, 2 in the integer digits, 3
    // after `.`, 4 in the fraction, 5 after `e`, 6 after the exponent's sign, 7 in the
    // exponent. A number may end in states 1, 2, 4 and 7.
    const ENDS: u8 = 0b1001_0110;
    if b.get(at) == Some(&b'-') {
        at += 1;
    }
    let mut state = 0u8;
    loop {
        let can_end = ENDS >> state & 1 == 1;
        let Some(&c) = b.get(at) else {
            return if can_end {
                Ok(at)
            } else {
                Err(JsonErrorKind::Eof)
            };
        };
        state = match (state, c) {
            (0, b'0') => 1,
            (0 | 2, b'1'..=b'9') | (2, b'0') => 2,
            (1 | 2, b'.') => 3,
            (3 | 4, b'0'..=b'9') => 4,
            (1 | 2 | 4, b'e' | b'E') => 5,
            (5, b'+' | b'-') => 6,
            (5..=7, b'0'..=b'9') => 7,
            (_, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']') if can_end => return Ok(at),
            _ => return Err(JsonErrorKind::InvalidNumber),
        };
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(doc: &str) -> Result<(), JsonErrorKind> {
        check(doc.as_bytes()).map_err(|b| b.kind)
    }

    #[test]
    fn valid_documents_pass() {
        for doc in [
            "{}",
            " { } ",
            r#"{"a":1,"b":-0.5e+3,"c":[true,false,null,{}],"d":"x\u00e9\n\"","e":{"f":[]}}"#,
            r#"{"a":"é😀","b":0,"c":1E5,"d":-0}"#,
        ] {
            assert_eq!(kind(doc), Ok(()), "{doc}");
        }
    }

    #[test]
    fn what_serde_json_core_skips_is_refused() {
        use JsonErrorKind::*;
        for (doc, want) in [
            (r#"{"x":tru e}"#, Syntax),
            (r#"{"x":NaN}"#, Syntax),
            (r#"{"x":01}"#, InvalidNumber),
            (r#"{"x":+1}"#, Syntax),
            (r#"{"x":1.}"#, InvalidNumber),
            (r#"{"x":1e}"#, InvalidNumber),
            (r#"{"x":-}"#, InvalidNumber),
            (r#"{"x":12x}"#, InvalidNumber),
            ("{\"x\":\"a\u{1}b\"}", InvalidString),
            ("{\"x\":\"a\tb\"}", InvalidString),
            (r#"{"x":"\q"}"#, InvalidString),
            (r#"{"x":"\u12G4"}"#, InvalidString),
            (r#"{"x":1,}"#, Syntax),
            (r#"{"x" 1}"#, Syntax),
            (r#"{"x":[1,]}"#, Syntax),
            (r#"{"x":[1 2]}"#, Syntax),
            (r#"{x:1}"#, Syntax),
            (r#"{"x":1}}"#, TrailingCharacters),
            (r#"{"x":1} x"#, TrailingCharacters),
            (r#"[1]"#, InvalidType),
            ("", Eof),
            (r#"{"x":"ab"#, Eof),
            (r#"{"x":tr"#, Eof),
            (r#"{"x":1"#, Eof),
            (r#"{"x":[1,"#, Eof),
        ] {
            assert_eq!(kind(doc), Err(want), "{doc}");
        }
        let raw_ff = b"{\"x\":\"\xff\"}";
        assert_eq!(check(raw_ff).map_err(|b| b.kind), Err(InvalidString));
        assert_eq!(check(b"{\"x\":\xff}").map_err(|b| b.kind), Err(Syntax));
    }

    #[test]
    fn the_member_is_named() {
        let doc = br#"{"a":"ok","b":[1,{"c":tru e}]}"#;
        let broken = check(doc).unwrap_err();
        assert_eq!(broken.kind, JsonErrorKind::Syntax);
        assert_eq!(broken.key, Some((11, 1)));
    }

    #[test]
    fn depth_is_limited() {
        let ok = std::format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(kind(&ok), Ok(()));
        let deep = std::format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(kind(&deep), Err(JsonErrorKind::TooDeep));
    }

    /// The grammar written out the long way, with its own error rules: the reference the
    /// state machine in `number` is held to.
    fn number_reference(b: &[u8], mut at: usize) -> Result<usize, JsonErrorKind> {
        let digits = |at: &mut usize| {
            let from = *at;
            while b.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let need_digits = |at: &mut usize| match b.get(*at) {
            None => Err(JsonErrorKind::Eof),
            Some(_) if digits(at) == 0 => Err(JsonErrorKind::InvalidNumber),
            Some(_) => Ok(()),
        };
        if b.get(at) == Some(&b'-') {
            at += 1;
        }
        match b.get(at) {
            None => return Err(JsonErrorKind::Eof),
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                digits(&mut at);
            }
            Some(_) => return Err(JsonErrorKind::InvalidNumber),
        }
        if b.get(at) == Some(&b'.') {
            at += 1;
            need_digits(&mut at)?;
        }
        if let Some(b'e' | b'E') = b.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = b.get(at) {
                at += 1;
            }
            need_digits(&mut at)?;
        }
        match b.get(at) {
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']') => Ok(at),
            Some(_) => Err(JsonErrorKind::InvalidNumber),
        }
    }

    #[test]
    fn numbers_follow_the_grammar_exactly() {
        let alphabet = b"-+019.eE x}";
        let mut text = std::vec::Vec::new();
        let mut count = 0;
        // Every text of up to six bytes over the alphabet, after a `-` or a digit as the
        // walk calls it.
        for len in 1..=6u32 {
            for mut n in 0..alphabet.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                if !matches!(text[0], b'-' | b'0'..=b'9') {
                    continue;
                }
                assert_eq!(
                    number(&text, 0),
                    number_reference(&text, 0),
                    "{:?}",
                    core::str::from_utf8(&text)
                );
                count += 1;
            }
        }
        assert!(count > 100_000);
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let doc = br#"{"a":[1,-2.5e-3,true,{"b":"\u00e9\"x"}],"c":null}"#;
        for n in 0..doc.len() {
            let _ = check(&doc[..n]);
        }
    }
}
