//! Observations: what a step saw, before any judgement about points.
//!
//! The runner turns each step into one [`Observation`]; [`crate::check`]
//! turns observations into verdicts. Keeping them apart means the same facts
//! can be scored, observed-only or reported in any format.

use std::time::Duration;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The expected behaviour was seen (or the set-up action worked).
    Ok,
    /// The submission did not behave as expected.
    Failed,
    /// socklab could not carry the step out (not the submission's fault).
    HarnessError,
}

#[derive(Debug, Clone)]
pub struct Observation {
    /// Position in the scenario: `3`, or `5.2` inside a repeat/branch.
    pub step: String,
    pub line: u32,
    pub keyword: &'static str,
    /// What the step is about, for people.
    pub title: String,
    /// Whether the step checks behaviour (vs. set-up like `start`).
    pub is_check: bool,
    pub outcome: Outcome,
    /// One line: what happened.
    pub message: String,
    /// What socklab last sent or typed before this step (escaped).
    pub sent: Option<String>,
    pub expected: Option<String>,
    pub observed: Option<String>,
    pub elapsed: Duration,
}
