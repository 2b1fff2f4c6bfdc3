//! Checks on the bytes a connection delivered to a socklab peer: exact
//! bytes or a count (`recv: "…"`, `hex`, `bytes`), a pattern (`until`), a
//! whole reply (`message`), everything up to the close (`eof`), and nothing
//! at all for a while (`silence`).

use std::time::Duration;

use socklab_reference::transcript::escape_bytes;

use super::difference::describe_difference;
use super::{Judgement, escaped_or_nothing, hex_bytes, segments, tail};
use crate::facts::{Expired, MessageFact, ReadEnd, Received, SilenceFact, UntilFact};

/// Why a read stopped, in words: "the connection was closed".
pub fn why(end: &ReadEnd) -> String {
    match end {
        ReadEnd::Eof => "the connection was closed".to_string(),
        ReadEnd::Expired(Expired::Deadline) => "nothing more arrived in time".to_string(),
        ReadEnd::Expired(Expired::Settled) => {
            "nothing more arrived, and no program could send any more".to_string()
        }
        ReadEnd::Reset => {
            "the connection was reset by the other side (RST, not a normal close)".to_string()
        }
        ReadEnd::Error(e) => format!("reading failed: {e}"),
        ReadEnd::Data => String::new(),
    }
}

/// What a fixed-size `recv` expects.
pub enum Expected {
    /// These bytes, written as text.
    Text(Vec<u8>),
    /// These bytes, written in hex (and shown in hex).
    Hex(Vec<u8>),
    /// Any bytes, this many.
    Count(usize),
}

