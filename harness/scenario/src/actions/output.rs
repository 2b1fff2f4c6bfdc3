//! `output: PROGRAM` — check everything a program printed so far: equal to
//! a text or fixture, containing or not containing a text, matching a regex.

use crate::model::{Action, OutputCheck, OutputStream};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "output",
    subject: Subject::Program,
    summary: "Check everything the program printed so far: `text:` (equal), `contains:`, `not_contains:`, `regex:`, `fixture:`.",
    params: &[
        Param::new(
            "text",
            ValueKind::Text,
            "The output must be exactly this text.",
        ),
        Param::new(
            "contains",
            ValueKind::Text,
            "The output must contain this text.",
        ),
        Param::new(
            "not_contains",
            ValueKind::Text,
            "The output must not contain this text.",
        ),
        Param::new(
            "regex",
            ValueKind::Regex,
            "The output must match this regular expression; named groups `(?P<name>...)` are captured into `{{vars.name}}`.",
        ),
        Param::new(
            "fixture",
            ValueKind::Word,
            "The output must be exactly this fixture's bytes.",
        ),
        Param::new(
            "stream",
            ValueKind::Word,
            "`stdout` (default), `stderr`, or `any` (either; for `not_contains`: neither).",
        ),
    ],
    role: Role::Check,
    example: "{ output: srv, regex: '(?i)usage', stream: any }",
    validate,
};

pub fn title(program: &str, check: &OutputCheck) -> String {
    match check {
        OutputCheck::Equals(_) => format!("`{program}`'s output is exactly as expected"),
        OutputCheck::Contains(t) => format!("`{program}`'s output contains {:?}", t.source),
        OutputCheck::NotContains(t) => {
            format!("`{program}`'s output does not contain {:?}", t.source)
        }
        OutputCheck::Regex(r) => format!("`{program}`'s output matches /{}/", r.template.source),
        OutputCheck::Fixture(f) => format!("`{program}`'s output equals fixture `{f}`"),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let program = step.program()?;
    let check = match (
        step.text("text"),
        step.text("contains"),
        step.text("not_contains"),
        step.regex("regex"),
        step.word("fixture"),
    ) {
        (Some(t), None, None, None, None) => OutputCheck::Equals(step.scope.template(t)?),
        (None, Some(t), None, None, None) => OutputCheck::Contains(step.scope.template(t)?),
        (None, None, Some(t), None, None) => OutputCheck::NotContains(step.scope.template(t)?),
        (None, None, None, Some(re), None) => OutputCheck::Regex(step.scope.regex(re)?),
        (None, None, None, None, Some(f)) => OutputCheck::Fixture(step.scope.fixture(f)?),
        _ => {
            return step.one_of(
                "output",
                &["text", "contains", "not_contains", "regex", "fixture"],
            );
        }
    };
    Some(Action::Output {
        program,
        stream: stream(step)?,
        check,
    })
}

/// `stream:`: one of the program's streams, or `any`.
fn stream(step: &mut StepInput) -> Option<OutputStream> {
    let stream = step.word("stream");
    match stream {
        Some(s) if s.value() == "any" => Some(OutputStream::Any),
        Some(s) if !matches!(s.value().as_str(), "stdout" | "stderr") => {
            step.scope.error(
                s.loc(),
                format!("`stream: {}` is not a stream", s.value()),
                Some("write `stdout` (default), `stderr`, or `any` (either of them)".into()),
            );
            None
        }
        _ => step.scope.stream(stream).map(OutputStream::One),
    }
}
