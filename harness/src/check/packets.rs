//! `packets`: a connection's TCP packets, as captured, against what the
//! step asks (each key one check of `socklab_packets::checks`), and the
//! verdicts put into one judgement.
//!
//! The checks themselves (what a handshake, a close order or an RST cause
//! look like in packets, and their words) are the packets crate's; this
//! module chooses them from the step's keys, names the messages of the
//! Lab 3 protocols (a client's *commands*, a server's *replies*, file
//! *segments*) and decides what a verdict judged after the scenario
//! stopped may still say.

use socklab_packets::checks::{self, Endpoints, Verdict};
use socklab_packets::{Connection, Direction, Outcome as PacketOutcome, Side};
use socklab_scenario::{ConnectionSide, PacketChecks};

use super::Judgement;

/// The verdicts of every check the step names, in the order of its keys'
/// documentation: handshake, sizes, NUL, close order, RST, records.
pub fn apply(
    connection: &Connection,
    endpoints: &Endpoints,
    wanted: &PacketChecks,
) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    if wanted.handshake {
        verdicts.push(checks::handshake(connection, endpoints));
    }
    if let Some(size) = wanted.client_sends {
        verdicts.push(checks::message_size(
            connection,
            Direction::ClientToServer,
            size,
            "command",
        ));
    }
    if let Some(size) = wanted.server_sends {
        verdicts.push(checks::message_size(
            connection,
            Direction::ServerToClient,
            size,
            "reply",
        ));
    }
    for side in &wanted.no_nul {
        let (direction, what) = match side {
            ConnectionSide::Client => (Direction::ClientToServer, "message"),
            ConnectionSide::Server => (Direction::ServerToClient, "reply"),
        };
        verdicts.push(checks::no_nul(connection, direction, what));
    }
    if let Some(first) = wanted.first_fin {
        verdicts.push(checks::close_order(connection, side(first)));
    }
    if wanted.no_rst {
        verdicts.push(checks::no_reset(connection));
    }
    if let Some(record) = wanted.client_records {
        verdicts.push(checks::whole_records(
            connection,
            Direction::ClientToServer,
            record,
            "record",
        ));
    }
    if let Some(record) = wanted.server_records {
        verdicts.push(checks::whole_records(
            connection,
            Direction::ServerToClient,
            record,
            "segment",
        ));
    }
    verdicts
}

fn side(side: ConnectionSide) -> Side {
    match side {
        ConnectionSide::Client => Side::Client,
        ConnectionSide::Server => Side::Server,
    }
}

/// The verdicts that still say something about a connection judged after
/// the scenario stopped at an earlier failure: what the packets show
/// wrong or right so far (the handshake, sizes, NUL bytes, an RST), but
/// not how it would have ended when it had not ended yet (who closes
/// first, whole records, no RST).
pub fn conclusive_so_far(connection: &Connection, verdicts: Vec<Verdict>) -> Vec<Verdict> {
    if connection.is_finished() {
        return verdicts;
    }
    verdicts
        .into_iter()
        .filter(|v| match v.check {
            "handshake" | "message-size" | "no-nul" | "connection" => true,
            "no-reset" => v.is_failed(),
            _ => false,
        })
        .collect()
}

