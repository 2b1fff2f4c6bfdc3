//! Observations: one judged step, before any decision about points.
//!
//! The runner turns each step into one [`Observation`] (what the step was,
//! its [`Judgement`](super::Judgement), how long it took);
//! [`verdict`](super::verdict) turns observations into the verdicts of the
//! report. Keeping them apart means the same judgement can be scored,
//! observed only or reported in any format.

use std::time::Duration;

use socklab_scenario::path::StepPath;

use crate::facts::ProgramFact;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The expected behaviour was seen (or the set-up action worked).
    Ok,
    /// The submission did not behave as expected.
    Failed,
    /// socklab could not carry the step out (not the submission's fault).
    HarnessError,
    /// The check cannot be carried out here (said why); it weighs nothing.
    Skipped,
}

/// One step as it ran and was judged.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Where the step ran: `3`, or `5.2.1` inside a repeat or branch;
    /// `None` for what the scenario as a whole showed (a contained fork
    /// bomb, stray files).
    pub step: Option<StepPath>,
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
    /// The program whose behaviour was judged, when the step is about one.
    pub program: Option<ProgramFact>,
    /// A hint from the facts, shown instead of the step's own.
    pub hint: Option<String>,
    /// Judged after the scenario stopped at an earlier failure (a packet
    /// check, on what was captured): reported, never scored.
    pub late: bool,
    pub elapsed: Duration,
}

impl Observation {
    /// The step's path as reports show it (`-` for the scenario as a whole).
    pub fn step_text(&self) -> String {
        self.step
            .as_ref()
            .map_or_else(|| "-".to_string(), StepPath::to_string)
    }
}
