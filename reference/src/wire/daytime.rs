//! The daytime service's one message: `ctime()` cut to 24 characters plus `\r\n`.
//!
//! UNP's `daytimetcpsrv` sends `snprintf(buff, "%.24s\r\n", ctime(&ticks))`,
//! e.g. `Tue Sep  5 11:04:47 2017\r\n` (26 bytes), in local time. [`format()`]
//! produces exactly that; [`parse`] is the inverse a grader uses to accept
//! any well-formed reply (the time itself cannot be compared byte for byte).

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of a daytime reply: 24 characters of `ctime()` plus `\r\n`.
pub const REPLY_LEN: usize = 26;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down calendar time, the fields `ctime()` prints.
///
/// It exists so that formatting and parsing can be tested without a clock
/// or a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    /// Full year, e.g. 2017.
    pub year: i32,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=60 (a leap second is legal in `struct tm`).
    pub second: u8,
    /// 0 = Sunday ..= 6 = Saturday.
    pub weekday: u8,
}

impl CivilTime {
    /// `time` in the local time zone (`localtime_r`), falling back to UTC if
    /// the C library cannot convert it.
    pub fn local(time: SystemTime) -> CivilTime {
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as libc::time_t,
            Err(e) => -(e.duration().as_secs() as libc::time_t),
        };
        // SAFETY: `tm` is plain old data, fully written by localtime_r /
        // gmtime_r on success; both are thread-safe and only read `secs`.
        unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            if libc::localtime_r(&secs, &mut tm).is_null()
                && libc::gmtime_r(&secs, &mut tm).is_null()
            {
                tm = std::mem::zeroed();
                tm.tm_year = 70;
                tm.tm_mday = 1;
                tm.tm_wday = 4;
            }
            CivilTime {
                year: tm.tm_year + 1900,
                month: (tm.tm_mon + 1) as u8,
                day: tm.tm_mday as u8,
                hour: tm.tm_hour as u8,
                minute: tm.tm_min as u8,
                second: tm.tm_sec as u8,
                weekday: tm.tm_wday as u8,
            }
        }
    }

    /// The 26-byte daytime reply for this time: `ctime()`'s 24 characters and `\r\n`.
    pub fn to_reply(&self) -> String {
        let weekday = WEEKDAYS.get(usize::from(self.weekday)).unwrap_or(&"???");
        let month = MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .unwrap_or(&"???");
        // ctime's format is "%.3s %.3s%3d %.2d:%.2d:%.2d %d\n".
        format!(
            "{weekday} {month}{:3} {:02}:{:02}:{:02} {}\r\n",
            self.day, self.hour, self.minute, self.second, self.year
        )
    }
}

/// The daytime reply for `time` in local time, e.g. `"Tue Sep  5 11:04:47 2017\r\n"`.
pub fn format(time: SystemTime) -> String {
    CivilTime::local(time).to_reply()
}

/// Why a daytime reply is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DaytimeError {
    /// The reply is not 26 bytes long.
    #[error("expected {REPLY_LEN} bytes (24 characters of ctime() and \\r\\n), got {0}")]
    Length(usize),
    /// The last two bytes are not `\r\n`.
    #[error("the reply does not end with \\r\\n")]
    MissingCrLf,
    /// The 24 characters are not `Www Mmm dd hh:mm:ss yyyy`.
    #[error("not in ctime() format (Www Mmm dd hh:mm:ss yyyy): {0}")]
    Malformed(&'static str),
    /// The weekday does not belong to the date.
    #[error("{given} is not the weekday of that date (it was a {actual})")]
    WrongWeekday {
        /// The weekday in the reply.
        given: &'static str,
        /// The weekday of the date in the reply.
        actual: &'static str,
    },
}

