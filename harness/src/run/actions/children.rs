//! `children`: counts a program's child processes and zombies in `/proc`
//! (and, with `connected`, the children holding a TCP connection on the
//! program's host, by their sockets' inodes in `sock_diag`), looking again
//! until they are as expected or the step's time is up.

use std::time::Duration;

use socklab_scenario::CountSpec;

use std::collections::BTreeSet;

use crate::check::{Judgement, process};
use crate::facts::ChildrenFact;
use crate::kernel::{States, TcpState, process as kernel_process};
use crate::run::procfs;
use crate::run::state::{StepContext, StepError};
use crate::sandbox::Host;

/// Between two looks at the process list.
const PROBE_PERIOD: Duration = Duration::from_millis(20);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    count: &CountSpec,
    zombies: Option<u32>,
    connected: bool,
) -> Result<Judgement, StepError> {
    let program = cx.state.program(program)?;
    let Some(pid) = program.pid else {
        return Err(StepError::Harness(
            "an in-process program has no child processes to count".into(),
        ));
    };
    let host = cx.state.sandbox.host(program.host.as_deref());
    let fact = loop {
        let kids = procfs::children(pid);
        let connected = if connected {
            let held = connections(cx, host)?;
            let holding = kids
                .iter()
                .filter(|k| k.state != 'Z')
                .filter(|k| !kernel_process::socket_inodes(k.pid).is_disjoint(&held))
                .count();
            Some(holding as u32)
        } else {
            None
        };
        let fact = ChildrenFact {
            total: kids.len() as u32,
            zombies: kids.iter().filter(|k| k.state == 'Z').count() as u32,
            connected,
        };
        if process::children_as_expected(count, zombies, &fact) || cx.until.expired().is_some() {
            break fact;
        }
        cx.until.pause(PROBE_PERIOD).await;
    };
    let program = cx.state.program_fact(&program, false);
    Ok(process::children(count, zombies, &program, &fact))
}

/// The inodes of the TCP connections on `host`: sockets past the handshake
/// and not yet closed on their side.
fn connections(cx: &StepContext<'_>, host: &Host) -> Result<BTreeSet<u64>, StepError> {
    let states = States::of(&[TcpState::Established, TcpState::CloseWait]);
    let sockets = cx
        .state
        .sockets
        .of(host)
        .and_then(|diag| diag.sockets(states))
        .map_err(|e| {
            StepError::Harness(format!(
                "cannot read the sockets of host `{}` (sock_diag): {e}",
                host.name
            ))
        })?;
    Ok(sockets.into_iter().map(|s| s.inode).collect())
}
