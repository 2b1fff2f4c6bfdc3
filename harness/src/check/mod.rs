//! Checks: facts become judgements, judgements become verdicts.
//!
//! The fourth stage (scenario → plan → run → **check** → score → report).
//! Each check is a pure function of the scenario's expectation and a
//! [`fact`](crate::facts) the runner gathered, returning a [`Judgement`]
//! with the texts a student reads; one module per kind of behaviour:
//!
//! | module | judges |
//! |---|---|
//! | [`process`] | `wait_listen`, `exit`, `running`, `children` |
//! | [`printed`] | `expect`, `output` |
//! | [`bytes`] | `recv`, `silence` |
//! | [`segments`] | file-transfer segments before a close |
//! | [`connection`] | `connect`, `accept` |
//! | [`file`] | `file` |
//! | [`values`] | `assert` on captured values |
//! | [`sandbox`] | what the sandbox saw (fork bombs, memory kills, stray files) |
//!
//! Then a step that checks behaviour becomes a [`CheckReport`] with its
//! status, what was expected and seen, and the author's hint; a set-up step
//! becomes one only when it failed (so a student sees why the rest did not
//! run). Observe-only steps are reported as observed, never as failures.

pub mod bytes;
pub mod connection;
pub mod difference;
pub mod file;
mod judgement;
mod observation;
pub mod printed;
pub mod process;
pub mod sandbox;
pub mod segments;
pub mod values;

pub use judgement::{Judgement, escaped_or_nothing, hex_bytes, tail};
pub use observation::{Observation, Outcome};

use socklab_report::{CheckReport, CheckStatus};
use socklab_scenario::{Action, StepMeta};

/// Whether the scenario goes on after this observation.
pub fn continues(observation: &Observation, meta: &StepMeta) -> bool {
    observation.outcome == Outcome::Ok || meta.observe || meta.soft
}

/// The verdict on one observation, if it is worth reporting.
pub fn verdict(observation: &Observation, meta: &StepMeta) -> Option<CheckReport> {
    if !observation.is_check && observation.outcome == Outcome::Ok {
        return None;
    }
    let status = match (observation.outcome, meta.observe) {
        (_, true) => CheckStatus::Observed,
        (Outcome::Ok, false) => CheckStatus::Passed,
        (Outcome::Failed, false) => CheckStatus::Failed,
        (Outcome::HarnessError, false) => CheckStatus::Error,
    };
    let failed = matches!(status, CheckStatus::Failed | CheckStatus::Error);
    Some(CheckReport {
        title: observation.title.clone(),
        step: observation.step_text(),
        line: observation.line,
        status,
        weight: if meta.observe || !observation.is_check {
            0.0
        } else {
            meta.weight
        },
        message: observation.message.clone(),
        sent: if failed {
            observation.sent.clone()
        } else {
            None
        },
        expected: observation.expected.clone(),
        observed: observation.observed.clone(),
        hint: if failed { meta.hint.clone() } else { None },
        duration_secs: observation.elapsed.as_secs_f64(),
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
    }
}

/// A short description of a step, used when the author gave no `title`.
pub fn default_title(action: &Action) -> String {
    use socklab_scenario::{ExitExpect, OutputCheck, Pattern, RecvSpec, SendData, TypeInput};
    match action {
        Action::Start(s) => format!("start `{}` ({})", s.name, s.program),
        Action::WaitListen { program, port } => format!("`{program}` listens on port {port}"),
        Action::Type { program, input } => match input {
            TypeInput::Text(t) => format!("type {:?} into `{program}`", t.source),
            TypeInput::Fixture(f) => format!("type fixture `{f}` into `{program}`"),
            TypeInput::Eof => format!("end `{program}`'s input"),
        },
        Action::Expect {
            program, pattern, ..
        } => match pattern {
            Pattern::Text(t) => format!("`{program}` prints {:?}", t.source),
            Pattern::Regex(r) => format!("`{program}` prints /{}/", r.template.source),
        },
        Action::Exit { program, expect } => match expect {
            ExitExpect::Code(c) => format!("`{program}` exits with code {c}"),
            ExitExpect::Nonzero => format!("`{program}` exits with an error code"),
            ExitExpect::Any => format!("`{program}` exits"),
            ExitExpect::Signal(s) => format!("`{program}` is killed by {s}"),
        },
        Action::Running { program, .. } => format!("`{program}` keeps running"),
        Action::Children {
            program, zombies, ..
        } => match zombies {
            Some(0) => format!("`{program}` leaves no zombie children"),
            _ => format!("`{program}` has the expected child processes"),
        },
        Action::Stop { program, signal } => match signal {
            Some(s) => format!("send {s} to `{program}`"),
            None => format!("stop `{program}`"),
        },
        Action::Output { program, check, .. } => match check {
            OutputCheck::Equals(_) => format!("`{program}`'s output is exactly as expected"),
            OutputCheck::Contains(t) => format!("`{program}`'s output contains {:?}", t.source),
            OutputCheck::NotContains(t) => {
                format!("`{program}`'s output does not contain {:?}", t.source)
            }
            OutputCheck::Regex(r) => {
                format!("`{program}`'s output matches /{}/", r.template.source)
            }
            OutputCheck::Fixture(f) => format!("`{program}`'s output equals fixture `{f}`"),
        },
        Action::Proxy(p) => format!("start proxy `{}`", p.name),
        Action::Connect {
            peer, to, refused, ..
        } => {
            if *refused {
                format!("connecting to {to} is refused")
            } else {
                format!("connect `{peer}` to {to}")
            }
        }
        Action::Listen { peer, port, .. } => format!("`{peer}` listens on {port}"),
        Action::Accept { peer } => format!("a connection arrives at `{peer}`"),
        Action::Send { peer, data } => match data {
            SendData::Text(t) => format!("send {:?} on `{peer}`", t.source),
            SendData::Hex(b) => format!("send {} bytes on `{peer}`", b.len()),
            SendData::Int32 { value, .. } => format!("send int {value} on `{peer}`"),
            SendData::Fixture(f) => format!("send fixture `{f}` on `{peer}`"),
        },
        Action::Recv { peer, spec } => match spec {
            RecvSpec::Exact(t) => format!("`{peer}` receives {:?}", t.source),
            RecvSpec::ExactHex(b) => format!("`{peer}` receives {} exact bytes", b.len()),
            RecvSpec::Bytes(n) => format!("`{peer}` receives {n} bytes"),
            RecvSpec::Until(r) => format!("`{peer}` receives /{}/", r.template.source),
            RecvSpec::Message(r) => format!("`{peer}` receives a reply /{}/", r.template.source),
            RecvSpec::Eof(_) => format!("`{peer}` receives data and the close"),
        },
        Action::Silence { peer, hold } => format!("nothing arrives on `{peer}` for {hold:?}"),
        Action::Shutdown { peer } => format!("half-close `{peer}`"),
        Action::Close { peer } => format!("close `{peer}`"),
        Action::File { path, .. } => format!("file {}", path.source),
        Action::Assert { var, .. } => format!("captured `{var}` values are right"),
        Action::Repeat { times, .. } => format!("repeat {times} times"),
        Action::Concurrently { .. } => "at the same time".to_string(),
    }
}
