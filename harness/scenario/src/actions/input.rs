//! A step as its action's validation sees it ([`StepInput`]): the step's
//! raw values read by key and kind, the [`Scope`] its names must be declared
//! in, its place, how often it runs, and a way to validate inner steps.
//!
//! Layer: above [`super::scope`], raw and model; below the definitions and
//! the action files.

use crate::diagnostic::Reporter;
use crate::model::Step;
use crate::raw::{Param, RawFaults, RawStdin, RawStep, RawValue, ValueKind};
use crate::spanned::{Loc, S, Text};
use crate::template::Template;

use super::scope::Scope;

/// Validates inner steps that run a number of times; given by step
/// validation, so that an action's input needs no table of actions.
pub type InnerSteps<'a> = dyn Fn(&[S<RawStep>], u64, &mut Reporter) -> Vec<Step> + 'a;

/// A step as its action's validation sees it: the raw keys (read by kind),
/// the scope its names must be declared in, its place, and how often it runs.
pub struct StepInput<'a, 'r, 'f> {
    /// The step's action key and the parameters that action declares.
    pub(super) keyword: &'static str,
    pub(super) params: &'static [Param],
    pub(super) raw: &'a RawStep,
    /// The action key's value.
    pub(super) subject: &'a RawValue,
    pub(super) loc: Loc,
    pub(super) rounds: u64,
    pub scope: Scope<'a, 'r, 'f>,
    pub(super) inner: &'a InnerSteps<'a>,
}

impl<'a> StepInput<'a, '_, '_> {
    /// Where the step starts.
    pub fn loc(&self) -> Loc {
        self.loc
    }

    /// How many times this step runs (enclosing `repeat`s multiplied).
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// The action key's value when it is a name or word (`start: srv`).
    pub fn subject_word(&self) -> Option<&'a S<String>> {
        match self.subject {
            RawValue::Word(w) => Some(w),
            _ => None,
        }
    }

    /// The action key's value when it is text (`file: PATH`).
    pub fn subject_text(&self) -> Option<&'a S<Text>> {
        match self.subject {
            RawValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The action key's value when it is a count (`repeat: 3`).
    pub fn subject_count(&self) -> Option<&'a S<u32>> {
        match self.subject {
            RawValue::Count(n) => Some(n),
            _ => None,
        }
    }

    /// The action key's value when it is lists of steps (`concurrently:`).
    pub fn subject_branches(&self) -> Option<&'a S<Vec<Vec<S<RawStep>>>>> {
        match self.subject {
            RawValue::Branches(b) => Some(b),
            _ => None,
        }
    }

    /// The action key's value as a program started earlier.
    pub fn program(&mut self) -> Option<String> {
        let name = self.subject_word()?;
        self.scope.program(name)
    }

    /// The action key's value as a peer made earlier.
    pub fn peer(&mut self) -> Option<String> {
        let name = self.subject_word()?;
        self.scope.peer(name)
    }

    /// The value of one of this action's parameters. Reading a key the
    /// action does not declare, or as another kind, is a mistake in the
    /// action's file (and fails the crate's tests).
    fn param(&self, key: &str, kind: ValueKind) -> Option<&'a RawValue> {
        debug_assert!(
            self.params.iter().any(|p| p.key == key && p.kind == kind),
            "`{}` reads `{key}` as {kind:?}, which its definition does not declare",
            self.keyword
        );
        self.raw.get(key)
    }

    pub fn word(&self, key: &str) -> Option<&'a S<String>> {
        match self.param(key, ValueKind::Word)? {
            RawValue::Word(v) => Some(v),
            _ => None,
        }
    }

    pub fn regex(&self, key: &str) -> Option<&'a S<String>> {
        match self.param(key, ValueKind::Regex)? {
            RawValue::Regex(v) => Some(v),
            _ => None,
        }
    }

    pub fn duration(&self, key: &str) -> Option<&'a S<String>> {
        match self.param(key, ValueKind::Duration)? {
            RawValue::Duration(v) => Some(v),
            _ => None,
        }
    }

    pub fn text(&self, key: &str) -> Option<&'a S<Text>> {
        match self.param(key, ValueKind::Text)? {
            RawValue::Text(v) => Some(v),
            _ => None,
        }
    }

    pub fn text_list(&self, key: &str) -> Option<&'a S<Vec<S<Text>>>> {
        match self.param(key, ValueKind::TextList)? {
            RawValue::TextList(v) => Some(v),
            _ => None,
        }
    }

    pub fn flag(&self, key: &str) -> Option<&'a S<bool>> {
        match self.param(key, ValueKind::Flag)? {
            RawValue::Flag(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the flag `key` is given and `true`.
    pub fn is_set(&self, key: &str) -> bool {
        self.flag(key).is_some_and(|f| *f.value())
    }

    pub fn count(&self, key: &str) -> Option<&'a S<u32>> {
        match self.param(key, ValueKind::Count)? {
            RawValue::Count(v) => Some(v),
            _ => None,
        }
    }

    pub fn size(&self, key: &str) -> Option<&'a S<u64>> {
        match self.param(key, ValueKind::Size)? {
            RawValue::Size(v) => Some(v),
            _ => None,
        }
    }

    pub fn integer(&self, key: &str) -> Option<&'a S<i64>> {
        match self.param(key, ValueKind::Integer)? {
            RawValue::Integer(v) => Some(v),
            _ => None,
        }
    }

    pub fn range(&self, key: &str) -> Option<&'a S<Vec<i64>>> {
        match self.param(key, ValueKind::Range)? {
            RawValue::Range(v) => Some(v),
            _ => None,
        }
    }

    pub fn stdin(&self, key: &str) -> Option<&'a S<RawStdin>> {
        match self.param(key, ValueKind::Stdin)? {
            RawValue::Stdin(v) => Some(v),
            _ => None,
        }
    }

    pub fn faults(&self, key: &str) -> Option<&'a S<RawFaults>> {
        match self.param(key, ValueKind::Faults)? {
            RawValue::Faults(v) => Some(v.as_ref()),
            _ => None,
        }
    }

    pub fn steps(&self, key: &str) -> Option<&'a S<Vec<S<RawStep>>>> {
        match self.param(key, ValueKind::Steps)? {
            RawValue::Steps(v) => Some(v),
            _ => None,
        }
    }

    /// A required text parameter with placeholders; reported at the step
    /// when missing, with an example.
    pub fn required_template(&mut self, key: &str, example: &str) -> Option<Template> {
        match self.text(key) {
            Some(t) => self.scope.template(t),
            None => {
                self.scope.error(
                    self.loc,
                    format!("this step needs `{key}:`"),
                    Some(format!("e.g. {example}")),
                );
                None
            }
        }
    }

    /// Reports that `what` needs exactly one of `options`.
    pub fn one_of<T>(&mut self, what: &str, options: &[&str]) -> Option<T> {
        self.scope.error(
            self.loc,
            format!("`{what}` needs exactly one of: {}", options.join(", ")),
            None,
        );
        None
    }

    /// Validates inner steps (of `repeat`, `concurrently`) that run `rounds` times.
    pub fn inner_steps(&mut self, steps: &[S<RawStep>], rounds: u64) -> Vec<Step> {
        (self.inner)(steps, rounds, self.scope.reporter)
    }
}
