//! Dates as JQL writes them: absolute dates (`"2024-01-31"`, `"2024/01/31 14:05"`, or
//! milliseconds since the epoch), periods relative to now (`-7d`, `"4w 2d"`), `now()`, and
//! `startOfDay()`/`endOfDay()` with an optional increment. They stay symbolic until a "now" is
//! given, then become instants. Calendar arithmetic is in UTC, the zone every timestamp is
//! stored in; it never overflows or panics, saturating at the ends of time instead.

use time::{Date, Month};

use crate::clock::Timestamp;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// The Julian day number of 1970-01-01, the epoch of [`Timestamp`].
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A date operand before it is fixed against a "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateExpr {
    /// A fixed instant: an absolute date or time, read as UTC, or milliseconds since the epoch.
    At(Timestamp),
    /// `now()`, or a period such as `-7d`: now plus this many milliseconds.
    FromNow { millis: i64 },
    /// `startOfDay(increment)`: midnight starting today (UTC), shifted.
    StartOfDay(Shift),
    /// `endOfDay(increment)`: the last millisecond of today (UTC), shifted.
    EndOfDay(Shift),
}

/// The increment of a day function: whole calendar months (a month from the 31st of January is
/// the last day of February, as Jira's calendar has it), then milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shift {
    pub months: i64,
    pub millis: i64,
}

impl DateExpr {
    pub(super) fn resolve(&self, now: Timestamp) -> Timestamp {
        let now = now.as_millis();
        Timestamp::from_millis(match *self {
            Self::At(instant) => return instant,
            Self::FromNow { millis } => now.saturating_add(millis),
            Self::StartOfDay(shift) => shift.apply(start_of_day(now)),
            Self::EndOfDay(shift) => shift.apply(start_of_day(now).saturating_add(DAY - 1)),
        })
    }
}

impl Shift {
    fn apply(self, millis: i64) -> i64 {
        add_months(millis, self.months).saturating_add(self.millis)
    }
}

/// Reads a date value written as text: a period relative to now, or an absolute date with an
/// optional time of day. Surrounding whitespace is ignored, as Jira ignores it.
pub(super) fn parse_date_text(text: &str) -> Option<DateExpr> {
    let text = text.trim();
    if let Some(millis) = parse_period(text) {
        return Some(DateExpr::FromNow { millis });
    }
    if let Some(millis) = parse_absolute(text) {
        return Some(DateExpr::At(Timestamp::from_millis(millis)));
    }
    // Jira reads a bare number as milliseconds since the epoch, quoted or not.
    text.parse()
        .ok()
        .map(|millis| DateExpr::At(Timestamp::from_millis(millis)))
}

/// Reads the increment of `startOfDay`/`endOfDay`: `(+/-)n(y|M|w|d|h|m)`, the unit defaulting
/// to days. As in Jira, `M` is months and `m` minutes, and the number is a 32-bit integer,
/// which keeps every shift far inside the range of [`Timestamp`].
pub(super) fn parse_increment(text: &str) -> Option<Shift> {
    let (negative, unsigned) = split_sign(text);
    let digits_end = unsigned
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unsigned.len());
    let (digits, unit) = unsigned.split_at_checked(digits_end)?;
    if digits.is_empty() {
        return None;
    }
    let amount = i64::from(digits.parse::<i32>().ok()?);
    let amount = if negative { -amount } else { amount };
    let shift = match unit {
        "y" => Shift {
            months: 12 * amount,
            millis: 0,
        },
        "M" => Shift {
            months: amount,
            millis: 0,
        },
        "w" => Shift::millis(amount * WEEK),
        "" | "d" => Shift::millis(amount * DAY),
        "h" => Shift::millis(amount * HOUR),
        "m" => Shift::millis(amount * MINUTE),
        _ => return None,
    };
    Some(shift)
}

impl Shift {
    fn millis(millis: i64) -> Self {
        Self { months: 0, millis }
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    }
}

/// A period such as `-7d`, `4h`, `"4w 2d"` or `-1w 2d` (the sign applies to the whole period,
/// as in Jira): weeks, days, hours and minutes, in milliseconds. `None` if it is not one, or if
/// it does not fit in a [`Timestamp`]'s range.
fn parse_period(text: &str) -> Option<i64> {
    let (negative, mut rest) = split_sign(text);
    let mut total: i64 = 0;
    let mut has_part = false;
    loop {
        if has_part {
            rest = rest.trim_start();
        }
        if rest.is_empty() {
            break;
        }
        let digits_end = rest.find(|c: char| !c.is_ascii_digit())?;
        let (digits, after) = rest.split_at_checked(digits_end)?;
        let amount: i64 = digits.parse().ok()?;
        let mut after_chars = after.chars();
        let unit = match after_chars.next()? {
            'w' | 'W' => WEEK,
            'd' | 'D' => DAY,
            'h' | 'H' => HOUR,
            // Lower case only: in Jira's increments `M` means months.
            'm' => MINUTE,
            _ => return None,
        };
        total = total.checked_add(amount.checked_mul(unit)?)?;
        rest = after_chars.as_str();
        has_part = true;
    }
    has_part.then_some(if negative { -total } else { total })
}

