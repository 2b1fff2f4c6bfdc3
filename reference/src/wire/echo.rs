//! The echo service's one rule beyond "send the bytes back": the UNP
//! `tcpserv08` sum reply.
//!
//! `str_echo08` reads a line, `sscanf(line, "%ld%ld", &a, &b)`, and answers
//! `"%ld\n"` of `a + b`, or `"input error\n"` when the line does not start
//! with two integers. [`sum_reply`] is that rule, including `sscanf`'s
//! leniency (leading blanks, a sign, text after the second number ignored).

/// The reply a line that does not start with two integers gets.
pub const INPUT_ERROR: &[u8] = b"input error\n";

/// The `tcpserv08` reply to one line (with or without its `\n`).
///
/// Arithmetic is on `i64` (C `long` on LP64), wrapping on overflow as x86
/// does; a number too large for `i64` saturates as `strtol` does.
pub fn sum_reply(line: &[u8]) -> Vec<u8> {
    let mut rest = line;
    let Some(a) = scan_long(&mut rest) else {
        return INPUT_ERROR.to_vec();
    };
    let Some(b) = scan_long(&mut rest) else {
        return INPUT_ERROR.to_vec();
    };
    format!("{}\n", a.wrapping_add(b)).into_bytes()
}

/// One `%ld` conversion: skip C white space, an optional sign, at least one
/// decimal digit. Advances `input` past what it consumed.
fn scan_long(input: &mut &[u8]) -> Option<i64> {
    let mut at = 0;
    while at < input.len() && matches!(input[at], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
    {
        at += 1;
    }
    let negative = match input.get(at) {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let digits_start = at;
    let mut magnitude: i128 = 0;
    while let Some(d) = input.get(at).filter(|c| c.is_ascii_digit()) {
        magnitude = (magnitude * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
        at += 1;
    }
    if at == digits_start {
        return None;
    }
    *input = &input[at..];
    let value = if negative { -magnitude } else { magnitude };
    Some(value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

#[cfg(test)]
mod tests {
    use super::sum_reply;

    #[test]
    fn handout_examples() {
        assert_eq!(sum_reply(b"2 5\n"), b"7\n");
        assert_eq!(sum_reply(b"4 2\n"), b"6\n");
        assert_eq!(sum_reply(b"11 123\n"), b"134\n");
    }

    #[test]
    fn sscanf_leniency() {
        assert_eq!(sum_reply(b"  -3\t+10 trailing\n"), b"7\n");
        assert_eq!(sum_reply(b"1 2"), b"3\n");
        assert_eq!(
            sum_reply(b"9223372036854775807 1\n"),
            b"-9223372036854775808\n"
        );
        assert_eq!(
            sum_reply(b"99999999999999999999 0\n"),
            b"9223372036854775807\n"
        );
    }

    #[test]
    fn not_two_integers_is_an_input_error() {
        for line in [&b"hello\n"[..], b"1\n", b"1 x\n", b"\n", b"- 1 2\n", b""] {
            assert_eq!(sum_reply(line), b"input error\n", "{line:?}");
        }
    }
}
