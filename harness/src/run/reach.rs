//! Reachability across hosts: when a check fails in a scenario of several
//! hosts, whether the facts show why one host could not reach the other,
//! so that the hint says the cause the evidence supports instead of the
//! two usual ones.
//!
//! Two facts, gathered at the failure:
//! - a student's server that listens only on loopback addresses
//!   (`127.0.0.1:P`, from sock_diag and the program's socket inodes): no
//!   other host reaches it;
//! - a connection attempt to a loopback address in the scenario's capture:
//!   a program dialled `127.0.0.1` on its own host instead of the address
//!   it was given.
//!
//! When neither is seen, the judgement is left as it is: a client that
//! reached the server is never told to connect to `argv[1]`.

use std::net::SocketAddr;
use std::sync::Arc;

use super::capture::off_the_runtime;
use super::program::Program;
use super::state::ScenarioState;
use crate::check::{Judgement, Outcome};
use crate::facts::ProgramOrigin;

/// What to do about a server bound to 127.0.0.1.
pub const BIND_ANY_HINT: &str = "A server bound to 127.0.0.1 accepts connections from its own host only: bind it to INADDR_ANY (addr.sin_addr.s_addr = htonl(INADDR_ANY)) so that a client on another computer reaches it.";

/// What to do about a client that dials 127.0.0.1.
pub const DIAL_ARGV_HINT: &str = "The client connected to 127.0.0.1, its own computer, instead of the server's address: connect to the address given as argv[1] (inet_pton or inet_addr), not a fixed 127.0.0.1.";

impl ScenarioState<'_> {
    /// `judgement` (a failed one, in a scenario of several hosts) with the
    /// reachability fact that explains it, if socklab sees one, and the
    /// hint for that cause.
    pub fn reachability(&self, mut judgement: Judgement) -> Judgement {
        if judgement.outcome != Outcome::Failed || self.sandbox.hosts().count() < 2 {
            return judgement;
        }
        if let Some((label, addresses)) = self.server_on_loopback_only() {
            judgement.message = format!(
                "{}; {label} listens on {addresses} only, which no other host reaches",
                judgement.message
            );
            judgement.hint = Some(BIND_ANY_HINT.to_string());
            return judgement;
        }
        if self.capture.unavailable().is_none()
            && let Ok(conversation) = off_the_runtime(|| self.capture.conversation())
            && let Some(attempt) = conversation
                .connections
                .iter()
                .find(|c| c.server.ip().is_loopback())
        {
            judgement.message = format!(
                "{}; the capture shows a connection attempt to {} (a loopback address: the program's own host)",
                judgement.message, attempt.server
            );
            judgement.hint = Some(DIAL_ARGV_HINT.to_string());
        }
        judgement
    }

    /// The first student program that listens, and only on loopback
    /// addresses, with those addresses.
    fn server_on_loopback_only(&self) -> Option<(String, String)> {
        let programs: Vec<Arc<Program>> = self.programs_started();
        programs.iter().find_map(|program| {
            if program.origin != ProgramOrigin::Submission || program.exit_info().is_some() {
                return None;
            }
            let pid = program.pid?;
            let host = self.sandbox.host(program.host.as_deref());
            let listening: Vec<SocketAddr> = self.sockets.listening_of(host, &[pid]).ok()?;
            if listening.is_empty() || !listening.iter().all(|a| a.ip().is_loopback()) {
                return None;
            }
            let shown: Vec<String> = listening.iter().map(ToString::to_string).collect();
            Some((program.label.clone(), shown.join(", ")))
        })
    }
}
