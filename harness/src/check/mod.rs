//! Checks: facts become judgements, judgements become verdicts.
//!
//! The fourth stage (scenario → plan → run → **check** → score → report).
//! Each check is a pure function of the scenario's expectation and a
//! [`fact`](crate::facts) the runner gathered, returning a [`Judgement`]
//! with the texts a student reads; one module per kind of behaviour:
//!
//! | module | judges |
//! |---|---|
//! | [`process`] | `wait_listen`, `exit`, `running`, `idle`, `children` |
//! | [`printed`] | `expect`, `output` |
//! | [`bytes`] | `recv`, `silence` |
//! | [`segments`] | file-transfer segments before a close |
//! | [`connection`] | `connect`, `accept` |
//! | [`file`] | `file` |
//! | [`values`] | `assert` on captured values |
//! | [`packets`] | `packets`: a connection's TCP packets, as captured |
//! | [`sandbox`] | what the sandbox saw (fork bombs, memory kills, stray files) |
//! | [`blame`] | which student program a failure comes from, and what it did |
//!
//! Then a step that checks behaviour becomes a [`CheckReport`] with its
//! status, what was expected and seen, and the author's hint; a set-up step
//! becomes one only when it failed (so a student sees why the rest did not
//! run). Observe-only steps are reported as observed, never as failures.

pub mod blame;
pub mod bytes;
pub mod connection;
pub mod difference;
pub mod file;
mod judgement;
mod observation;
pub mod packets;
pub mod printed;
pub mod process;
pub mod sandbox;
pub mod segments;
pub mod values;

pub use judgement::{Judgement, escaped_or_nothing, hex_bytes, tail};
pub use observation::{Observation, Outcome};

use socklab_report::{CheckReport, CheckStatus};
use socklab_scenario::{Action, StepMeta};

/// A check's field as reports show it: whole when short, else its head
/// and tail (a megabyte received is not shown as a megabyte).
fn field(text: &str) -> String {
    use socklab_report::excerpt::{FIELD_HEAD, FIELD_TAIL, excerpt};
    excerpt(text, FIELD_HEAD, FIELD_TAIL)
}

/// Whether the scenario goes on after this observation.
pub fn continues(observation: &Observation, meta: &StepMeta) -> bool {
    matches!(observation.outcome, Outcome::Ok | Outcome::Skipped) || meta.observe || meta.soft
}

/// The verdict on one observation, if it is worth reporting.
pub fn verdict(observation: &Observation, meta: &StepMeta) -> Option<CheckReport> {
    if !observation.is_check && observation.outcome == Outcome::Ok {
        return None;
    }
    let status = match (observation.outcome, meta.observe) {
        (Outcome::Skipped, _) => CheckStatus::Skipped,
        (_, true) => CheckStatus::Observed,
        (Outcome::Ok, false) => CheckStatus::Passed,
        (Outcome::Failed, false) => CheckStatus::Failed,
        (Outcome::HarnessError, false) => CheckStatus::Error,
    };
    let failed = matches!(status, CheckStatus::Failed | CheckStatus::Error);
    // A packet check judged after the scenario stopped says so, and weighs
    // nothing: the scenario already lost the points of what it did not reach.
    // Cut like the other fields: a message quotes what programs did, and a
    // program decides how long that is.
    let message = if observation.late {
        field(&format!(
            "judged on the packets captured until the scenario stopped at an earlier failure: {}",
            observation.message
        ))
    } else {
        field(&observation.message)
    };
    let scored = observation.is_check
        && !meta.observe
        && !observation.late
        && status != CheckStatus::Skipped;
    Some(CheckReport {
        title: observation.title.clone(),
        step: observation.step_text(),
        line: observation.line,
        status,
        weight: if scored { meta.weight } else { 0.0 },
        message,
        sent: if failed {
            observation.sent.as_deref().map(field)
        } else {
            None
        },
        expected: observation.expected.as_deref().map(field),
        observed: observation.observed.as_deref().map(field),
        hint: if failed {
            observation.hint.clone().or_else(|| meta.hint.clone())
        } else {
            None
        },
        duration_secs: observation.elapsed.as_secs_f64(),
        held: (status == CheckStatus::Observed && observation.is_check)
            .then_some(observation.outcome == Outcome::Ok),
    })
}

/// A verdict for a check that never ran because the scenario stopped.
pub fn not_reached(title: String, step: String, line: u32, weight: f64) -> CheckReport {
    CheckReport {
        title,
        step,
        line,
        status: CheckStatus::NotReached,
        weight,
        message: "not reached: an earlier step failed".to_string(),
        sent: None,
        expected: None,
        observed: None,
        hint: None,
        duration_secs: 0.0,
        held: None,
    }
}

/// A short description of a step, used when the author gave no `title`
/// (each action's own, from the scenario crate).
pub fn default_title(action: &Action) -> String {
    action.default_title()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn observation(message: String) -> Observation {
        Observation {
            step: None,
            line: 1,
            keyword: "expect",
            title: "a check".to_string(),
            is_check: true,
            outcome: Outcome::Failed,
            message,
            sent: None,
            expected: None,
            observed: None,
            program: None,
            hint: None,
            late: false,
            elapsed: Duration::ZERO,
        }
    }

    fn meta() -> StepMeta {
        StepMeta {
            title: None,
            hint: None,
            weight: 1.0,
            observe: false,
            soft: false,
            within: Duration::ZERO,
        }
    }

    #[test]
    fn a_long_message_is_cut_to_its_head_and_tail_a_short_one_is_whole() {
        let short = verdict(&observation("cli exited with code 1".into()), &meta()).unwrap();
        assert_eq!(short.message, "cli exited with code 1");
        let long = format!("start {} end", "x".repeat(1_000_000));
        let cut = verdict(&observation(long), &meta()).unwrap();
        assert!(cut.message.len() < 4096, "{} bytes", cut.message.len());
        assert!(cut.message.starts_with("start "), "the head is kept");
        assert!(cut.message.ends_with(" end"), "the tail is kept");
    }
}
