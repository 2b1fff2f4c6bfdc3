//! `file: PATH` — check a file a program wrote: its SHA-256 equals a
//! fixture's, or it exists (or not).

use crate::model::{Action, FileCheck};
use crate::raw::{Param, ValueKind};
use crate::template::Template;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "file",
    subject: Subject::Path,
    summary: "Check a file: `matches:` a fixture (SHA-256), or `exists:`.",
    params: &[
        Param::new(
            "matches",
            ValueKind::Word,
            "The fixture whose SHA-256 the file must have.",
        ),
        Param::new("exists", ValueKind::Flag, "Whether the file must exist."),
    ],
    role: Role::Check,
    example: r#"{ file: "{{dirs.cli}}/copy", matches: data }"#,
    validate,
};

pub fn title(path: &Template) -> String {
    format!("file {}", path.source)
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let path = step.scope.template(step.subject_text()?)?;
    let check = match (step.word("matches"), step.flag("exists")) {
        (Some(f), None) => FileCheck::Matches(step.scope.fixture(f)?),
        (None, Some(e)) => FileCheck::Exists(*e.value()),
        _ => return step.one_of("file", &["matches", "exists"]),
    };
    Some(Action::File { path, check })
}
