//! What every action defines: its [`Definition`] (keyword, subject,
//! parameters, role, example, validation), and the [`SETTINGS`] every step
//! has whatever its action.
//!
//! Layer: above [`super::input`] (the input a validation reads) and raw;
//! below step validation, the action files and the table.

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::input::StepInput;

/// The actions a step may name, in the order shown to authors.
pub type Table = &'static [&'static Definition];

/// One action of the format, defined in one place (its file under
/// `actions/`): the key that names it, what its value is, the parameters it
/// takes, whether it is a check, an example, and how its step is validated.
#[derive(Debug)]
pub struct Definition {
    /// The action key, e.g. `send`.
    pub keyword: &'static str,
    /// What the action key's value names.
    pub subject: Subject,
    /// What the action does, as an editor shows it on the action key.
    pub summary: &'static str,
    /// The parameters it takes besides the [`SETTINGS`] every step has.
    pub params: &'static [Param],
    pub role: Role,
    /// A complete step in YAML flow style, for the docs (and checked by a test).
    pub example: &'static str,
    /// From the step's raw keys to the action, or `None` after reporting why not.
    pub validate: fn(&mut StepInput) -> Option<Action>,
}

impl Definition {
    /// The parameter `key` of this action, if it takes one.
    pub fn param(&self, key: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.key == key)
    }
}

/// What an action key's value names (`start: srv`, `send: c`, `repeat: 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A name for the program the step starts.
    NewProgram,
    /// A program started earlier.
    Program,
    /// A name for the peer (connection, listener, proxy) the step makes.
    NewPeer,
    /// A peer made earlier.
    Peer,
    /// A file's path (with placeholders).
    Path,
    /// A variable captured by a named regex group.
    Variable,
    /// A peer, or a program, whose TCP connection is meant.
    Connection,
    /// How many times to run the inner steps.
    Rounds,
    /// Lists of steps to run at the same time.
    Branches,
}

impl Subject {
    pub fn kind(self) -> ValueKind {
        match self {
            Subject::NewProgram
            | Subject::Program
            | Subject::NewPeer
            | Subject::Peer
            | Subject::Variable
            | Subject::Connection => ValueKind::Word,
            Subject::Path => ValueKind::Text,
            Subject::Rounds => ValueKind::Count,
            Subject::Branches => ValueKind::Branches,
        }
    }

    /// How the value is shown in the docs, e.g. `PEER` in `send: PEER`.
    pub fn placeholder(self) -> &'static str {
        match self {
            Subject::NewProgram => "NAME",
            Subject::Program => "PROGRAM",
            Subject::NewPeer => "NAME",
            Subject::Peer => "PEER",
            Subject::Path => "PATH",
            Subject::Variable => "VAR",
            Subject::Connection => "PEER/PROGRAM",
            Subject::Rounds => "N",
            Subject::Branches => "[[STEPS], [STEPS]]",
        }
    }
}

/// How a step counts in the scenario's verdict and points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Drives programs or peers (start, type, send, close, ...): not a check.
    Drives,
    /// Checks the submission's behaviour; weight 1 by default.
    Check,
    /// A check that is a prerequisite (readiness): its failure still ends the
    /// scenario, but passing earns nothing unless weighted.
    Prerequisite,
    /// Runs other steps (`repeat`, `concurrently`): their checks count, this
    /// step itself is not one.
    Control,
}

impl Role {
    pub fn is_check(self) -> bool {
        matches!(self, Role::Check | Role::Prerequisite)
    }
}

/// Keys every step may have, whatever its action.
pub const SETTINGS: &[Param] = &[
    Param::new(
        "title",
        ValueKind::Word,
        "A short description of what this step checks, shown in reports.",
    ),
    Param::new(
        "hint",
        ValueKind::Word,
        "Shown to the student when this step fails: the likely mistake.",
    ),
    Param::new(
        "weight",
        ValueKind::Number,
        "Share of the scenario's points for this check (default 1; 0 for `wait_listen` and `connect`, which are prerequisites).",
    ),
    Param::new(
        "observe",
        ValueKind::Flag,
        "Report what happened, but never fail or score.",
    ),
    Param::new(
        "soft",
        ValueKind::Flag,
        "A failure does not stop the scenario (later steps still run).",
    ),
    Param::new(
        "within",
        ValueKind::Duration,
        "Deadline for this step, e.g. `2s` (default 5s).",
    ),
];

/// The definition whose action key is `key`.
pub fn definition_of(table: Table, key: &str) -> Option<&'static Definition> {
    table.iter().copied().find(|d| d.keyword == key)
}
