//! A judgement: what a check (or a set-up step) decided about one step,
//! with the texts a student reads.
//!
//! Checks build judgements from facts; the runner adds where and when the
//! step ran to make an [`Observation`](super::Observation).

use socklab_reference::transcript::escape_bytes;

use super::Outcome;
use crate::facts::ProgramFact;

/// The decision on one step and the words that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub outcome: Outcome,
    /// One line: what happened.
    pub message: String,
    /// What was expected, when the step expected something.
    pub expected: Option<String>,
    /// What was seen instead (escaped bytes, a program's state).
    pub observed: Option<String>,
    /// The program whose behaviour was judged, when the step is about one.
    pub program: Option<ProgramFact>,
    /// A hint from the facts, in place of the step's own (which was
    /// written for the step's program, not for the one found at fault, or
    /// does not know the cause the facts show: a SIGPIPE, a busy loop, an
    /// RST's cause, a packet check).
    pub hint: Option<String>,
}

impl Judgement {
    /// The step did what it should.
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Outcome::Ok, message)
    }

    /// The submission did not behave as expected.
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Outcome::Failed, message)
    }

    /// socklab could not carry the step out.
    pub fn harness(message: impl Into<String>) -> Self {
        Self::new(Outcome::HarnessError, message)
    }

    /// The check cannot be carried out here, for this reason (no capture
    /// without a network namespace): it weighs nothing, fails nothing.
    pub fn skipped(message: impl Into<String>) -> Self {
        Self::new(Outcome::Skipped, message)
    }

    fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Judgement {
            outcome,
            message: message.into(),
            expected: None,
            observed: None,
            program: None,
            hint: None,
        }
    }

    pub fn expected(mut self, text: impl Into<String>) -> Self {
        self.expected = Some(text.into());
        self
    }

    pub fn observed(mut self, text: impl Into<String>) -> Self {
        self.observed = Some(text.into());
        self
    }

    /// A hint the facts call for, shown instead of the step's.
    pub fn hint(mut self, text: impl Into<String>) -> Self {
        self.hint = Some(text.into());
        self
    }

    /// The check's own hint from the facts, when it has one (else the
    /// step's is shown).
    pub fn hint_if(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// Names the program the judgement is about.
    pub fn about(mut self, program: &ProgramFact) -> Self {
        self.program = Some(program.clone());
        self
    }

    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// Keeps the last `n` characters of a text, marking the cut.
pub fn tail(text: &str, n: usize) -> String {
    let count = text.chars().count();
    if count <= n {
        return text.to_string();
    }
    let kept: String = text.chars().skip(count - n).collect();
    format!("…{kept}")
}

/// Bytes escaped for a report (their last 600 characters), or `(nothing)`.
pub fn escaped_or_nothing(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "(nothing)".to_string()
    } else {
        tail(&escape_bytes(bytes), 600)
    }
}

/// `02 00 00 00`.
pub fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_end_and_mark_the_cut() {
        assert_eq!(tail("abc", 3), "abc");
        assert_eq!(tail("abcdef", 3), "…def");
        assert_eq!(escaped_or_nothing(b""), "(nothing)");
        assert_eq!(escaped_or_nothing(b"a\n"), "a\\n");
        assert_eq!(hex_bytes(&[2, 0, 255]), "02 00 ff");
    }
}
