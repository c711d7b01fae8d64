//! Times for people: spans (`47 min`), local dates (`2026-11-30 14:05:09 +01:00`, the time
//! zone from `TZ`, else the system's) and expiries that say both.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix seconds as a local date and time, `2026-11-30 14:05:09 +01:00`.
pub(crate) fn local_time(unix: u64) -> String {
    use chrono::TimeZone as _;
    i64::try_from(unix)
        .ok()
        .and_then(|secs| chrono::Local.timestamp_opt(secs, 0).single())
        .map_or_else(
            || format!("{unix} (Unix time)"),
            |t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        )
}

/// A span of seconds for people: `45 s`, `47 min`, `5 h 3 min`, `3 days`.
pub(crate) fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..172_800 => match secs % 3600 / 60 {
            0 => format!("{} h", secs / 3600),
            min => format!("{} h {min} min", secs / 3600),
        },
        _ => format!("{} days", secs / 86_400),
    }
}

/// Unix seconds as an RFC 3339 date and time in UTC, `2026-11-30T13:05:09Z`, for scripts.
pub(crate) fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map_or_else(String::new, |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
}

/// Why a value given on the command line was refused, in words that never repeat the
/// value (it may be a secret typed into the wrong option): usage errors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid(pub(crate) &'static str);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Invalid {}

/// The longest span [`parse_span`] takes: a day.
pub(crate) const MAX_SPAN: u64 = 86_400;

/// A span as people write it: `90` or `90s` seconds, `10m` or `10min`, `1h`, and sums of
/// them without spaces (`1h30m`); at most a day.
pub(crate) fn parse_span(text: &str) -> Result<std::time::Duration, Invalid> {
    let bad = || Invalid("not a span: write 90s, 10m, 1h or 1h30m (at most 24h)");
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 6 {
            return Err(bad());
        }
        let (number, after) = rest.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "" if after.is_empty() && total == 0 => 1,
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        total = total.saturating_add(n.saturating_mul(scale));
        rest = after;
    }
    if total > MAX_SPAN {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

/// An expiry for people, relative to `now`: `2026-11-30 14:05:09 +01:00 (in 47 min)`, or
/// `... (3 min ago)`.
pub(crate) fn expiry_at(unix: u64, now: u64) -> String {
    if unix > now {
        format!("{} (in {})", local_time(unix), span(unix - now))
    } else {
        format!("{} ({} ago)", local_time(unix), span(now - unix))
    }
}

/// [`expiry_at`] now.
pub(crate) fn expiry(unix: u64) -> String {
    expiry_at(unix, unix_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_round_down_to_the_unit_people_read() {
        for (secs, text) in [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (3599, "59 min"),
            (3600, "1 h"),
            (3660, "1 h 1 min"),
            (172_799, "47 h 59 min"),
            (172_800, "2 days"),
            (u64::MAX, "213503982334601 days"),
        ] {
            assert_eq!(span(secs), text, "{secs}");
        }
    }

    #[test]
    fn spans_are_read_as_people_write_them() {
        for (text, secs) in [
            ("0", 0),
            ("90", 90),
            ("90s", 90),
            ("10m", 600),
            ("10min", 600),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1h30m15s", 5415),
            ("24h", 86_400),
        ] {
            assert_eq!(
                parse_span(text),
                Ok(std::time::Duration::from_secs(secs)),
                "{text}"
            );
        }
        for text in [
            "", "-5m", "1.5h", "10 m", "5d", "m", "24h1s", "10m5", "9999999s",
        ] {
            assert_eq!(
                parse_span(text),
                Err(Invalid(
                    "not a span: write 90s, 10m, 1h or 1h30m (at most 24h)"
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn rfc3339_is_utc_to_the_second() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_507_909), "2025-11-30T13:05:09Z");
        assert_eq!(rfc3339(u64::MAX), "");
    }

    #[test]
    fn expiries_say_when_and_how_far() {
        // The time zone is the process's; the relative part does not depend on it.
        assert!(expiry_at(1_000 + 2_820, 1_000).ends_with(" (in 47 min)"));
        assert!(expiry_at(1_000, 1_000 + 180).ends_with(" (3 min ago)"));
        assert!(expiry_at(1_000, 1_000).ends_with(" (0 s ago)"));
        assert_eq!(local_time(u64::MAX), "18446744073709551615 (Unix time)");
    }
}
