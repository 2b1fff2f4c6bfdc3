//! Checks on what a program printed: a pattern appears in time (`expect`),
//! and the whole output is as expected (`output`).

use socklab_reference::transcript::escape_bytes;
use socklab_scenario::Stream;

use super::difference::{ADDED_TO_LINES_HINT, added_to_every_line, describe_difference};
use super::{Judgement, escaped_or_nothing, tail};
use crate::facts::{Expired, OutputFact, PrintedFact, PrintedOutcome};

/// What an `expect` step looks for, with its placeholders filled in.
pub enum Needle {
    Text(Vec<u8>),
    Regex(regex::bytes::Regex),
}

impl Needle {
    /// "output containing hello\n", "output matching /^\d+$/".
    pub fn describe(&self) -> String {
        match self {
            Needle::Text(text) => format!("output containing {}", escape_bytes(text)),
            Needle::Regex(re) => format!("output matching /{}/", re.as_str()),
        }
    }
}

/// `expect`: the program printed the pattern before its output ended and
/// before the deadline.
pub fn printed(needle: &Needle, fact: &PrintedFact) -> Judgement {
    let program = &fact.program;
    let seen = &fact.seen;
    let failed = match fact.outcome {
        PrintedOutcome::Found { end } => {
            let printed = &seen[..end.min(seen.len())];
            return Judgement::pass(format!(
                "{} printed {}",
                program.label,
                tail(&escape_bytes(printed), 200)
            ))
            .observed(tail(&escape_bytes(seen), 400))
            .about(program);
        }
        PrintedOutcome::Closed => Judgement::fail(format!(
            "{} closed its output without printing the expected text ({})",
            program.label,
            program.state()
        )),
        PrintedOutcome::Expired(Expired::Deadline) => Judgement::fail(format!(
            "{} did not print the expected text in time; it {}",
            program.label,
            program.state()
        )),
        PrintedOutcome::Expired(Expired::Settled) => Judgement::fail(format!(
            "{} did not print the expected text, and nothing could make it any more; it {}",
            program.label,
            program.state()
        )),
    };
    failed
        .expected(needle.describe())
        .observed(escaped_or_nothing(seen))
        .about(program)
}

/// What an `output` step expects of the whole output, placeholders filled in.
pub enum OutputExpectation {
    Equals(String),
    Contains(String),
    NotContains(String),
    Regex(regex::bytes::Regex),
    /// The bytes of the named fixture.
    Fixture {
        name: String,
        bytes: Vec<u8>,
    },
}

impl OutputExpectation {
    fn describe(&self) -> String {
        match self {
            OutputExpectation::Equals(want) => format!("exactly {}", escape_bytes(want.as_bytes())),
            OutputExpectation::Contains(want) => {
                format!("output containing {}", escape_bytes(want.as_bytes()))
            }
            OutputExpectation::NotContains(want) => {
                format!("output without {}", escape_bytes(want.as_bytes()))
            }
            OutputExpectation::Regex(re) => format!("output matching /{}/", re.as_str()),
            OutputExpectation::Fixture { name, bytes } => {
                format!("the {} bytes of fixture `{name}`", bytes.len())
            }
        }
    }

