//! `assert: VAR` — check the values a named regex group captured: how many,
//! all different, in a range, equal to a text, or `ctime()` times near now.

use crate::model::{Action, AssertSpec};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "assert",
    subject: Subject::Variable,
    summary: "Check captured values of a variable: `count:`, `distinct:`, `range:`, `equals:`, `near_now:`.",
    params: &[
        Param::new("count", ValueKind::Count, "The number of captured values."),
        Param::new(
            "distinct",
            ValueKind::Flag,
            "The values must all be different.",
        ),
        Param::new(
            "range",
            ValueKind::Range,
            "Every value is a number in `[MIN, MAX]`.",
        ),
        Param::new(
            "equals",
            ValueKind::Text,
            "All values, space-separated, must equal this (with placeholders).",
        ),
        Param::new(
            "near_now",
            ValueKind::Duration,
            "Every value is a `ctime()` time (`Tue Sep  5 11:04:47 2017`) within this of the grader's clock, e.g. `5s`.",
        ),
    ],
    role: Role::Check,
    example: "{ assert: n, count: 6, distinct: true, range: [1, 45] }",
    validate,
};

pub fn title(var: &str) -> String {
    format!("captured `{var}` values are right")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let var = step.scope.variable(step.subject_word()?)?;
    let range = match step.range("range") {
        Some(r) if r.value().len() == 2 && r.value()[0] <= r.value()[1] => {
            Some((r.value()[0], r.value()[1]))
        }
        Some(r) => {
            step.scope
                .error(r.loc(), "`range` must be `[MIN, MAX]` with MIN ≤ MAX", None);
            return None;
        }
        None => None,
    };
    let spec = AssertSpec {
        count: step.count("count").map(|c| *c.value()),
        distinct: step.is_set("distinct"),
        range,
        equals: match step.text("equals") {
            Some(t) => Some(step.scope.template(t)?),
            None => None,
        },
        near_now: match step.duration("near_now") {
            Some(d) => Some(step.scope.duration(d)?),
            None => None,
        },
    };
    if spec.count.is_none()
        && !spec.distinct
        && spec.range.is_none()
        && spec.equals.is_none()
        && spec.near_now.is_none()
    {
        return step.one_of(
            "assert",
            &["count", "distinct", "range", "equals", "near_now"],
        );
    }
    Some(Action::Assert { var, spec })
}
