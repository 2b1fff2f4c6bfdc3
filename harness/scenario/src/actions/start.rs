//! `start: NAME` — start a program of the submission (or a reference
//! program) under a name later steps use.

use crate::diagnostic::closest;
use crate::model::{Action, Origin, StartSpec, StdinMode};
use crate::raw::{Param, RawStdin, ValueKind};
use crate::spanned::S;
use crate::syntax::is_identifier;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;
use super::scope::Declared;

pub static DEFINITION: Definition = Definition {
    keyword: "start",
    subject: Subject::NewProgram,
    summary: "Start a program under this name (`program:`, `args:`, `from:`, `host:`, `stdin:`, `in_process:`).",
    params: &[
        Param::new(
            "program",
            ValueKind::Word,
            "The program: a name from the lab manifest or a reference program name.",
        ),
        Param::new(
            "from",
            ValueKind::Word,
            "`submission` (default) or `reference`. May be `{{matrix.AXIS}}`.",
        ),
        Param::new(
            "in_process",
            ValueKind::Flag,
            "Run a reference program inside socklab (its bytes are recorded).",
        ),
        Param::new(
            "host",
            ValueKind::Word,
            "The host to run on (default: the first host).",
        ),
        Param::new(
            "args",
            ValueKind::TextList,
            "Command-line arguments (with placeholders).",
        ),
        Param::new(
            "stdin",
            ValueKind::Stdin,
            "`pty` (default, so prompts without newline arrive), `pipe`, `null`, or `{ fixture: NAME }` (the fixture file is the program's stdin).",
        ),
    ],
    role: Role::Drives,
    example: r#"{ start: srv, program: LotteryServer, args: ["{{ports.lottery}}"] }"#,
    validate,
};

pub fn title(spec: &StartSpec) -> String {
    format!("start `{}` ({})", spec.name, spec.program)
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let name = step.subject_word()?;
    if !is_identifier(name.value()) {
        step.scope.error(
            name.loc(),
            format!("program name `{}` is not a simple name", name.value()),
            Some(
                "use letters, digits, `_` and `-`; it is how later steps refer to this program"
                    .into(),
            ),
        );
        return None;
    }
    let Some(program) = step.word("program") else {
        step.scope.error(step.loc(), format!("`start: {}` needs `program:`", name.value()), Some("name a program from the lab manifest (e.g. `LotteryServer`) or a reference program (with `from: reference`)".into()));
        return None;
    };
    let program_name = program;
    let program = step.scope.template_str(program)?;
    let origin = origin(step)?;
    if program.is_literal() && may_run_from_submission(&origin, step.scope.declared) {
        lab_program(step, program_name)?;
    }
    let in_process = step.is_set("in_process");
    if in_process && origin == Origin::Submission {
        step.scope.error(
            step.flag("in_process")?.loc(),
            "only reference programs run in-process",
            Some("add `from: reference`, or remove `in_process`".into()),
        );
        return None;
    }
    let stdin = stdin(step)?;
    let mut args = Vec::new();
    for arg in step.text_list("args").iter().flat_map(|list| list.value()) {
        args.push(step.scope.template(arg)?);
    }
    Some(Action::Start(StartSpec {
        name: name.value().clone(),
        program,
        origin,
        in_process,
        host: step.scope.host(step.word("host"))?,
        args,
        stdin,
    }))
}

/// Whether a `start` with this origin may run the submission's program:
/// `from: submission` (the default), or a `from: {{matrix.AXIS}}` whose
/// axis has the value `submission`.
fn may_run_from_submission(origin: &Origin, declared: &Declared) -> bool {
    match origin {
        Origin::Submission => true,
        Origin::Reference => false,
        Origin::Templated(template) => template.placeholders().any(|(namespace, axis)| {
            namespace == "matrix"
                && declared
                    .matrix
                    .get(axis)
                    .is_some_and(|values| values.iter().any(|v| v == "submission"))
        }),
    }
}

/// A program of the submission must be one the lab manifest names (when
/// the manifest is known): a misspelt name would fail every student.
fn lab_program(step: &mut StepInput, name: &S<String>) -> Option<()> {
    let Some(known) = &step.scope.declared.lab_programs else {
        return Some(());
    };
    if known.contains(name.value()) {
        return Some(());
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let list = if names.is_empty() {
        "the lab manifest names no programs".to_string()
    } else {
        format!("programs in the lab manifest: {}", names.join(", "))
    };
    let help = match closest(name.value(), &names) {
        Some(best) => format!("did you mean `{best}`? {list}"),
        None => format!(
            "{list}; add it under `programs:` in lab.yaml, or write `from: reference` for a reference program"
        ),
    };
    step.scope.error(
        name.loc(),
        format!(
            "`program: {}` is not a program of the lab, so no submission can provide it",
            name.value()
        ),
        Some(help),
    );
    None
}

/// `from:`: the submission's program (default) or the reference one; a
/// placeholder is resolved per matrix combination.
fn origin(step: &mut StepInput) -> Option<Origin> {
    let Some(from) = step.word("from") else {
        return Some(Origin::Submission);
    };
    let template = step.scope.template_str(from)?;
    if !template.is_literal() {
        return Some(Origin::Templated(template));
    }
    match from.value().as_str() {
        "submission" => Some(Origin::Submission),
        "reference" => Some(Origin::Reference),
        other => {
            step.scope.error(
                from.loc(),
                format!("`from: {other}` is not a program origin"),
                Some("write `submission` or `reference`".into()),
            );
            None
        }
    }
}

fn stdin(step: &mut StepInput) -> Option<StdinMode> {
    let Some(stdin) = step.stdin("stdin") else {
        return Some(StdinMode::Pty);
    };
    match stdin.value() {
        RawStdin::Mode(mode) => match mode.as_str() {
            "pty" => Some(StdinMode::Pty),
            "pipe" => Some(StdinMode::Pipe),
            "null" => Some(StdinMode::Null),
            other => {
                step.scope.error(
                    stdin.loc(),
                    format!("`stdin: {other}` is not a stdin mode"),
                    Some("write `pty` (default), `pipe`, `null`, or `{ fixture: NAME }` for a fixture file".into()),
                );
                None
            }
        },
        RawStdin::Fixture(name) => step
            .scope
            .fixture_at(name, stdin.loc())
            .map(StdinMode::Fixture),
    }
}
