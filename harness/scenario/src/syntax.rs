//! The small value syntaxes of the format: durations, hex bytes, simple
//! names and signal names.
//!
//! Scenario, step and manifest validation all read these the same way, so
//! they live here, below every validator; each returns what it read or a
//! message saying why not, and [`duration`] reports at the value's place.
//!
//! Layer: above [`crate::diagnostic`] and [`crate::spanned`] only.

use std::time::Duration;

use crate::diagnostic::Reporter;
use crate::spanned::S;

/// Signal names accepted by `exit: signal:` and `stop: signal:`.
pub const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGCHLD", "SIGXCPU",
    "SIGXFSZ", "SIGSYS",
];

/// The full name of a signal written as `SIGINT`, `sigint` or `INT`, if it
/// is one of [`SIGNALS`].
pub fn signal_name(written: &str) -> Option<String> {
    let upper = written.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS.contains(&full.as_str()).then_some(full)
}

/// Whether `s` is a simple name: letters, digits, `_` and `-`.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses `"02 00 00 00"` or `"02000000"`.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex `{text}` has an odd number of digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| format!("`{}` in `{text}` is not a hex byte", &digits[i..i + 2]))
        })
        .collect()
}

/// Parses a duration like `500ms` or `2s`, reporting a bad one.
pub fn duration(d: &S<String>, r: &mut Reporter) -> Option<Duration> {
    match humantime::parse_duration(d.value()) {
        Ok(v) => Some(v),
        Err(e) => {
            r.error(
                d.loc(),
                format!("`{}` is not a duration ({e})", d.value()),
                Some("write e.g. `500ms`, `2s`, `1m`".into()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_spaces_and_rejects_odd_or_bad_digits() {
        assert_eq!(parse_hex("02 00 ff"), Ok(vec![2, 0, 255]));
        assert_eq!(parse_hex("0200ff"), Ok(vec![2, 0, 255]));
        assert!(parse_hex("020").unwrap_err().contains("odd number"));
        assert!(parse_hex("0g").unwrap_err().contains("`0g`"));
    }

    #[test]
    fn signals_are_named_with_or_without_sig() {
        assert_eq!(signal_name("int").as_deref(), Some("SIGINT"));
        assert_eq!(signal_name("SIGSEGV").as_deref(), Some("SIGSEGV"));
        assert_eq!(signal_name("SIGFOO"), None);
    }
}
