//! Checks on values captured from a program's output or a peer's bytes
//! (`assert`): how many, all different, numbers in a range, `ctime()`
//! times close to now, equal to a text.
//!
//! Times are parsed with the reference crate's daytime wire type and turned
//! into seconds by the C library (`mktime`, the inverse of the
//! `localtime_r` the daytime server uses).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socklab_reference::wire::daytime::{self, CivilTime};

use super::Judgement;

/// What an `assert` step expects of the values, placeholders filled in.
#[derive(Debug, Clone, Default)]
pub struct ValuesExpectation {
    pub count: Option<u32>,
    pub distinct: bool,
    pub range: Option<(i64, i64)>,
    /// Every value is a `ctime()` time within this of now.
    pub near_now: Option<Duration>,
    /// The values, joined by spaces, are this text.
    pub equals: Option<String>,
}

/// `assert`: the values captured under `var` are as expected; `now` is
/// the grader's clock.
pub fn captured(
    var: &str,
    values: &[String],
    expected: &ValuesExpectation,
    now: SystemTime,
) -> Judgement {
    let shown = format!("{var} = [{}]", values.join(", "));
    let fail = |message: String, wanted: String| {
        Judgement::fail(message)
            .expected(wanted)
            .observed(shown.clone())
    };
    if let Some(n) = expected.count
        && values.len() != n as usize
    {
        return fail(
            format!("{} values captured, expected {n}", values.len()),
            format!("{n} values"),
        );
    }
    if expected.distinct {
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
            return fail(
                format!("`{dup}` appears more than once"),
                "all values different".to_string(),
            );
        }
    }
    if let Some((lo, hi)) = expected.range {
        let outside = values.iter().find(|v| {
            v.trim()
                .parse::<i64>()
                .map_or(true, |n| !(lo..=hi).contains(&n))
        });
        if let Some(v) = outside {
            return fail(
                format!("`{v}` is not a number in {lo}..{hi}"),
                format!("numbers from {lo} to {hi}"),
            );
        }
    }
    if let Some(tolerance) = expected.near_now {
        let now = seconds_since_epoch(now);
        for v in values {
            let line = format!("{}\r\n", v.trim_end_matches(['\r', '\n']));
            let time = match daytime::parse(line.as_bytes()) {
                Ok(time) => time,
                Err(e) => {
                    return fail(
                        format!("`{v}` is not a ctime() time: {e}"),
                        "a time like `Tue Sep  5 11:04:47 2017`".to_string(),
                    );
                }
            };
            let off = local_seconds(&time).map_or(i64::MAX, |t| (t - now).abs());
            if off as f64 > tolerance.as_secs_f64() {
                return fail(
                    format!("`{v}` is {off} s away from the grader's clock"),
                    format!("the current local time, within {tolerance:?}"),
                );
            }
        }
    }
    if let Some(want) = &expected.equals
        && values.join(" ") != *want
    {
        return fail("the values differ".to_string(), want.clone());
    }
    Judgement::pass(shown)
}

fn seconds_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Seconds since 1970 of a local calendar time (`mktime`), if the C
/// library can represent it.
fn local_seconds(time: &CivilTime) -> Option<i64> {
    // SAFETY: `tm` is plain old data; mktime reads and normalises it and
    // is thread-safe in glibc.
    let secs = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = time.year - 1900;
        tm.tm_mon = i32::from(time.month) - 1;
        tm.tm_mday = i32::from(time.day);
        tm.tm_hour = i32::from(time.hour);
        tm.tm_min = i32::from(time.minute);
        tm.tm_sec = i32::from(time.second);
        tm.tm_isdst = -1;
        libc::mktime(&mut tm)
    };
    (secs != -1).then_some(secs as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counts_duplicates_and_ranges_are_judged_in_that_order() {
        let six = ValuesExpectation {
            count: Some(6),
            distinct: true,
            range: Some((1, 49)),
            ..ValuesExpectation::default()
        };
        let now = SystemTime::now();
        let j = captured("n", &values(&["3", "3"]), &six, now);
        assert_eq!(j.message, "2 values captured, expected 6");
        assert_eq!(j.observed.as_deref(), Some("n = [3, 3]"));
        let j = captured("n", &values(&["1", "2", "3", "4", "5", "5"]), &six, now);
        assert_eq!(j.message, "`5` appears more than once");
        let j = captured("n", &values(&["1", "2", "3", "4", "5", "50"]), &six, now);
        assert_eq!(j.message, "`50` is not a number in 1..49");
        assert_eq!(j.expected.as_deref(), Some("numbers from 1 to 49"));
        assert!(captured("n", &values(&["1", "2", "3", "4", "5", "49"]), &six, now).passed());
    }

    #[test]
    fn a_time_is_near_now_on_the_graders_clock() {
        let near = ValuesExpectation {
            near_now: Some(Duration::from_secs(5)),
            ..ValuesExpectation::default()
        };
        let now = SystemTime::now();
        let reply = daytime::format(now);
        let shown = reply.trim_end().to_string();
        assert!(
            captured("t", std::slice::from_ref(&shown), &near, now).passed(),
            "{shown}"
        );
        let later = now + Duration::from_secs(3600);
        let j = captured("t", &[shown], &near, later);
        assert_eq!(
            j.message.split(" is ").nth(1),
            Some("3600 s away from the grader's clock")
        );
        let j = captured("t", &values(&["yesterday"]), &near, now);
        assert!(
            j.message.starts_with("`yesterday` is not a ctime() time: "),
            "{}",
            j.message
        );
        assert_eq!(
            j.expected.as_deref(),
            Some("a time like `Tue Sep  5 11:04:47 2017`")
        );
    }

    #[test]
    fn equal_values_are_compared_joined_by_spaces() {
        let equals = ValuesExpectation {
            equals: Some("7 8".into()),
            ..ValuesExpectation::default()
        };
        let now = SystemTime::now();
        assert!(captured("n", &values(&["7", "8"]), &equals, now).passed());
        let j = captured("n", &values(&["7"]), &equals, now);
        assert_eq!(j.message, "the values differ");
        assert_eq!(j.expected.as_deref(), Some("7 8"));
    }
}