    fn holds(&self, data: &[u8]) -> bool {
        match self {
            OutputExpectation::Equals(want) => data == want.as_bytes(),
            OutputExpectation::Contains(want) => contains(data, want.as_bytes()),
            OutputExpectation::NotContains(want) => !contains(data, want.as_bytes()),
            OutputExpectation::Regex(re) => re.is_match(data),
            OutputExpectation::Fixture { bytes, .. } => data == bytes.as_slice(),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

pub fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

/// `output`: the program's output (one stream, or either for `stream:
/// any`) is as expected; `not_contains` must hold for every stream looked at.
pub fn output(expectation: &OutputExpectation, fact: &OutputFact) -> Judgement {
    let program = &fact.program;
    let holds = if matches!(expectation, OutputExpectation::NotContains(_)) {
        fact.streams.iter().all(|s| expectation.holds(&s.data))
    } else {
        fact.streams.iter().any(|s| expectation.holds(&s.data))
    };
    if holds {
        return Judgement::pass("output as expected").about(program);
    }
    let truncated: String = fact
        .streams
        .iter()
        .filter(|s| s.dropped > 0)
        .map(|s| {
            let which = if fact.any_stream {
                format!("{} ", stream_name(s.stream))
            } else {
                String::new()
            };
            format!(
                " ({which}output truncated after {} bytes; {} more dropped)",
                s.data.len(),
                s.dropped
            )
        })
        .collect();
    if let (OutputExpectation::Fixture { name, bytes }, [only]) =
        (expectation, fact.streams.as_slice())
    {
        let added = added_to_every_line(bytes, &only.data);
        return Judgement::fail(format!(
            "{}'s output differs from fixture `{name}`{truncated}",
            program.label
        ))
        .expected(expectation.describe())
        .observed(describe_difference(bytes, &only.data))
        .about(program)
        .hint_if(added.map(|_| ADDED_TO_LINES_HINT.to_string()));
    }
    // A program that prints every expected line with something added.
    let added = match (expectation, fact.streams.as_slice()) {
        (OutputExpectation::Equals(want), [only]) => {
            added_to_every_line(want.as_bytes(), &only.data)
        }
        _ => None,
    };
    let seen = |data: &[u8]| {
        let seen = escape_bytes(data);
        if seen.is_empty() {
            "(nothing)".to_string()
        } else {
            tail(&seen, 800)
        }
    };
    let observed = match fact.streams.as_slice() {
        [only] => seen(&only.data),
        several => several
            .iter()
            .map(|s| format!("{}: {}", stream_name(s.stream), seen(&s.data)))
            .collect::<Vec<_>>()
            .join("; "),
    };
    let where_ = if fact.any_stream {
        "output (stdout and stderr) is"
    } else {
        "output is"
    };
    Judgement::fail(format!(
        "{}'s {where_} not as expected{}{truncated}",
        program.label,
        added
            .as_ref()
            .map(|a| format!(": {}", a.describe()))
            .unwrap_or_default()
    ))
    .expected(expectation.describe())
    .observed(observed)
    .about(program)
    .hint_if(added.map(|_| ADDED_TO_LINES_HINT.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ProgramFact, ProgramOrigin, StreamOutput};

    fn client() -> ProgramFact {
        ProgramFact {
            name: "cli".into(),
            label: "LotteryClient (submission)".into(),
            origin: ProgramOrigin::Submission,
            exit: None,
            details: None,
        }
    }

    #[test]
    fn a_found_pattern_shows_what_was_printed_up_to_it() {
        let fact = PrintedFact {
            program: client(),
            seen: b"Enter command: New number\n".to_vec(),
            outcome: PrintedOutcome::Found { end: 14 },
        };
        let j = printed(&Needle::Text(b"command:".to_vec()), &fact);
        assert!(j.passed());
        assert_eq!(
            j.message,
            "LotteryClient (submission) printed Enter command:"
        );
        assert_eq!(j.observed.as_deref(), Some("Enter command: New number\\n"));
    }

    #[test]
    fn a_missing_pattern_says_how_the_wait_ended_and_what_came() {
        let fact = PrintedFact {
            program: client(),
            seen: Vec::new(),
            outcome: PrintedOutcome::Expired(Expired::Deadline),
        };
        let needle = Needle::Regex(regex::bytes::Regex::new(r"\d+").unwrap());
        let j = printed(&needle, &fact);
        assert_eq!(
            j.message,
            "LotteryClient (submission) did not print the expected text in time; it is still running"
        );
        assert_eq!(j.expected.as_deref(), Some(r"output matching /\d+/"));
        assert_eq!(j.observed.as_deref(), Some("(nothing)"));
        let closed = printed(
            &needle,
            &PrintedFact {
                outcome: PrintedOutcome::Closed,
                seen: b"bye".to_vec(),
                ..fact
            },
        );
        assert!(
            closed
                .message
                .contains("closed its output without printing")
        );
        assert_eq!(closed.observed.as_deref(), Some("bye"));
    }

    fn out(streams: Vec<StreamOutput>, any_stream: bool) -> OutputFact {
        OutputFact {
            program: client(),
            streams,
            any_stream,
        }
    }

    fn stream(stream: Stream, data: &[u8], dropped: u64) -> StreamOutput {
        StreamOutput {
            stream,
            data: data.to_vec(),
            dropped,
        }
    }

    #[test]
    fn output_checks_name_the_streams_and_the_truncation() {
        let fact = out(
            vec![
                stream(Stream::Stdout, b"", 0),
                stream(Stream::Stderr, b"usage", 10),
            ],
            true,
        );
        let j = output(&OutputExpectation::Contains("Usage".into()), &fact);
        assert_eq!(
            j.message,
            "LotteryClient (submission)'s output (stdout and stderr) is not as expected (stderr output truncated after 5 bytes; 10 more dropped)"
        );
        assert_eq!(
            j.observed.as_deref(),
            Some("stdout: (nothing); stderr: usage")
        );
        assert!(output(&OutputExpectation::Contains("usa".into()), &fact).passed());
        // not_contains holds only when no stream has the text.
        assert!(!output(&OutputExpectation::NotContains("usa".into()), &fact).passed());
        assert!(output(&OutputExpectation::NotContains("zzz".into()), &fact).passed());
    }

    #[test]
    fn a_fixture_output_is_compared_byte_for_byte() {
        let fact = out(vec![stream(Stream::Stdout, b"abd", 0)], false);
        let want = OutputExpectation::Fixture {
            name: "three".into(),
            bytes: b"abc".to_vec(),
        };
        let j = output(&want, &fact);
        assert_eq!(
            j.message,
            "LotteryClient (submission)'s output differs from fixture `three`"
        );
        assert_eq!(
            j.expected.as_deref(),
            Some("the 3 bytes of fixture `three`")
        );
        assert!(j.observed.unwrap().contains("first difference at offset 2"));
        assert_eq!(j.hint, None);
    }

    /// A program that prints every expected line with the same text in
    /// front is told so, with the hint for it, for a whole-output check
    /// and a fixture; another difference gets neither.
    #[test]
    fn text_added_to_every_line_is_named_with_its_hint() {
        let printed = b"Echo: one\nEcho: two\n";
        let fact = out(vec![stream(Stream::Stdout, printed, 0)], false);
        let j = output(&OutputExpectation::Equals("one\ntwo\n".into()), &fact);
        assert_eq!(
            j.message,
            "LotteryClient (submission)'s output is not as expected: every line is right but has \"Echo: \" added in front of it"
        );
        assert_eq!(j.hint.as_deref(), Some(ADDED_TO_LINES_HINT));
        let fixture = OutputExpectation::Fixture {
            name: "lines".into(),
            bytes: b"one\ntwo\n".to_vec(),
        };
        let j = output(&fixture, &fact);
        assert!(
            j.observed
                .as_deref()
                .unwrap()
                .ends_with("every line is right but has \"Echo: \" added in front of it"),
            "{:?}",
            j.observed
        );
        assert_eq!(j.hint.as_deref(), Some(ADDED_TO_LINES_HINT));
        let j = output(&OutputExpectation::Equals("one\nthree\n".into()), &fact);
        assert_eq!(
            j.message,
            "LotteryClient (submission)'s output is not as expected"
        );
        assert_eq!(j.hint, None);
    }
}
