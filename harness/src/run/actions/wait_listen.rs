//! `wait_listen`: waits until a program listens on a TCP port (or ends, or
//! the step's time is up), looking at the kernel's socket tables.

use std::time::Duration;

use socklab_scenario::Template;

use crate::check::{Judgement, process};
use crate::facts::{ListenFact, ListenOutcome};
use crate::run::procfs;
use crate::run::state::{StepContext, StepError};

/// Between two looks at the socket table.
const PROBE_PERIOD: Duration = Duration::from_millis(10);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    port: &Template,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let port = state.port(port)?;
    let netns = state.sandbox.host(program.host.as_deref()).netns_fd();
    let budget = cx.until.remaining();
    let outcome = loop {
        let listening = match program.pid {
            Some(pid) => procfs::listening_ports_of(pid).contains(&port),
            None => crate::sandbox::read_proc_net_in(netns)
                .map(|t| {
                    procfs::parse_proc_net_tcp(&t)
                        .iter()
                        .any(|s| s.state == procfs::TCP_LISTEN && s.local_port == port)
                })
                .unwrap_or(false),
        };
        if listening {
            break ListenOutcome::Listening;
        }
        if let Some(info) = program.exit_info() {
            break ListenOutcome::Exited(info);
        }
        if let Some(why) = cx.until.expired() {
            break ListenOutcome::NotYet {
                waited: budget,
                why,
            };
        }
        cx.until.pause(PROBE_PERIOD).await;
    };
    let listening = outcome == ListenOutcome::Listening;
    let fact = ListenFact {
        program: state.program_fact(&program, !listening),
        port,
        outcome,
    };
    Ok(process::listening(&fact))
}
