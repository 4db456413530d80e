//! Jira's time-tracking durations: "1w 2d 3h 30m", read and written as Jira does with its
//! default working time (8-hour days, 5-day weeks), and kept as seconds.
//!
//! A duration is one or more numbers, each with its unit (`w`, `d`, `h`, `m`), with or
//! without spaces between them ("1h30m"), a number possibly with a fraction ("1.5h"); a bare
//! number is minutes, as in Jira. Units may repeat ("1h 1h" is two hours); the total must be
//! at least a minute and at most [`MAX_SECONDS`].

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 60 * MINUTE;
/// A working day.
pub const DAY: i64 = 8 * HOUR;
/// A working week.
pub const WEEK: i64 = 5 * DAY;
/// The longest duration taken: a hundred working years.
pub const MAX_SECONDS: i64 = 100 * 52 * WEEK;

/// Why a duration does not read.
pub const INVALID: &str =
    "Invalid time duration entered: use a number and a unit, like 3h 30m (w, d, h or m).";

fn unit_seconds(unit: char) -> Option<i64> {
    match unit.to_ascii_lowercase() {
        'w' => Some(WEEK),
        'd' => Some(DAY),
        'h' => Some(HOUR),
        'm' => Some(MINUTE),
        _ => None,
    }
}

/// Seconds in `text`, or why it does not read.
pub fn parse(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 100 {
        return Err(INVALID.into());
    }
    let mut total: f64 = 0.0;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut number = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if number.is_empty() {
            return Err(INVALID.into());
        }
        let value: f64 = number.parse().map_err(|_| INVALID.to_string())?;
        let seconds = match chars.peek().copied() {
            Some(c) if c.is_alphabetic() => {
                chars.next();
                unit_seconds(c).ok_or_else(|| INVALID.to_string())?
            }
            // A bare number is minutes, but only on its own.
            None if !any => MINUTE,
            _ => return Err(INVALID.into()),
        };
        total += value * seconds as f64;
        any = true;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    }
    let seconds = total.round();
    if seconds < MINUTE as f64 {
        return Err("The time spent must be at least a minute.".into());
    }
    if seconds > MAX_SECONDS as f64 {
        return Err(INVALID.into());
    }
    Ok(seconds as i64)
}

/// An estimate in `text`: as [`parse`], but zero ("0m", "0") is an estimate too.
pub fn parse_estimate(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let zero = trimmed
        .trim_end_matches(|c: char| matches!(c.to_ascii_lowercase(), 'w' | 'd' | 'h' | 'm'))
        .trim();
    if !zero.is_empty() && zero.chars().all(|c| c == '0' || c == '.') && zero.contains('0') {
        return Ok(0);
    }
    parse(text)
}

/// `seconds` as Jira writes it: "1w 2d 3h 30m", largest units first, whole minutes ("0m" for
/// none).
pub fn format(seconds: i64) -> String {
    let mut left = seconds.max(0) / MINUTE * MINUTE;
    let mut parts = Vec::new();
    for (unit, size) in [("w", WEEK), ("d", DAY), ("h", HOUR), ("m", MINUTE)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if parts.is_empty() {
        "0m".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_jira_reads_them() {
        for (text, seconds) in [
            ("1w 2d 3h 30m", WEEK + 2 * DAY + 3 * HOUR + 30 * MINUTE),
            ("3h", 3 * HOUR),
            ("1h30m", HOUR + 30 * MINUTE),
            ("1.5h", 90 * MINUTE),
            ("2D 4H", 2 * DAY + 4 * HOUR),
            ("45", 45 * MINUTE),
            (" 1d ", DAY),
            ("1h 1h", 2 * HOUR),
        ] {
            assert_eq!(parse(text), Ok(seconds), "{text}");
        }
        for bad in [
            "",
            "h",
            "3x",
            "3 h 4",
            "-1h",
            "0m",
            "0.1m",
            "1h 30",
            "three hours",
            "1..5h",
            "99999999w",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_estimate_may_be_zero() {
        for zero in ["0", "0m", "0h", " 0d "] {
            assert_eq!(parse_estimate(zero), Ok(0), "{zero}");
        }
        assert_eq!(parse_estimate("2h"), Ok(2 * HOUR));
        assert!(parse_estimate("").is_err());
        assert!(parse_estimate("m").is_err());
        assert!(parse_estimate("0x").is_err());
    }

    #[test]
    fn durations_are_written_with_the_largest_units() {
        assert_eq!(
            format(WEEK + 2 * DAY + 3 * HOUR + 30 * MINUTE),
            "1w 2d 3h 30m"
        );
        assert_eq!(format(9 * HOUR), "1d 1h");
        assert_eq!(format(90 * MINUTE + 59), "1h 30m");
        assert_eq!(format(0), "0m");
        for text in ["1w 2d 3h 30m", "4d", "7h 15m", "2w"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
