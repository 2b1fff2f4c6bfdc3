//! `repeat: N` — run inner steps N times; every round is checked and
//! reported, so the rounds of nested repeats are capped together.

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

/// Most rounds a step may run, `repeat`s inside `repeat`s multiplied:
/// every round is kept, checked and scored, so this bounds the memory.
pub const MAX_REPEAT_ROUNDS: u64 = 10_000;

pub static DEFINITION: Definition = Definition {
    keyword: "repeat",
    subject: Subject::Rounds,
    summary: "Run `steps:` this many times.",
    params: &[Param::new(
        "steps",
        ValueKind::Steps,
        "The steps to repeat.",
    )],
    role: Role::Control,
    example: "{ repeat: 6, steps: [ { send: c, int32: 0 }, { recv: c, until: '\\n' } ] }",
    validate,
};

pub fn title(times: u32) -> String {
    format!("repeat {times} times")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let repeat = step.subject_count()?;
    let times = *repeat.value();
    let rounds = step.rounds().saturating_mul(u64::from(times));
    if times == 0 {
        step.scope.error(
            repeat.loc(),
            "`repeat: 0` runs its steps never",
            Some("write how many times to run the steps, 1 or more (or remove the step)".into()),
        );
        return None;
    }
    if rounds > MAX_REPEAT_ROUNDS {
        let nested = if step.rounds() > 1 {
            format!(
                " (inside repeats of {} rounds, {rounds} in all)",
                step.rounds()
            )
        } else {
            String::new()
        };
        step.scope.error(
            repeat.loc(),
            format!("`repeat: {times}` is too many rounds{nested}; at most {MAX_REPEAT_ROUNDS}"),
            Some("every round is checked and reported; repeat fewer times, or send more data per round (e.g. a larger fixture)".into()),
        );
        return None;
    }
    let Some(inner) = step.steps("steps") else {
        return step.one_of("repeat", &["steps"]);
    };
    if inner.value().is_empty() {
        step.scope.error(
            repeat.loc(),
            "`repeat` has no steps to repeat",
            Some("list the steps under `steps:`, e.g. `steps: [ { send: c, int32: 0 } ]`".into()),
        );
        return None;
    }
    Some(Action::Repeat {
        times,
        steps: step.inner_steps(inner.value(), rounds),
    })
}
