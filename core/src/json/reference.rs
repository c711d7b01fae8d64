//! The independent reference the property tests and fuzz targets hold the strict walk to:
//! the same strict check, then serde-json-core reads the members (same values, same errors
//! naming the same member). A test oracle, behind the feature `reference` (off by default):
//! a device or host that reads LWA's answers uses [`parse_token`](super::parse_token) and
//! the others, and links none of serde.
//!
//! ```
//! let mut body = *br#"{"access_token":"Atza|a","token_type":"bearer","expires_in":3600}"#;
//! let mut copy = body;
//! let walk = lwa_core::json::parse_token(&mut body).unwrap();
//! let reference = lwa_core::json::reference::parse_token(&mut copy).unwrap();
//! assert_eq!(walk, reference);
//! ```

use core::cell::Cell;
use core::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::{
    CodePairResponse, JsonError, JsonErrorKind, Kind, Member, OAuthError, Path, Slot,
    TokenResponse, name_is,
};

/// [`parse_token`](super::parse_token) through the reference.
///
/// # Errors
/// As [`parse_token`](super::parse_token).
pub fn parse_token(body: &mut [u8]) -> Result<TokenResponse<'_>, JsonError> {
    super::parse_token_with(body, Path::Reference)
}

/// [`parse_code_pair`](super::parse_code_pair) through the reference.
///
/// # Errors
/// As [`parse_code_pair`](super::parse_code_pair).
pub fn parse_code_pair(body: &mut [u8]) -> Result<CodePairResponse<'_>, JsonError> {
    super::parse_code_pair_with(body, Path::Reference)
}

/// [`parse_oauth_error`](super::parse_oauth_error) through the reference.
///
/// # Errors
/// As [`parse_oauth_error`](super::parse_oauth_error).
pub fn parse_oauth_error(body: &mut [u8]) -> Result<OAuthError<'_>, JsonError> {
    super::parse_oauth_error_with(body, Path::Reference)
}

/// Reads `body` (which passed the strict check) into `slots` with serde-json-core; an error
/// names the member being read and what was wrong.
pub(super) fn read(
    body: &mut [u8],
    members: &[Member],
    slots: &mut [Slot],
) -> Result<(), (Option<&'static str>, JsonErrorKind)> {
    let current = Cell::new(None);
    let found = Cell::new(None);
    let seed = Document {
        members,
        slots,
        base: body.as_ptr() as usize,
        current: &current,
        found: &found,
    };
    let mut de = serde_json_core::de::Deserializer::new(body, None);
    let result = seed.deserialize(&mut de).and_then(|()| de.end().map(drop));
    result.map_err(|e| (current.get(), found.get().unwrap_or_else(|| map_error(e))))
}

fn map_error(e: serde_json_core::de::Error) -> JsonErrorKind {
    use serde_json_core::de::Error as E;
    match e {
        E::EofWhileParsingList
        | E::EofWhileParsingObject
        | E::EofWhileParsingString
        | E::EofWhileParsingNumber
        | E::EofWhileParsingValue => JsonErrorKind::Eof,
        E::InvalidType => JsonErrorKind::InvalidType,
        E::InvalidNumber => JsonErrorKind::InvalidNumber,
        E::InvalidUnicodeCodePoint | E::InvalidEscapeSequence | E::EscapedStringIsTooLong => {
            JsonErrorKind::InvalidString
        }
        E::TrailingCharacters => JsonErrorKind::TrailingCharacters,
        _ => JsonErrorKind::Syntax,
    }
}

/// The seed that reads one JSON object into `slots`.
struct Document<'s> {
    members: &'s [Member],
    slots: &'s mut [Slot],
    /// Address of the body, to turn borrowed strings into byte ranges.
    base: usize,
    /// The member being read, for error messages.
    current: &'s Cell<Option<&'static str>>,
    /// An error found here rather than by serde-json-core.
    found: &'s Cell<Option<JsonErrorKind>>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The member just read, if it was a number: serde-json-core reads `3.6e3` as `3` and
        // then stumbles on `.` where it wants `,`. The document passed the strict check, so
        // that is the only way the next key can fail: blame the number.
        let mut after_number = None;
        loop {
            let key = match map.next_key::<&'de str>() {
                Ok(Some(key)) => key,
                Ok(None) => break,
                Err(e) => {
                    if let Some(name) = after_number {
                        self.current.set(Some(name));
                        self.found.set(Some(JsonErrorKind::InvalidNumber));
                    }
                    return Err(e);
                }
            };
            after_number = None;
            let Some(i) = self
                .members
                .iter()
                .position(|m| name_is(key.as_bytes(), m.name))
            else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let (Some(member), Some(slot)) = (self.members.get(i), self.slots.get_mut(i)) else {
                continue;
            };
            self.current.set(Some(member.name));
            if *slot != Slot::Absent {
                self.found.set(Some(JsonErrorKind::DuplicateMember));
                return Err(de::Error::custom("duplicate member"));
            }
            *slot = match member.kind {
                Kind::Str => match map.next_value::<Option<&'de str>>()? {
                    Some(s) => Slot::Str {
                        start: (s.as_ptr() as usize).wrapping_sub(self.base),
                        len: s.len(),
                        escaped: s.contains('\\'),
                    },
                    None => Slot::Null,
                },
                Kind::U32 => match map.next_value::<Option<u32>>()? {
                    Some(n) => {
                        after_number = Some(member.name);
                        Slot::U32(n)
                    }
                    None => Slot::Null,
                },
            };
            self.current.set(None);
        }
        Ok(())
    }
}
