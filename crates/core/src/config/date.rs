//! A calendar date (`2027-01-31`, UTC), for memberships that end. "Today"
//! is never read here: the caller passes it (the clock, or `ROLECALL_TODAY`
//! for reproducible runs).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// Days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

impl Date {
    /// `YYYY-MM-DD`, a real day of the calendar (no `2027-02-30`).
    pub fn parse(text: &str) -> Result<Date, String> {
        let well_formed = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let time = well_formed
            .then(|| humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).ok())
            .flatten()
            .ok_or_else(|| {
                format!("`{text}` is not a date: write it `YYYY-MM-DD`, e.g. `2027-01-31`")
            })?;
        Ok(Date::of(time))
    }

    /// The UTC day of a point in time.
    pub fn of(time: SystemTime) -> Date {
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Date(secs.div_euclid(86_400))
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_to(self, later: Date) -> i64 {
        later.0 - self.0
    }

    /// The day `days` after `self` (before it, when negative).
    pub fn plus_days(self, days: i64) -> Date {
        Date(self.0.saturating_add(days))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = u64::try_from(self.0.max(0) * 86_400).unwrap_or(0);
        let time = UNIX_EPOCH + Duration::from_secs(secs);
        let text = humantime::format_rfc3339_seconds(time).to_string();
        f.write_str(&text[..10])
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_of_the_calendar() {
        let d = Date::parse("2027-01-31").unwrap();
        assert_eq!(d.to_string(), "2027-01-31");
        assert_eq!(d.days_to(Date::parse("2027-02-14").unwrap()), 14);
        assert_eq!(Date::parse("2028-02-29").unwrap().to_string(), "2028-02-29");
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "27-01-31",
            "2027-1-31",
            "2027-01-31T00:00:00Z",
            "tomorrow",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }
}
