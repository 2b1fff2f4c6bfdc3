//! The validation of one step: from its raw keys to its action's
//! [`Definition`], its keys checked against that action's parameters (with
//! "did you mean" and the keys it takes), its settings (`title`, `weight`,
//! ...) read, and the action's own validation run.
//!
//! The table of definitions is passed in (see [`crate::actions::TABLE`]),
//! and `repeat` and `concurrently` validate their inner steps through it,
//! so this module knows no action.
//!
//! Layer: above [`super::definition`], [`super::input`] and
//! [`super::scope`]; below the table and scenario validation.

use crate::diagnostic::{Reporter, closest};
use crate::model::{DEFAULT_STEP_DEADLINE, Step, StepMeta};
use crate::raw::{RawStep, RawValue};
use crate::spanned::S;

use super::definition::{Definition, Role, SETTINGS, Table, definition_of};
use super::input::StepInput;
use super::scope::{Declared, Scope};

/// Validates steps that run `rounds` times (the product of the enclosing
/// `repeat`s). Problems go to `reporter`; steps with problems are left out.
pub fn validate_steps(
    table: Table,
    steps: &[S<RawStep>],
    declared: &Declared,
    rounds: u64,
    reporter: &mut Reporter,
) -> Vec<Step> {
    steps
        .iter()
        .filter_map(|s| validate_step(table, s, declared, rounds, reporter))
        .collect()
}

fn validate_step(
    table: Table,
    step: &S<RawStep>,
    declared: &Declared,
    rounds: u64,
    r: &mut Reporter,
) -> Option<Step> {
    let raw = step.value();
    let (definition, subject) = action_of(table, step, r)?;
    if !keys_apply(table, definition, raw, r) {
        return None;
    }
    let meta = settings(definition, raw, r);
    let inner = |steps: &[S<RawStep>], rounds, r: &mut Reporter| {
        validate_steps(table, steps, declared, rounds, r)
    };
    let mut input = StepInput {
        keyword: definition.keyword,
        params: definition.params,
        raw,
        subject,
        loc: step.loc(),
        rounds,
        scope: Scope {
            declared,
            reporter: r,
        },
        inner: &inner,
    };
    let action = (definition.validate)(&mut input)?;
    Some(Step {
        action,
        meta,
        loc: step.loc(),
    })
}

/// The step's one action and its value, or `None` after saying what is wrong.
fn action_of<'a>(
    table: Table,
    step: &'a S<RawStep>,
    r: &mut Reporter,
) -> Option<(&'static Definition, &'a RawValue)> {
    let raw = step.value();
    let actions: Vec<(&'static Definition, &RawValue)> = raw
        .entries
        .iter()
        .filter_map(|e| definition_of(table, e.key).map(|d| (d, &e.value)))
        .collect();
    let keywords: Vec<&str> = table.iter().map(|d| d.keyword).collect();
    match actions.as_slice() {
        [] if raw.unknown.is_empty() => {
            r.error(
                step.loc(),
                "step has no action",
                Some(format!(
                    "start the step with one of: {}",
                    keywords.join(", ")
                )),
            );
            None
        }
        [] => {
            // Most likely the action itself is misspelt.
            let list = keywords.join(", ");
            for key in &raw.unknown {
                let help = match closest(key.value(), &keywords) {
                    Some(best) => {
                        format!("did you mean `{best}`? a step starts with one action: {list}")
                    }
                    None => format!("a step starts with one action: {list}"),
                };
                r.error(
                    key.loc(),
                    format!(
                        "unknown key `{}`: it is not an action nor a step parameter",
                        key.value()
                    ),
                    Some(help),
                );
            }
            None
        }
        [one] => Some(*one),
        [(first, _), (second, at), ..] => {
            r.error(
                at.loc(),
                format!(
                    "step has two actions, `{}` and `{}`",
                    first.keyword, second.keyword
                ),
                Some(
                    "each step does one thing: split it into two steps (each `- ` starts a step)"
                        .into(),
                ),
            );
            None
        }
    }
}

/// Whether every key of the step is a setting or a parameter of its action;
/// reports each one that is not, with the keys the action takes.
fn keys_apply(table: Table, definition: &Definition, raw: &RawStep, r: &mut Reporter) -> bool {
    let action = definition.keyword;
    let params: Vec<&str> = definition.params.iter().map(|p| p.key).collect();
    let settings: Vec<&str> = SETTINGS.iter().map(|p| p.key).collect();
    let mut ok = true;
    for key in &raw.unknown {
        let valid: Vec<&str> = params.iter().chain(&settings).copied().collect();
        let list = valid.join(", ");
        let help = match closest(key.value(), &valid) {
            Some(best) => format!("did you mean `{best}`? a `{action}` step takes: {list}"),
            None => format!("a `{action}` step takes: {list}"),
        };
        r.error(
            key.loc(),
            format!("unknown key `{}` in a `{action}` step", key.value()),
            Some(help),
        );
        ok = false;
    }
    for entry in &raw.entries {
        let key = entry.key;
        if setting(key) || definition.param(key).is_some() || definition_of(table, key).is_some() {
            continue; // a second action is reported by `action_of`
        }
        let loc = match entry.value.loc() {
            loc if loc.line == 0 => entry.key_loc,
            loc => loc,
        };
        let list = if params.is_empty() {
            format!(
                "`{action}` takes no parameters besides {}",
                settings.join(", ")
            )
        } else {
            format!(
                "`{action}` takes: {}; and on any step: {}",
                params.join(", "),
                settings.join(", ")
            )
        };
        let help = match closest(key, &params) {
            Some(best) => format!("did you mean `{best}`? {list}"),
            None => list,
        };
        r.error(
            loc,
            format!("`{key}` does not apply to `{action}`"),
            Some(help),
        );
        ok = false;
    }
    ok
}

/// Whether `key` is one of the [`SETTINGS`] every step may have.
fn setting(key: &str) -> bool {
    SETTINGS.iter().any(|p| p.key == key)
}

/// The step's settings: title, hint, weight, observe, soft, within.
fn settings(definition: &Definition, raw: &RawStep, r: &mut Reporter) -> StepMeta {
    let word = |key| match raw.get(key) {
        Some(RawValue::Word(w)) => Some(w.value().clone()),
        _ => None,
    };
    let flag = |key| matches!(raw.get(key), Some(RawValue::Flag(f)) if *f.value());
    StepMeta {
        title: word("title"),
        hint: word("hint"),
        weight: match raw.get("weight") {
            Some(RawValue::Number(w)) if *w.value() < 0.0 || !w.value().is_finite() => {
                r.error(
                    w.loc(),
                    format!("weight `{}` must be a number ≥ 0", w.value()),
                    None,
                );
                1.0
            }
            Some(RawValue::Number(w)) => *w.value(),
            _ if definition.role == Role::Prerequisite => 0.0,
            _ => 1.0,
        },
        observe: flag("observe"),
        soft: flag("soft"),
        within: match raw.get("within") {
            Some(RawValue::Duration(d)) => crate::syntax::duration(d, r),
            _ => None,
        }
        .unwrap_or(DEFAULT_STEP_DEADLINE),
    }
}
