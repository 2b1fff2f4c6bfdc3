//! Finding the student program behind a failed check, and gathering what
//! it did (`facts::Conduct`) for `check::blame` to put in words.
//!
//! Which program: the one the check judged, when it is the student's; the
//! one at the other end of socklab's connection for a check on a peer
//! (recorded when the connection was made: the program holding the
//! listening socket it reached, or the socket that connected to it); the
//! program whose folder a checked file is in; otherwise the student's
//! program the scenario started last. What it did: how it ended, or what
//! the kernel shows it doing, the CPU it burns over a short look, whether
//! it holds a connection open, what it sent and printed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socklab_scenario::Action;

use super::program::Program;
use super::sockets;
use super::state::ScenarioState;
use super::wait::Until;
use crate::check::{Judgement, Outcome, blame};
use crate::facts::Conduct;
use crate::kernel::{self, ProcessView, States, TcpState};

/// How long socklab looks at a running program's CPU use.
const BUSY_LOOK: Duration = Duration::from_millis(100);

/// How long a program the kernel is ending is given for its exit to be
/// collected before it is described.
const EXIT_SOON: Duration = Duration::from_millis(500);

impl ScenarioState<'_> {
    /// `judgement` (a failed one) with the student program whose behaviour
    /// made it fail named, what it did, and the hint for it (the step's
    /// own hint, `step_hint`, when the facts call for none more precise).
    pub async fn blame(
        &self,
        judgement: Judgement,
        action: &Action,
        step_hint: Option<&str>,
    ) -> Judgement {
        if judgement.outcome != Outcome::Failed {
            return judgement;
        }
        if let Some(judged) = judgement.program.as_ref().filter(|p| p.is_submission()) {
            let Ok(program) = self.program(&judged.name) else {
                return judgement;
            };
            return self.about_itself(judgement, &program).await;
        }
        let judged = judgement
            .program
            .as_ref()
            .and_then(|p| self.program(&p.name).ok());
        let Some(culprit) = self.culprit(action, judged.as_deref()).await else {
            return judgement;
        };
        let mut conduct = self.conduct(&culprit, judged.as_deref()).await;
        // An open connection explains a wait for a close (an `eof`, an exit),
        // not bytes that did not come (a server busy with another client)
        // or came where none should (`silence`).
        // Nor a judgement on what was already gathered (an `assert` on
        // captured values, a `file`, the packets).
        let waits_for_close = match action {
            Action::Recv { spec, .. } => matches!(spec, socklab_scenario::RecvSpec::Eof(_)),
            Action::Silence { .. }
            | Action::Assert { .. }
            | Action::File { .. }
            | Action::Packets { .. } => false,
            _ => true,
        };
        if !waits_for_close {
            conduct.holds_connection = false;
        }
        blame::blame(judgement, &conduct, step_hint)
    }

    /// A failure judged on the student's own program: a SIGPIPE is
    /// explained; a program that did not end and spins or floods says so.
    async fn about_itself(&self, mut judgement: Judgement, program: &Program) -> Judgement {
        let conduct = self.conduct(program, None).await;
        let (did, hint) = blame::culprit(&conduct);
        let telling = match program.exit_info() {
            Some(exit) => exit.signal_name() == Some("SIGPIPE"),
            None => hint.is_some() && hint != Some(blame::CLOSE_HINT),
        };
        if telling {
            // "killed by SIGPIPE (broken pipe)" is already said: add why.
            let did = match did.split_once("SIGPIPE: ") {
                Some((_, why)) if judgement.message.contains("SIGPIPE") => why.to_string(),
                _ => did,
            };
            judgement.message = format!("{}; it {did}", judgement.message);
            judgement.hint = hint.map(str::to_string);
        }
        judgement
    }

    /// The student program at fault for a failed check on something else
    /// than a student program.
    async fn culprit(&self, action: &Action, judged: Option<&Program>) -> Option<Arc<Program>> {
        let named = match action {
            Action::Recv { peer, .. }
            | Action::Silence { peer, .. }
            | Action::Accept { peer }
            | Action::Send { peer, .. } => match self.peer(peer) {
                Ok(peer) => peer.lock().await.counterpart.clone(),
                Err(_) => None,
            },
            Action::File { path, .. } => self
                .render(path)
                .ok()
                .and_then(|p| self.program_owning_path(&p)),
            _ => None,
        };
        let student = |name: &str| {
            self.program(name)
                .ok()
                .filter(|p| p.origin == crate::facts::ProgramOrigin::Submission)
        };
        if let Some(program) = named.as_deref().and_then(student) {
            return Some(program);
        }
        let _ = judged;
        self.latest_student()
    }

    /// The program whose working folder holds `path`.
    fn program_owning_path(&self, path: &str) -> Option<String> {
        let programs = self.dir.join("programs");
        let rest = std::path::Path::new(path).strip_prefix(&programs).ok()?;
        rest.components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
    }

    /// What `program` did, for a failure it caused; `judged` is the
    /// (reference) program the check was about, whose record of what it
    /// received says what the student's program sent it.
    pub async fn conduct(&self, program: &Program, judged: Option<&Program>) -> Conduct {
        let (kept, _, dropped) = program.stdout.snapshot();
        let mut conduct = Conduct {
            program: self.program_fact(program, false),
            doing: None,
            busy: None,
            holds_connection: false,
            sent: None,
            sent_kind: judged.and_then(received_kind),
            printed: kept.len() as u64,
            printed_dropped: dropped,
        };
        let Some(pid) = program.pid else {
            return conduct;
        };
        // A program on its way out (a crash that closed the connection the
        // check read) is described by how it ended, not by whether socklab
        // had collected its end when the check failed.
        if program.exit_info().is_none() && super::procfs::stat(pid).is_some_and(|s| s.exiting) {
            let soon = tokio::time::Instant::now() + EXIT_SOON;
            program.wait_exit(&Until::deadline(soon)).await;
            conduct.program = self.program_fact(program, false);
        }
        if program.exit_info().is_some() {
            return conduct;
        }
        let pids = kernel::process::tree(&[pid]);
        let cpu = |pids: &[u32]| -> Duration {
            pids.iter()
                .filter_map(|p| kernel::process::cpu_time(*p))
                .sum()
        };
        let before = cpu(&pids);
        tokio::time::sleep(BUSY_LOOK).await;
        if program.exit_info().is_some() {
            // It ended during the look: that is what it did.
            conduct.program = self.program_fact(program, false);
            return conduct;
        }
        conduct.busy = Some((cpu(&pids).saturating_sub(before), BUSY_LOOK));
        let host = self.sandbox.host(program.host.as_deref());
        let Ok(diag) = self.sockets.of(host) else {
            return conduct;
        };
        let by_inode: BTreeMap<u64, kernel::TcpSocket> = diag
            .sockets(States::HELD)
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.inode, s))
            .collect();
        let mut sent = 0;
        // The process of the program that holds a connection (a forking
        // server's child) is the one to describe: the parent only waits in
        // accept().
        let mut holder = None;
        for pid in &pids {
            for inode in kernel::process::socket_inodes(*pid) {
                let Some(socket) = by_inode.get(&inode) else {
                    continue;
                };
                if matches!(socket.state, TcpState::Established | TcpState::CloseWait) {
                    conduct.holds_connection = true;
                    holder.get_or_insert(*pid);
                    if let Ok(Some((_, Some(traffic)))) = diag.find(socket.local, socket.remote) {
                        // tcp_info counts the SYN among the bytes acknowledged.
                        sent += traffic.bytes_acked.saturating_sub(1);
                    }
                }
            }
        }
        conduct.sent = Some(sent);
        let described = holder.unwrap_or(pid);
        if let Some(view) = ProcessView::read(described) {
            let whose = if described == pid {
                "is".to_string()
            } else {
                format!("has a child (pid {described}) that is")
            };
            conduct.doing = Some(format!("{whose} {}", view.describe(&by_inode)));
        }
        conduct
    }

    /// The name of the program that listens on `port` on any host of the
    /// scenario: where a connection to that port lands.
    pub fn owner_of_listener_anywhere(&self, port: u16) -> Option<String> {
        let names: Vec<String> = self.sandbox.hosts().map(|h| h.name.clone()).collect();
        names
            .iter()
            .find_map(|host| self.owner_of_listener(Some(host), port))
    }

    /// The name of the program that holds the listening socket on `port`
    /// of `host`: where a connection to that port lands.
    pub fn owner_of_listener(&self, host: Option<&str>, port: u16) -> Option<String> {
        let programs = self.current_programs();
        for program in &programs {
            if let (None, Some(transcript)) = (program.pid, &program.transcript) {
                let listens = transcript.events().iter().any(|e| {
                    matches!(e.kind,
                        socklab_reference::transcript::EventKind::Listening { local } if local.port() == port)
                });
                if listens {
                    return Some(program.name.clone());
                }
            }
        }
        let diag = self.sockets.of(self.sandbox.host(host)).ok()?;
        let inodes: Vec<u64> = diag
            .listening(Some(port))
            .ok()?
            .into_iter()
            .map(|s| s.inode)
            .collect();
        self.owner_of_inodes(&programs, &inodes)
    }

    /// The name of the program holding the socket with these addresses.
    pub fn owner_of_socket(&self, local: SocketAddr, remote: SocketAddr) -> Option<String> {
        let hosts = self.sockets.all(&self.sandbox);
        let (socket, _) = sockets::find_on(&hosts, local, remote)?;
        self.owner_of_inodes(&self.current_programs(), &[socket.inode])
    }

    fn owner_of_inodes(&self, programs: &[Arc<Program>], inodes: &[u64]) -> Option<String> {
        programs.iter().find_map(|program| {
            let pid = program.pid?;
            kernel::process::tree(&[pid])
                .into_iter()
                .any(|p| {
                    kernel::process::socket_inodes(p)
                        .iter()
                        .any(|i| inodes.contains(i))
                })
                .then(|| program.name.clone())
        })
    }
}

/// What the last bytes a reference program received look like (the last
/// few 260-byte records, counted from the start of what it received).
fn received_kind(program: &Program) -> Option<String> {
    use socklab_reference::transcript::EventKind;
    let events = program.transcript.as_ref()?.events();
    let received: Vec<&Vec<u8>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Received(bytes) => Some(bytes),
            _ => None,
        })
        .collect();
    let total: usize = received.iter().map(|b| b.len()).sum();
    let partial = total % 260;
    let need = (partial + 3 * 260).min(total);
    let mut tail = Vec::with_capacity(need);
    for bytes in received.iter().rev() {
        if tail.len() >= need {
            break;
        }
        let mut chunk = (*bytes).clone();
        chunk.extend_from_slice(&tail);
        tail = chunk;
    }
    let tail = &tail[tail.len().saturating_sub(need)..];
    let aligned = &tail[..tail.len().saturating_sub(partial)];
    blame::kind_of(aligned).or_else(|| blame::kind_of(tail))
}