/// Parse and validate a complete daytime reply (all 26 bytes).
pub fn parse(reply: &[u8]) -> Result<CivilTime, DaytimeError> {
    if reply.len() != REPLY_LEN {
        return Err(DaytimeError::Length(reply.len()));
    }
    if &reply[24..] != b"\r\n" {
        return Err(DaytimeError::MissingCrLf);
    }
    let text =
        std::str::from_utf8(&reply[..24]).map_err(|_| DaytimeError::Malformed("not ASCII"))?;
    let b = text.as_bytes();
    for (at, want) in [
        (3, b' '),
        (7, b' '),
        (10, b' '),
        (13, b':'),
        (16, b':'),
        (19, b' '),
    ] {
        if b[at] != want {
            return Err(DaytimeError::Malformed(
                "separators are not where ctime() puts them",
            ));
        }
    }
    let weekday = WEEKDAYS
        .iter()
        .position(|w| *w == &text[0..3])
        .ok_or(DaytimeError::Malformed("unknown weekday name"))?;
    let month = MONTHS
        .iter()
        .position(|m| *m == &text[4..7])
        .ok_or(DaytimeError::Malformed("unknown month name"))?;
    let day = number(text[8..10].trim_start(), 1, 31, "day of month")?;
    if text.as_bytes()[8] == b'0' {
        return Err(DaytimeError::Malformed(
            "day of month is zero-padded instead of space-padded",
        ));
    }
    let hour = number(&text[11..13], 0, 23, "hour")?;
    let minute = number(&text[14..16], 0, 59, "minute")?;
    let second = number(&text[17..19], 0, 60, "second")?;
    let year = number(&text[20..24], 1000, 9999, "year")?;
    let time = CivilTime {
        year: year as i32,
        month: month as u8 + 1,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        weekday: weekday as u8,
    };
    if day > days_in_month(time.year, time.month) {
        return Err(DaytimeError::Malformed(
            "the day does not exist in that month",
        ));
    }
    let actual = weekday_of(time.year, time.month, time.day);
    if actual != time.weekday {
        return Err(DaytimeError::WrongWeekday {
            given: WEEKDAYS[weekday],
            actual: WEEKDAYS[usize::from(actual)],
        });
    }
    Ok(time)
}

fn number(digits: &str, min: u32, max: u32, what: &'static str) -> Result<u32, DaytimeError> {
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(DaytimeError::Malformed(what));
    }
    let value: u32 = digits.parse().map_err(|_| DaytimeError::Malformed(what))?;
    if value < min || value > max {
        return Err(DaytimeError::Malformed(what));
    }
    Ok(value)
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day of the week (0 = Sunday) of a Gregorian date (Sakamoto's method).
fn weekday_of(year: i32, month: u8, day: u8) -> u8 {
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    let w = y + y / 4 - y / 100 + y / 400 + T[usize::from(month - 1)] + i32::from(day);
    w.rem_euclid(7) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handout_time() -> CivilTime {
        CivilTime {
            year: 2017,
            month: 9,
            day: 5,
            hour: 11,
            minute: 4,
            second: 47,
            weekday: 2,
        }
    }

    #[test]
    fn formats_like_ctime() {
        assert_eq!(handout_time().to_reply(), "Tue Sep  5 11:04:47 2017\r\n");
        let two_digit_day = CivilTime {
            day: 15,
            weekday: 5,
            ..handout_time()
        };
        assert_eq!(two_digit_day.to_reply(), "Fri Sep 15 11:04:47 2017\r\n");
    }

    #[test]
    fn parse_inverts_format() {
        let reply = handout_time().to_reply();
        assert_eq!(parse(reply.as_bytes()), Ok(handout_time()));
    }

    #[test]
    fn parse_rejects_what_ctime_never_prints() {
        assert_eq!(
            parse(b"Tue Sep  5 11:04:47 2017\n"),
            Err(DaytimeError::Length(25))
        );
        assert_eq!(
            parse(b"Tue Sep  5 11:04:47 2017\n\0"),
            Err(DaytimeError::MissingCrLf)
        );
        assert!(matches!(
            parse(b"Tue Sep 05 11:04:47 2017\r\n"),
            Err(DaytimeError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"Wed Sep  5 11:04:47 2017\r\n"),
            Err(DaytimeError::WrongWeekday { .. })
        ));
        assert!(matches!(
            parse(b"Tue Sep 31 11:04:47 2017\r\n"),
            Err(DaytimeError::Malformed(_))
        ));
    }

    #[test]
    fn the_local_clock_gives_a_valid_reply() {
        let reply = format(SystemTime::now());
        assert_eq!(reply.len(), REPLY_LEN);
        parse(reply.as_bytes()).unwrap();
    }

    #[test]
    fn the_epoch_in_utc_is_a_thursday() {
        assert_eq!(weekday_of(1970, 1, 1), 4);
        assert_eq!(weekday_of(2000, 2, 29), 2);
    }
}
