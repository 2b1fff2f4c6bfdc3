//! `children`: counts a program's child processes and zombies in `/proc`,
//! looking again until they are as expected or the step's time is up.

use std::time::Duration;

use socklab_scenario::CountSpec;

use crate::check::{Judgement, process};
use crate::facts::ChildrenFact;
use crate::run::procfs;
use crate::run::state::{StepContext, StepError};

/// Between two looks at the process list.
const PROBE_PERIOD: Duration = Duration::from_millis(20);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    count: &CountSpec,
    zombies: Option<u32>,
) -> Result<Judgement, StepError> {
    let program = cx.state.program(program)?;
    let Some(pid) = program.pid else {
        return Err(StepError::Harness(
            "an in-process program has no child processes to count".into(),
        ));
    };
    let fact = loop {
        let kids = procfs::children(pid);
        let fact = ChildrenFact {
            total: kids.len() as u32,
            zombies: kids.iter().filter(|k| k.state == 'Z').count() as u32,
        };
        if process::children_as_expected(count, zombies, &fact) || cx.until.expired().is_some() {
            break fact;
        }
        cx.until.pause(PROBE_PERIOD).await;
    };
    let program = cx.state.program_fact(&program, false);
    Ok(process::children(count, zombies, &program, &fact))
}
