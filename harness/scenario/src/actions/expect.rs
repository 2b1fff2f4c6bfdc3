//! `expect: PROGRAM` — wait for a program's output to show a text or match
//! a regex (whose named groups are captured).

use crate::model::{Action, Pattern};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "expect",
    subject: Subject::Program,
    summary: "Wait for the program's output to show `text:` or match `regex:` (named groups are captured).",
    params: &[
        Param::new(
            "text",
            ValueKind::Text,
            "Wait until the output shows this text.",
        ),
        Param::new(
            "regex",
            ValueKind::Regex,
            "Wait until the output matches this regular expression; named groups `(?P<name>...)` are captured into `{{vars.name}}`.",
        ),
        Param::new("stream", ValueKind::Word, "`stdout` (default) or `stderr`."),
    ],
    role: Role::Check,
    example: r#"{ expect: cli, regex: 'New number generated: (?P<n>[0-9]+)\n' }"#,
    validate,
};

pub fn title(program: &str, pattern: &Pattern) -> String {
    match pattern {
        Pattern::Text(t) => format!("`{program}` prints {:?}", t.source),
        Pattern::Regex(r) => format!("`{program}` prints /{}/", r.template.source),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let program = step.program()?;
    let pattern = match (step.text("text"), step.regex("regex")) {
        (Some(t), None) if t.value().0.is_empty() => {
            step.scope.error(
                t.loc(),
                "`expect` with `text: \"\"` waits for nothing, so it can never be seen arriving",
                Some("give the text the program must print, e.g. `text: \"Full\"`; to check that it printed nothing use `output:` with `text: \"\"`".into()),
            );
            return None;
        }
        (Some(t), None) => Pattern::Text(step.scope.template(t)?),
        (None, Some(re)) => Pattern::Regex(step.scope.regex(re)?),
        _ => return step.one_of("expect", &["text", "regex"]),
    };
    Some(Action::Expect {
        program,
        stream: step.scope.stream(step.word("stream"))?,
        pattern,
    })
}
