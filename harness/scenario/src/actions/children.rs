//! `children: PROGRAM` — check a program's child processes: how many (or
//! how many hold a TCP connection), and how many zombies at most (a forking
//! server that never waits).

use crate::model::{Action, CountSpec};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "children",
    subject: Subject::Program,
    summary: "Check the program's child processes: `count:`/`min:`/`max:` and `zombies:` (at most), waiting up to `within:`.",
    params: &[
        Param::new("count", ValueKind::Count, "Exactly this many children."),
        Param::new("min", ValueKind::Count, "At least this many children."),
        Param::new("max", ValueKind::Count, "At most this many children."),
        Param::new(
            "zombies",
            ValueKind::Count,
            "At most this many zombie children.",
        ),
        Param::new(
            "connected",
            ValueKind::Flag,
            "`count:`/`min:`/`max:` count only the children that hold a TCP connection (a fork server's child serving its client), not every child.",
        ),
    ],
    role: Role::Check,
    example: "{ children: srv, count: 0, zombies: 0, within: 2s }",
    validate,
};

pub fn title(program: &str, zombies: Option<u32>) -> String {
    match zombies {
        Some(0) => format!("`{program}` leaves no zombie children"),
        _ => format!("`{program}` has the expected child processes"),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let program = step.program()?;
    let number = |key| step.count(key).map(|c| *c.value());
    let count = CountSpec {
        exact: number("count"),
        min: number("min"),
        max: number("max"),
    };
    let zombies = number("zombies");
    if count == CountSpec::default() && zombies.is_none() {
        return step.one_of("children", &["count", "min", "max", "zombies"]);
    }
    Some(Action::Children {
        program,
        count,
        zombies,
        connected: step.is_set("connected"),
    })
}