/// `yyyy-MM-dd`, `yyyy/MM/dd`, either followed by ` HH:mm`, in UTC; month, day, hour and
/// minute may have one digit, as Jira's parser allows.
fn parse_absolute(text: &str) -> Option<i64> {
    let (date, time_of_day) = match text.split_once(char::is_whitespace) {
        Some((date, time_of_day)) => (date, Some(time_of_day.trim_start())),
        None => (text, None),
    };
    let separator = if date.contains('-') { '-' } else { '/' };
    let mut parts = date.split(separator);
    let year = number_of(parts.next()?, 4..=4)?;
    let month = number_of(parts.next()?, 1..=2)?;
    let day = number_of(parts.next()?, 1..=2)?;
    if parts.next().is_some() {
        return None;
    }
    let (hour, minute) = match time_of_day {
        Some(time_of_day) => {
            let (hour, minute) = time_of_day.split_once(':')?;
            (number_of(hour, 1..=2)?, number_of(minute, 1..=2)?)
        }
        None => (0, 0),
    };
    if hour > 23 || minute > 59 {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let days = i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    Some(days * DAY + i64::from(hour) * HOUR + i64::from(minute) * MINUTE)
}

/// A run of ASCII digits whose length is within `digits`.
fn number_of(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u32> {
    if !digits.contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Midnight (UTC) at the start of the day holding `millis`.
fn start_of_day(millis: i64) -> i64 {
    millis.div_euclid(DAY).saturating_mul(DAY)
}

/// `millis` moved by whole calendar months, keeping the time of day and clamping the day of
/// the month. Beyond the calendar's range (years ±9999) it saturates towards the shift.
fn add_months(millis: i64, months: i64) -> i64 {
    if months == 0 {
        return millis;
    }
    let beyond = if months > 0 { i64::MAX } else { i64::MIN };
    let time_of_day = millis.rem_euclid(DAY);
    let shifted = || -> Option<i64> {
        let julian_day = i32::try_from(millis.div_euclid(DAY) + UNIX_EPOCH_JULIAN_DAY).ok()?;
        let date = Date::from_julian_day(julian_day).ok()?;
        let month_index = (i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1)
            .checked_add(months)?;
        let year = i32::try_from(month_index.div_euclid(12)).ok()?;
        let month = Month::try_from(u8::try_from(month_index.rem_euclid(12) + 1).ok()?).ok()?;
        let day = date.day().min(time::util::days_in_month(month, year));
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let days = i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
        Some(days * DAY + time_of_day)
    };
    shifted().unwrap_or(beyond)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-15 10:30:00 UTC, a Friday in a leap year.
    const NOW: Timestamp = Timestamp::from_millis(1_710_498_600_000);

    fn at(text: &str) -> i64 {
        parse_absolute(text).unwrap_or(i64::MIN)
    }

    fn resolved(expr: DateExpr) -> i64 {
        expr.resolve(NOW).as_millis()
    }

    #[test]
    fn epoch_julian_day_is_right() {
        assert_eq!(
            Date::from_julian_day(2_440_588).ok(),
            Some(time::macros::date!(1970 - 01 - 01))
        );
        assert_eq!(at("1970-01-01"), 0);
        assert_eq!(at("2024-03-15 10:30"), NOW.as_millis());
    }

    #[test]
    fn absolute_dates_in_jira_formats() {
        assert_eq!(at("2024/03/15 10:30"), NOW.as_millis());
        assert_eq!(at("2024-3-5"), at("2024-03-05"));
        assert_eq!(
            at("2024-03-15 9:05"),
            at("2024-03-15") + 9 * HOUR + 5 * MINUTE
        );
        assert_eq!(at("2024-02-29"), at("2024-03-01") - DAY);
        assert_eq!(at("1969-12-31 23:59"), -MINUTE);
        for invalid in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "2024-01-31 24:00",
            "2024-01-31 12:60",
            "2024-01-31 12",
            "2024-01-31 12:00:00",
            "2024-01/31",
            "24-01-31",
            "20240-01-31",
            "2024-001-31",
            "2024-01-31T12:00",
            "",
        ] {
            assert_eq!(parse_absolute(invalid), None, "{invalid}");
        }
    }

    #[test]
    fn periods_are_relative_to_now() {
        let from_now = |text| parse_date_text(text).map(resolved);
        assert_eq!(from_now("-7d"), Some(NOW.as_millis() - 7 * DAY));
        assert_eq!(from_now("-2w"), Some(NOW.as_millis() - 14 * DAY));
        assert_eq!(from_now("4h"), Some(NOW.as_millis() + 4 * HOUR));
        assert_eq!(from_now("+30m"), Some(NOW.as_millis() + 30 * MINUTE));
        // The sign covers the whole period.
        assert_eq!(from_now("-1w 2d"), Some(NOW.as_millis() - 9 * DAY));
        assert_eq!(from_now(" 4w2d "), Some(NOW.as_millis() + 30 * DAY));
        assert_eq!(from_now("1h 1h"), Some(NOW.as_millis() + 2 * HOUR));
        for invalid in [
            "-", "d", "-7", "7x", "-7M", "- 7d", "7d -1h", "7d,1h", "1.5h",
        ] {
            assert_eq!(parse_period(invalid), None, "{invalid}");
        }
        assert_eq!(parse_period("99999999999999999999d"), None);
        assert_eq!(
            parse_period("106751991167w"),
            None,
            "overflows milliseconds"
        );
    }

    #[test]
    fn bare_numbers_are_milliseconds() {
        assert_eq!(parse_date_text("1710498600000"), Some(DateExpr::At(NOW)));
        assert_eq!(
            parse_date_text("-7"),
            Some(DateExpr::At(Timestamp::from_millis(-7)))
        );
        assert_eq!(parse_date_text("yesterday"), None);
    }

    #[test]
    fn day_functions_start_from_midnight_utc() {
        let midnight = at("2024-03-15");
        let start = |increment| resolved(DateExpr::StartOfDay(increment));
        let end = |increment| resolved(DateExpr::EndOfDay(increment));
        let by = |text| parse_increment(text).unwrap_or(Shift::millis(i64::MIN));
        assert_eq!(start(Shift::default()), midnight);
        assert_eq!(end(Shift::default()), midnight + DAY - 1);
        assert_eq!(start(by("-1")), at("2024-03-14"));
        assert_eq!(start(by("-1d")), at("2024-03-14"));
        assert_eq!(start(by("+1w")), at("2024-03-22"));
        assert_eq!(start(by("2h")), at("2024-03-15 02:00"));
        assert_eq!(start(by("-15m")), at("2024-03-14 23:45"));
        assert_eq!(start(by("-1M")), at("2024-02-15"));
        assert_eq!(start(by("1y")), at("2025-03-15"));
        assert_eq!(end(by("1")), at("2024-03-17") - 1);
        for invalid in ["", "+", "1x", "1Y", "1 d", " 1", "1.5", "2147483648", "--1"] {
            assert_eq!(parse_increment(invalid), None, "{invalid}");
        }
        assert!(
            parse_increment("-2147483648").is_none(),
            "i32::MIN has no positive twin"
        );
        assert!(parse_increment("2147483647y").is_some());
    }

    #[test]
    fn months_clamp_to_the_end_of_shorter_months() {
        let jan_31 = at("2024-01-31 08:00");
        assert_eq!(add_months(jan_31, 1), at("2024-02-29 08:00"));
        assert_eq!(add_months(jan_31, 13), at("2025-02-28 08:00"));
        assert_eq!(add_months(jan_31, -2), at("2023-11-30 08:00"));
        assert_eq!(
            add_months(at("1969-12-31 23:59"), 1),
            at("1970-01-31 23:59")
        );
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let far = DateExpr::EndOfDay(Shift {
            months: 12 * 2_147_483_647,
            millis: 0,
        });
        assert_eq!(far.resolve(NOW).as_millis(), i64::MAX);
        let early = DateExpr::StartOfDay(Shift {
            months: i64::MIN,
            millis: i64::MIN,
        });
        assert_eq!(early.resolve(NOW).as_millis(), i64::MIN);
        for now in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX] {
            let now = Timestamp::from_millis(now);
            for expr in [
                DateExpr::FromNow { millis: i64::MAX },
                DateExpr::FromNow { millis: i64::MIN },
                DateExpr::StartOfDay(Shift {
                    months: -1,
                    millis: i64::MAX,
                }),
                DateExpr::EndOfDay(Shift {
                    months: i64::MAX,
                    millis: i64::MIN,
                }),
            ] {
                // Only that it answers: these are far outside any real query.
                let _ = expr.resolve(now);
            }
        }
    }
}
