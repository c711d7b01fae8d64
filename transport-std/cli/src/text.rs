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
    fn expiries_say_when_and_how_far() {
        // The time zone is the process's; the relative part does not depend on it.
        assert!(expiry_at(1_000 + 2_820, 1_000).ends_with(" (in 47 min)"));
        assert!(expiry_at(1_000, 1_000 + 180).ends_with(" (3 min ago)"));
        assert!(expiry_at(1_000, 1_000).ends_with(" (0 s ago)"));
        assert_eq!(local_time(u64::MAX), "18446744073709551615 (Unix time)");
    }
}
