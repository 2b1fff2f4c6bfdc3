//! `exit: PROGRAM` — wait for a program to exit, and check its exit code or
//! the signal that ended it.

use crate::model::{Action, ExitExpect};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "exit",
    subject: Subject::Program,
    summary: "Wait for the program to exit; check `code:` (a number, `nonzero` or `any`) or `signal:`.",
    params: &[
        Param::new(
            "code",
            ValueKind::Text,
            "Expected exit code: a number (default 0), `nonzero` or `any` (not a signal).",
        ),
        Param::new(
            "signal",
            ValueKind::Word,
            "Expected terminating signal, e.g. `SIGSEGV`.",
        ),
    ],
    role: Role::Check,
    example: "{ exit: cli, code: 0 }",
    validate,
};

pub fn title(program: &str, expect: &ExitExpect) -> String {
    match expect {
        ExitExpect::Code(c) => format!("`{program}` exits with code {c}"),
        ExitExpect::Nonzero => format!("`{program}` exits with an error code"),
        ExitExpect::Any => format!("`{program}` exits"),
        ExitExpect::Signal(s) => format!("`{program}` is killed by {s}"),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let program = step.program()?;
    let expect = match (step.text("code"), step.word("signal")) {
        (Some(code), None) => match code.value().0.as_str() {
            "nonzero" => ExitExpect::Nonzero,
            "any" => ExitExpect::Any,
            text => match text.parse::<i32>() {
                Ok(n) if (0..=255).contains(&n) => ExitExpect::Code(n),
                _ => {
                    step.scope.error(
                        code.loc(),
                        format!("exit code `{text}` is not valid"),
                        Some("write a number 0..255, `nonzero` or `any`".into()),
                    );
                    return None;
                }
            },
        },
        (None, Some(sig)) => ExitExpect::Signal(step.scope.signal(sig)?),
        (None, None) => ExitExpect::Code(0),
        _ => return step.one_of("exit", &["code", "signal"]),
    };
    Some(Action::Exit { program, expect })
}
