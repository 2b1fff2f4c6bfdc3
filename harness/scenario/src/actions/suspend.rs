//! `suspend: PROGRAM` — stop the program's own process (SIGSTOP to it
//! alone; its children run on), so that the signals sent to it meanwhile
//! wait, merged by the kernel, until `resume`.
//!
//! This is how a scenario takes the decision of when a signal lands: five
//! children that end while their parent is suspended are five SIGCHLDs the
//! parent sees as one, every run, however loaded the machine.

use crate::model::Action;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "suspend",
    subject: Subject::Program,
    summary: "Stop the program's own process (SIGSTOP, its children run on): signals sent to it wait, merged, until `resume`.",
    params: &[],
    role: Role::Drives,
    example: "{ suspend: srv }",
    validate,
};

pub fn title(program: &str) -> String {
    format!("suspend `{program}` (its children run on)")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Suspend {
        program: step.program()?,
    })
}