/// One judgement from the verdicts of a step: it fails when any check
/// failed (saying what the capture shows, what was expected and the
/// likely mistake); it is skipped when the capture could not tell for any
/// check (payload cut by the cap); else it passes, saying what was seen.
pub fn judge(verdicts: &[Verdict], connection: Option<&Connection>) -> Judgement {
    let failed: Vec<&Verdict> = verdicts.iter().filter(|v| v.is_failed()).collect();
    let undecided: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.outcome == PacketOutcome::Inconclusive)
        .collect();
    let which = connection
        .map(|c| format!("connection {} ({})", c.id, c.describe()))
        .unwrap_or_else(|| "the capture".to_string());
    match failed.as_slice() {
        [] if !undecided.is_empty() && undecided.len() == verdicts.len() => {
            Judgement::skipped(format!(
                "the capture cannot tell: {}",
                undecided
                    .iter()
                    .map(|v| v.observed.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        }
        [] => {
            let seen: Vec<String> = verdicts
                .iter()
                .map(|v| match v.outcome {
                    PacketOutcome::Inconclusive => format!("{} (cannot tell)", v.observed),
                    _ => v.observed.clone(),
                })
                .collect();
            Judgement::pass(seen.join("; ")).observed(which)
        }
        [one] => Judgement::fail(one.observed.clone())
            .expected(one.expected.clone())
            .observed(format!(
                "{which} (ladder below, frames as in the capture file)"
            ))
            .hint_if(one.hint.clone()),
        several => {
            let titles: Vec<&str> = several.iter().map(|v| v.title.as_str()).collect();
            let lines = |text: &dyn Fn(&Verdict) -> String| {
                several
                    .iter()
                    .map(|v| format!("{}: {}", v.title, text(v)))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let hints: Vec<String> = several.iter().filter_map(|v| v.hint.clone()).collect();
            Judgement::fail(format!(
                "{} of {} packet checks failed: {}",
                several.len(),
                verdicts.len(),
                titles.join("; ")
            ))
            .expected(lines(&|v| v.expected.clone()))
            .observed(format!("in {which}:\n{}", lines(&|v| v.observed.clone())))
            .hint_if((!hints.is_empty()).then(|| hints.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use socklab_packets::Conversation;
    use socklab_packets::file::Timestamp;
    use socklab_packets::segment::{TcpFlags, TcpSegment};

    use super::*;
    use crate::check::Outcome;

    const CLIENT: &str = "127.0.0.1:40000";
    const SERVER: &str = "127.0.0.1:1235";

    /// A connection from packets written out: (from the client?, flags, payload).
    fn connection(packets: &[(bool, &str, &[u8])]) -> Connection {
        let (client, server): (SocketAddr, SocketAddr) =
            (CLIENT.parse().unwrap(), SERVER.parse().unwrap());
        let (mut client_seq, mut server_seq) = (1000u32, 5000u32);
        let segments = packets
            .iter()
            .enumerate()
            .map(|(i, (from_client, flags, payload))| {
                let flags = TcpFlags {
                    syn: flags.contains('S'),
                    ack: flags.contains('A'),
                    fin: flags.contains('F'),
                    rst: flags.contains('R'),
                    psh: !payload.is_empty(),
                    ..TcpFlags::default()
                };
                let (source, destination, seq, ack) = if *from_client {
                    (client, server, &mut client_seq, server_seq)
                } else {
                    (server, client, &mut server_seq, client_seq)
                };
                let segment = TcpSegment {
                    frame: i + 1,
                    time: Timestamp(1_000_000 * i as i64),
                    interface: 0,
                    source,
                    destination,
                    seq: *seq,
                    ack,
                    flags,
                    window: 512,
                    payload_len: payload.len() as u32,
                    payload: payload.to_vec(),
                    fingerprint: i as u64,
                };
                *seq = seq.wrapping_add(
                    payload.len() as u32 + u32::from(flags.syn) + u32::from(flags.fin),
                );
                segment
            })
            .collect();
        Conversation::from_segments(segments).connections.remove(0)
    }

    const OPEN: [(bool, &str, &[u8]); 3] = [(true, "S", b""), (false, "SA", b""), (true, "A", b"")];

    fn session(rest: &[(bool, &'static str, &'static [u8])]) -> Connection {
        let mut all = OPEN.to_vec();
        all.extend_from_slice(rest);
        connection(&all)
    }

    fn endpoints() -> Endpoints {
        Endpoints::exactly(CLIENT.parse().unwrap(), SERVER.parse().unwrap())
    }

    #[test]
    fn a_clean_lottery_session_passes_every_check_saying_what_was_seen() {
        let c = session(&[
            (true, "A", &[0, 0, 0, 0]),
            (false, "A", b"New number generated: 7"),
            (true, "A", &[2, 0, 0, 0]),
            (true, "FA", b""),
            (false, "FA", b""),
            (true, "A", b""),
        ]);
        let wanted = PacketChecks {
            handshake: true,
            client_sends: Some(4),
            no_nul: vec![ConnectionSide::Server],
            first_fin: Some(ConnectionSide::Client),
            no_rst: true,
            ..PacketChecks::default()
        };
        let verdicts = apply(&c, &endpoints(), &wanted);
        assert_eq!(verdicts.len(), 5);
        let judgement = judge(&verdicts, Some(&c));
        assert_eq!(judgement.outcome, Outcome::Ok, "{judgement:?}");
        assert!(
            judgement.message.contains("2 commands of 4 bytes each"),
            "{}",
            judgement.message
        );
        assert!(judgement.message.contains("no RST"));
        assert_eq!(
            judgement.observed.as_deref(),
            Some("connection 1 (127.0.0.1:40000 → 127.0.0.1:1235)")
        );
    }

    #[test]
    fn one_failed_check_says_what_the_capture_shows_and_its_hint() {
        let c = session(&[(true, "A", b"0\n"), (false, "FA", b""), (true, "FA", b"")]);
        let wanted = PacketChecks {
            first_fin: Some(ConnectionSide::Client),
            ..PacketChecks::default()
        };
        let judgement = judge(&apply(&c, &endpoints(), &wanted), Some(&c));
        assert_eq!(judgement.outcome, Outcome::Failed);
        assert!(
            judgement
                .message
                .starts_with("the server sent the first FIN, at frame 5"),
            "{}",
            judgement.message
        );
        assert_eq!(
            judgement.expected.as_deref(),
            Some("the first FIN from the client, then a FIN from the server")
        );
        assert!(
            judgement
                .hint
                .as_deref()
                .unwrap()
                .contains("The server closed before the client did")
        );
        let both = PacketChecks {
            client_sends: Some(4),
            first_fin: Some(ConnectionSide::Client),
            no_rst: true,
            ..PacketChecks::default()
        };
        let judgement = judge(&apply(&c, &endpoints(), &both), Some(&c));
        assert!(
            judgement.message.starts_with("2 of 3 packet checks failed: each command from the client is exactly 4 bytes of payload; the client closes first, then the server"),
            "{}",
            judgement.message
        );
        let hint = judgement.hint.unwrap();
        assert!(
            hint.contains("sent as text") && hint.contains("closed before"),
            "{hint}"
        );
    }

    #[test]
    fn an_unfinished_connection_judged_late_keeps_only_what_it_shows_already() {
        let c = session(&[(true, "A", b"0\n")]);
        let wanted = PacketChecks {
            client_sends: Some(4),
            first_fin: Some(ConnectionSide::Client),
            no_rst: true,
            ..PacketChecks::default()
        };
        let kept = conclusive_so_far(&c, apply(&c, &endpoints(), &wanted));
        let names: Vec<&str> = kept.iter().map(|v| v.check).collect();
        assert_eq!(names, ["message-size"]);
        let reset = session(&[(true, "A", &[0; 4]), (false, "RA", b"")]);
        let kept = conclusive_so_far(&reset, apply(&reset, &endpoints(), &wanted));
        let names: Vec<&str> = kept.iter().map(|v| v.check).collect();
        assert_eq!(
            names,
            ["message-size", "close-order", "no-reset"],
            "an RST ends it"
        );
    }
}
