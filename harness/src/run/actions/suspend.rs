//! `suspend` and `resume`: SIGSTOP and SIGCONT to a program's own process
//! (not its process group: its children run on), so a scenario decides
//! when the signals sent to the program land (e.g. five SIGCHLDs merged
//! into one) instead of the machine's timing.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::check::Judgement;
use crate::run::procfs;
use crate::run::state::{StepContext, StepError};

/// Between two looks at the program's children.
const PROBE_PERIOD: Duration = Duration::from_millis(10);

/// SIGSTOP to the program's process.
pub async fn suspend(cx: &StepContext<'_>, program: &str) -> Result<Judgement, StepError> {
    send(cx, program, Signal::SIGSTOP, "suspended", String::new())
}

/// SIGCONT to the program's process; with `children_ended`, once every
/// child has ended (is a zombie) or the step's time is up.
pub async fn resume(
    cx: &StepContext<'_>,
    program_name: &str,
    children_ended: bool,
) -> Result<Judgement, StepError> {
    let mut waited = String::new();
    if children_ended {
        let pid = pid_of(cx, program_name)?;
        loop {
            let kids = procfs::children(pid);
            let running = kids.iter().filter(|k| k.state != 'Z').count();
            if running == 0 {
                waited = format!(" once its {} children had ended", kids.len());
                break;
            }
            if cx.until.expired().is_some() {
                waited = format!(
                    " with {running} of its {} children still running (the step's time was up)",
                    kids.len()
                );
                break;
            }
            cx.until.pause(PROBE_PERIOD).await;
        }
    }
    send(cx, program_name, Signal::SIGCONT, "resumed", waited)
}

fn pid_of(cx: &StepContext<'_>, program: &str) -> Result<u32, StepError> {
    let program = cx.state.program(program)?;
    program.pid.ok_or_else(|| {
        StepError::Harness(format!(
            "`{}` runs in-process: only a program in a process of its own can be suspended or resumed",
            program.label
        ))
    })
}

fn send(
    cx: &StepContext<'_>,
    program_name: &str,
    signal: Signal,
    verb: &str,
    how: String,
) -> Result<Judgement, StepError> {
    let pid = pid_of(cx, program_name)?;
    let label = cx.state.program(program_name)?.label.clone();
    // The program's own process only: its children are not stopped.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal) {
        Ok(()) => {
            cx.note_input(format!("{verb} {label} ({signal}){how}"));
            Ok(Judgement::pass(format!("{verb}{how}")))
        }
        // It has already ended: nothing waits for its signals any more;
        // the checks that follow see that it ended.
        Err(nix::errno::Errno::ESRCH) => Ok(Judgement::pass(format!(
            "not {verb}: the program had already ended"
        ))),
        Err(e) => Err(StepError::Harness(format!(
            "could not send {signal} to {label}: {e}"
        ))),
    }
}