impl Expected {
    /// How many bytes the step reads.
    pub fn len(&self) -> usize {
        match self {
            Expected::Text(b) | Expected::Hex(b) => b.len(),
            Expected::Count(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the author wrote in hex are shown in hex too.
    fn show(&self, bytes: &[u8]) -> String {
        match self {
            Expected::Hex(_) if !bytes.is_empty() => {
                format!("{} ({})", hex_bytes(bytes), escape_bytes(bytes))
            }
            _ => escaped_or_nothing(bytes),
        }
    }
}

/// `recv` of exact bytes or a count: enough bytes arrived, and they are
/// the expected ones.
pub fn exact(expected: &Expected, fact: &Received) -> Judgement {
    let n = expected.len();
    let got = &fact.bytes;
    let wanted = match expected {
        Expected::Text(w) | Expected::Hex(w) => expected.show(w),
        Expected::Count(_) => format!("{n} bytes"),
    };
    if got.len() < n {
        return Judgement::fail(format!(
            "received {} of {n} expected bytes: {}",
            got.len(),
            why(&fact.end)
        ))
        .expected(wanted)
        .observed(expected.show(got));
    }
    match expected {
        Expected::Text(w) | Expected::Hex(w) if w != got => {
            Judgement::fail("received different bytes")
                .expected(wanted)
                .observed(expected.show(got))
        }
        _ => Judgement::pass(format!("received {}", tail(&escape_bytes(got), 200))),
    }
}

/// `recv: { until: … }`: bytes matching the pattern arrived.
pub fn until(pattern: &regex::bytes::Regex, fact: &UntilFact) -> Judgement {
    match &fact.matched {
        Some(got) => Judgement::pass(format!("received {}", tail(&escape_bytes(got), 200))),
        None => Judgement::fail(format!("no match: {}", why(&fact.end)))
            .expected(format!("bytes matching /{}/", pattern.as_str()))
            .observed(escaped_or_nothing(&fact.pending)),
    }
}

/// A pattern that must match a whole reply, not a part of it.
pub struct WholeMatch {
    /// The pattern as written (placeholders filled in).
    pub source: String,
    /// `^(?:pattern)$`.
    pub whole: regex::bytes::Regex,
}

impl WholeMatch {
    pub fn new(pattern: &regex::bytes::Regex) -> Result<WholeMatch, regex::Error> {
        Ok(WholeMatch {
            source: pattern.as_str().to_string(),
            whole: regex::bytes::Regex::new(&format!("^(?:{})$", pattern.as_str()))?,
        })
    }
}

/// `recv: { message: … }`: a reply came, and all of it matches.
pub fn message(pattern: &WholeMatch, fact: &MessageFact) -> Judgement {
    if fact.first != ReadEnd::Data {
        return Judgement::fail(format!("no reply: {}", why(&fact.first)))
            .expected(format!("a message matching /{}/", pattern.source))
            .observed("(nothing)");
    }
    if pattern.whole.is_match(&fact.reply) {
        Judgement::pass(format!("received {}", escape_bytes(&fact.reply)))
    } else {
        Judgement::fail("the reply is not the expected message")
            .expected(format!("exactly a message matching /{}/", pattern.source))
            .observed(escape_bytes(&fact.reply))
    }
}

/// What a `recv: { eof: … }` expects before the close.
pub enum BeforeClose {
    /// Anything.
    Anything,
    /// Exactly these bytes.
    Exactly(Vec<u8>),
    /// Bytes the pattern matches as a whole.
    Matching(WholeMatch),
    /// The bytes of the named fixture.
    Fixture { name: String, bytes: Vec<u8> },
    /// File-transfer segments carrying the named fixture.
    Segments { name: String, bytes: Vec<u8> },
}

/// `recv: { eof: … }`: the other side closed the connection, and what came
/// before the close is as expected.
pub fn until_close(expected: &BeforeClose, fact: &Received) -> Judgement {
    let got = &fact.bytes;
    if fact.end != ReadEnd::Eof {
        let mut message = match &fact.end {
            ReadEnd::Expired(_) => format!("the connection was not closed: {}", why(&fact.end)),
            other => why(other),
        };
        if matches!(expected, BeforeClose::Segments { .. })
            && let Some(kind) = super::blame::kind_of(&got[..got.len() / 260 * 260])
        {
            message.push_str(&format!(
                "; {} bytes arrived before that, all {kind}",
                got.len()
            ));
        }
        return Judgement::fail(message)
            .expected("the other side to close the connection")
            .observed(format!(
                "{} bytes before that{}",
                got.len(),
                if got.is_empty() {
                    String::new()
                } else {
                    format!(": {}", tail(&escape_bytes(got), 300))
                }
            ));
    }
    let closed = format!(
        "received {} bytes, then the connection was closed",
        got.len()
    );
    match expected {
        BeforeClose::Anything => Judgement::pass(closed),
        BeforeClose::Exactly(want) if want == got => Judgement::pass(closed),
        BeforeClose::Exactly(want) => Judgement::fail("received different bytes before the close")
            .expected(escape_bytes(want))
            .observed(escaped_or_nothing(got)),
        BeforeClose::Matching(pattern) if pattern.whole.is_match(got) => {
            Judgement::pass(format!("received {}", escape_bytes(got)))
        }
        BeforeClose::Matching(pattern) => {
            Judgement::fail("the data before the close is not as expected")
                .expected(format!("bytes matching /{}/", pattern.source))
                .observed(escaped_or_nothing(got))
        }
        BeforeClose::Fixture { bytes, .. } if bytes == got => Judgement::pass(closed),
        BeforeClose::Fixture { name, bytes } => {
            Judgement::fail(format!("the data differs from fixture `{name}`"))
                .expected(format!("the {} bytes of fixture `{name}`", bytes.len()))
                .observed(describe_difference(bytes, got))
        }
        BeforeClose::Segments { name, bytes } => segments::carry(bytes, got, name),
    }
}

/// `silence`: nothing arrived for the whole time.
pub fn silence(hold: Duration, fact: &SilenceFact) -> Judgement {
    match fact {
        SilenceFact::Quiet(Expired::Deadline) => {
            Judgement::pass(format!("nothing arrived for {hold:?}"))
        }
        SilenceFact::Quiet(Expired::Settled) => Judgement::pass(
            "nothing arrived, and nothing could arrive any more: every program waits for input that only socklab could give",
        ),
        SilenceFact::Broken { arrived, closed } => {
            let what = if arrived.is_empty() && *closed {
                "the connection was closed".to_string()
            } else {
                escape_bytes(arrived)
            };
            Judgement::fail(format!("something arrived within {hold:?}"))
                .expected(format!("no data for {hold:?}"))
                .observed(what)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(bytes: &[u8], end: ReadEnd) -> Received {
        Received {
            bytes: bytes.to_vec(),
            end,
        }
    }

    #[test]
    fn a_short_read_says_how_many_bytes_came_and_why_no_more() {
        let j = exact(
            &Expected::Text(b"second client\n".to_vec()),
            &received(b"", ReadEnd::Expired(Expired::Deadline)),
        );
        assert_eq!(
            j.message,
            "received 0 of 14 expected bytes: nothing more arrived in time"
        );
        assert_eq!(j.expected.as_deref(), Some("second client\\n"));
        assert_eq!(j.observed.as_deref(), Some("(nothing)"));
        let reset = exact(&Expected::Count(4), &received(b"ab", ReadEnd::Reset));
        assert_eq!(
            reset.message,
            "received 2 of 4 expected bytes: the connection was reset by the other side (RST, not a normal close)"
        );
        assert_eq!(reset.expected.as_deref(), Some("4 bytes"));
    }

    #[test]
    fn hex_expectations_are_shown_in_hex() {
        let j = exact(
            &Expected::Hex(vec![2, 0, 0, 0]),
            &received(&[3, 0, 0, 0], ReadEnd::Data),
        );
        assert_eq!(j.message, "received different bytes");
        assert_eq!(j.expected.as_deref(), Some("02 00 00 00 (\\x02\\0\\0\\0)"));
        assert_eq!(j.observed.as_deref(), Some("03 00 00 00 (\\x03\\0\\0\\0)"));
        assert!(exact(&Expected::Count(2), &received(b"ok", ReadEnd::Data)).passed());
    }

    #[test]
    fn a_message_must_match_whole() {
        let pattern = WholeMatch::new(&regex::bytes::Regex::new(r"\d+").unwrap()).unwrap();
        let reply = |bytes: &[u8]| MessageFact {
            first: ReadEnd::Data,
            reply: bytes.to_vec(),
        };
        assert!(message(&pattern, &reply(b"17")).passed());
        let j = message(&pattern, &reply(b"17\0"));
        assert_eq!(j.message, "the reply is not the expected message");
        assert_eq!(
            j.expected.as_deref(),
            Some(r"exactly a message matching /\d+/")
        );
        let none = message(
            &pattern,
            &MessageFact {
                first: ReadEnd::Eof,
                reply: Vec::new(),
            },
        );
        assert_eq!(none.message, "no reply: the connection was closed");
        assert_eq!(none.observed.as_deref(), Some("(nothing)"));
    }

    #[test]
    fn a_connection_left_open_is_not_a_close() {
        let j = until_close(
            &BeforeClose::Anything,
            &received(b"Tue", ReadEnd::Expired(Expired::Deadline)),
        );
        assert_eq!(
            j.message,
            "the connection was not closed: nothing more arrived in time"
        );
        assert_eq!(j.observed.as_deref(), Some("3 bytes before that: Tue"));
        let closed = until_close(&BeforeClose::Anything, &received(b"Tue", ReadEnd::Eof));
        assert_eq!(
            closed.message,
            "received 3 bytes, then the connection was closed"
        );
        let wrong = until_close(
            &BeforeClose::Exactly(b"abc".to_vec()),
            &received(b"abd", ReadEnd::Eof),
        );
        assert_eq!(wrong.message, "received different bytes before the close");
    }

    #[test]
    fn until_shows_what_arrived_without_a_match() {
        let pattern = regex::bytes::Regex::new("END").unwrap();
        let j = until(
            &pattern,
            &UntilFact {
                matched: None,
                pending: b"partial".to_vec(),
                end: ReadEnd::Error("Broken pipe".into()),
            },
        );
        assert_eq!(j.message, "no match: reading failed: Broken pipe");
        assert_eq!(j.observed.as_deref(), Some("partial"));
    }

    #[test]
    fn silence_is_broken_by_bytes_or_a_close() {
        let hold = Duration::from_secs(1);
        assert!(silence(hold, &SilenceFact::Quiet(Expired::Deadline)).passed());
        let proven = silence(hold, &SilenceFact::Quiet(Expired::Settled));
        assert!(proven.passed());
        assert!(
            proven.message.contains("nothing could arrive any more"),
            "{}",
            proven.message
        );
        let closed = silence(
            hold,
            &SilenceFact::Broken {
                arrived: Vec::new(),
                closed: true,
            },
        );
        assert_eq!(closed.message, "something arrived within 1s");
        assert_eq!(
            closed.observed.as_deref(),
            Some("the connection was closed")
        );
    }
}
