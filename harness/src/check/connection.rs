//! Checks on connections socklab's own peers make: a connection to a
//! program succeeds (or is refused, when that is what a scenario expects),
//! and a program connects to a socklab peer.

use super::Judgement;
use crate::facts::{AcceptFact, ConnectFact, ConnectOutcome, Expired};

/// `connect`: the connection was made, or refused when `refused: true`.
pub fn connected(refused_expected: bool, fact: &ConnectFact) -> Judgement {
    let addr = fact.addr;
    match (&fact.outcome, refused_expected) {
        (ConnectOutcome::Connected, false) => Judgement::pass(format!("connected to {addr}")),
        (ConnectOutcome::Connected, true) => {
            Judgement::fail(format!("a connection to {addr} was accepted"))
                .expected("the connection to be refused (nothing listening)")
        }
        (ConnectOutcome::Failed { refused: true, .. }, true) => {
            Judgement::pass(format!("connection to {addr} refused, as expected"))
        }
        (ConnectOutcome::Failed { error, .. }, _) => {
            Judgement::fail(format!("could not connect to {addr}: {error}"))
                .expected(format!("a server accepting connections on {addr}"))
                .observed(format!("connect() failed: {error}"))
        }
        (ConnectOutcome::Expired(Expired::Deadline), _) => {
            Judgement::fail(format!("connecting to {addr} did not finish in time"))
                .expected(format!("a server accepting connections on {addr}"))
        }
        (ConnectOutcome::Expired(Expired::Settled), _) => Judgement::fail(format!(
            "connecting to {addr} did not finish, and nothing could change that any more"
        ))
        .expected(format!("a server accepting connections on {addr}")),
    }
}

/// `accept`: a program connected to the peer.
pub fn accepted(fact: &AcceptFact) -> Judgement {
    match fact {
        AcceptFact::Accepted { from } => {
            Judgement::pass(format!("accepted a connection from {from}"))
        }
        AcceptFact::Expired(Expired::Deadline) => {
            Judgement::fail("no connection arrived in time").expected("the program to connect")
        }
        AcceptFact::Expired(Expired::Settled) => {
            Judgement::fail("no connection arrived, and nothing could change that any more")
                .expected("the program to connect")
        }
        AcceptFact::Failed { why } => {
            Judgement::fail(format!("waiting for a connection failed: {why}"))
                .expected("the program to connect")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(outcome: ConnectOutcome) -> ConnectFact {
        ConnectFact {
            addr: "127.0.0.1:9000".parse().unwrap(),
            outcome,
        }
    }

    #[test]
    fn a_refusal_passes_only_when_expected() {
        let refused = fact(ConnectOutcome::Failed {
            refused: true,
            error: "Connection refused (os error 111)".into(),
        });
        assert_eq!(
            connected(true, &refused).message,
            "connection to 127.0.0.1:9000 refused, as expected"
        );
        let j = connected(false, &refused);
        assert_eq!(
            j.message,
            "could not connect to 127.0.0.1:9000: Connection refused (os error 111)"
        );
        assert_eq!(
            j.observed.as_deref(),
            Some("connect() failed: Connection refused (os error 111)")
        );
        let accepted = connected(true, &fact(ConnectOutcome::Connected));
        assert_eq!(
            accepted.message,
            "a connection to 127.0.0.1:9000 was accepted"
        );
        assert!(connected(false, &fact(ConnectOutcome::Connected)).passed());
        let slow = connected(false, &fact(ConnectOutcome::Expired(Expired::Deadline)));
        assert_eq!(
            slow.message,
            "connecting to 127.0.0.1:9000 did not finish in time"
        );
    }

    #[test]
    fn a_missing_connection_says_why_once() {
        let late = accepted(&AcceptFact::Expired(Expired::Deadline));
        assert_eq!(late.message, "no connection arrived in time");
        assert_eq!(late.expected.as_deref(), Some("the program to connect"));
        let settled = accepted(&AcceptFact::Expired(Expired::Settled));
        assert_eq!(
            settled.message,
            "no connection arrived, and nothing could change that any more"
        );
        let failed = accepted(&AcceptFact::Failed {
            why: "this peer is not listening".into(),
        });
        assert_eq!(
            failed.message,
            "waiting for a connection failed: this peer is not listening"
        );
    }
}
