//! `packets: PEER/PROGRAM` — check a connection's TCP packets, as socklab
//! captured them: the handshake, the size of each segment, NUL bytes, who
//! closes first, RSTs, whole records. The connection is the one socklab's
//! peer made or accepted, or, for a program, the one to the server at
//! `to:`. Each key is a check; the step passes when all of them do.

use crate::model::{Action, ConnectionSide, PacketChecks, PacketsOf};
use crate::raw::{Param, ValueKind};
use crate::spanned::S;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "packets",
    subject: Subject::Connection,
    summary: "Check a connection's TCP packets as captured (socklab's peer's connection, or a program's connection `to:` a server): `handshake`, `client_sends`/`server_sends` (bytes per segment), `no_nul`, `first_fin`, `no_rst`, `client_records`/`server_records`. Skipped where nothing can be captured (loopback fallback).",
    params: &[
        Param::new(
            "to",
            ValueKind::Text,
            "`HOST:PORT`, e.g. `{{hosts.server}}:{{ports.lottery}}`.",
        ),
        Param::new(
            "handshake",
            ValueKind::Flag,
            "`true`: the three-way handshake (SYN, SYN-ACK, ACK) completes between the expected ends.",
        ),
        Param::new(
            "client_sends",
            ValueKind::Size,
            "Every data segment from the client carries exactly this many payload bytes (one write per message, e.g. 4 for a lottery command).",
        ),
        Param::new(
            "server_sends",
            ValueKind::Size,
            "Every data segment from the server carries exactly this many payload bytes.",
        ),
        Param::new(
            "no_nul",
            ValueKind::Word,
            "`client`, `server` or `both`: no NUL (00) byte in what that side sends (text written without its terminator).",
        ),
        Param::new(
            "first_fin",
            ValueKind::Word,
            "`client` or `server`: that side sends the first FIN (closes first), then the other's FIN follows.",
        ),
        Param::new(
            "no_rst",
            ValueKind::Flag,
            "`true`: the connection ends without RST (an RST is reported with its likely cause).",
        ),
        Param::new(
            "client_records",
            ValueKind::Size,
            "What the client sends is a whole number of records of this many bytes.",
        ),
        Param::new(
            "server_records",
            ValueKind::Size,
            "What the server sends is a whole number of records of this many bytes (e.g. 260 for file segments).",
        ),
    ],
    role: Role::Check,
    example: "{ packets: c, handshake: true, client_sends: 4, first_fin: client, no_rst: true }",
    validate,
};

/// The checks' keys, for "needs at least one of".
const CHECKS: &[&str] = &[
    "handshake",
    "client_sends",
    "server_sends",
    "no_nul",
    "first_fin",
    "no_rst",
    "client_records",
    "server_records",
];

pub fn title(of: &PacketsOf, checks: &PacketChecks) -> String {
    let whose = match of {
        PacketsOf::Peer(peer) => format!("`{peer}`'s connection"),
        PacketsOf::Program { program, to } => format!("`{program}`'s connection to {to}"),
    };
    let mut parts = Vec::new();
    if checks.handshake {
        parts.push("the handshake completes".to_string());
    }
    if let Some(n) = checks.client_sends {
        parts.push(format!("the client sends {n}-byte segments"));
    }
    if let Some(n) = checks.server_sends {
        parts.push(format!("the server sends {n}-byte segments"));
    }
    match checks.no_nul.as_slice() {
        [] => {}
        [one] => parts.push(format!("no NUL from the {}", one.name())),
        _ => parts.push("no NUL from either side".to_string()),
    }
    if let Some(side) = checks.first_fin {
        parts.push(format!("the {} closes first", side.name()));
    }
    if checks.no_rst {
        parts.push("no RST".to_string());
    }
    if let Some(n) = checks.client_records {
        parts.push(format!("the client sends whole {n}-byte records"));
    }
    if let Some(n) = checks.server_records {
        parts.push(format!("the server sends whole {n}-byte records"));
    }
    format!("{whose}: {}", parts.join(", "))
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let name = step.subject_word()?;
    let of = connection(step, name)?;
    let checks = PacketChecks {
        handshake: flag(step, "handshake")?,
        client_sends: size(step, "client_sends")?,
        server_sends: size(step, "server_sends")?,
        no_nul: match side_word(step, "no_nul", true)? {
            None => Vec::new(),
            Some(Sides::One(side)) => vec![side],
            Some(Sides::Both) => vec![ConnectionSide::Client, ConnectionSide::Server],
        },
        first_fin: match side_word(step, "first_fin", false)? {
            None => None,
            Some(Sides::One(side)) => Some(side),
            Some(Sides::Both) => unreachable!("`both` is refused for first_fin"),
        },
        no_rst: flag(step, "no_rst")?,
        client_records: size(step, "client_records")?,
        server_records: size(step, "server_records")?,
    };
    if checks == PacketChecks::default() {
        step.scope.error(
            step.loc(),
            "this `packets` step checks nothing",
            Some(format!(
                "add one or more of: {}; e.g. `first_fin: client`",
                CHECKS.join(", ")
            )),
        );
        return None;
    }
    Some(Action::Packets { of, checks })
}

/// The connection meant: a peer's own, or a program's `to:` a server.
fn connection(step: &mut StepInput, name: &S<String>) -> Option<PacketsOf> {
    let declared = step.scope.declared;
    let is_peer = declared.peers.contains(name.value());
    let is_program = declared.programs.contains(name.value());
    let to = step.text("to");
    match (is_peer, is_program, to) {
        (true, _, None) => Some(PacketsOf::Peer(name.value().clone())),
        (true, _, Some(to)) => {
            step.scope.error(
                to.loc(),
                format!(
                    "`{}` is socklab's peer: its packets are those of its own connection, so `to:` does not apply",
                    name.value()
                ),
                Some(
                    "leave `to:` out, or name a program (`packets: cli, to: \"HOST:PORT\"`) to pick one of its connections"
                        .into(),
                ),
            );
            None
        }
        (false, true, Some(to)) => Some(PacketsOf::Program {
            program: name.value().clone(),
            to: step.scope.template(to)?,
        }),
        (false, true, None) => {
            step.scope.error(
                step.loc(),
                format!(
                    "`packets: {}` names a program: say which of its connections with `to:`",
                    name.value()
                ),
                Some(
                    "give the server's address, e.g. `to: \"{{hosts.server}}:{{ports.lottery}}\"` (or `127.0.0.1:{{ports.lottery}}` on one host)"
                        .into(),
                ),
            );
            None
        }
        (false, false, _) => {
            let mut known: Vec<String> = declared.peers.iter().cloned().collect();
            known.extend(declared.programs.iter().cloned());
            let refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let help = match crate::diagnostic::closest(name.value(), &refs) {
                Some(best) => format!(
                    "did you mean `{best}`? peers and programs: {}",
                    known.join(", ")
                ),
                None if known.is_empty() => {
                    "make a connection first (`connect:`, `listen:` + `accept:`) or start a program"
                        .to_string()
                }
                None => format!("peers and programs here: {}", known.join(", ")),
            };
            step.scope.error(
                name.loc(),
                format!(
                    "`{}` is neither a peer nor a program in this scenario",
                    name.value()
                ),
                Some(help),
            );
            None
        }
    }
}

/// A check flag: absent is `false`; `false` written out checks nothing,
/// which is more likely a mistake than meant.
fn flag(step: &mut StepInput, key: &str) -> Option<bool> {
    match step.flag(key) {
        None => Some(false),
        Some(f) if *f.value() => Some(true),
        Some(f) => {
            step.scope.error(
                f.loc(),
                format!("`{key}: false` checks nothing"),
                Some(format!("write `{key}: true`, or leave the key out")),
            );
            None
        }
    }
}

/// A byte count of at least 1 that fits 32 bits.
fn size(step: &mut StepInput, key: &str) -> Option<Option<u32>> {
    let Some(n) = step.size(key) else {
        return Some(None);
    };
    match u32::try_from(*n.value()) {
        Ok(0) | Err(_) => {
            step.scope.error(
                n.loc(),
                format!("`{key}: {}` is not a size a segment can have", n.value()),
                Some("give a number of bytes from 1, e.g. `4` for a lottery command or `260` for a file segment".into()),
            );
            None
        }
        Ok(bytes) => Some(Some(bytes)),
    }
}

enum Sides {
    One(ConnectionSide),
    Both,
}

/// `client`, `server` (or `both`, where allowed).
fn side_word(step: &mut StepInput, key: &str, both: bool) -> Option<Option<Sides>> {
    let Some(word) = step.word(key) else {
        return Some(None);
    };
    match word.value().as_str() {
        "client" => Some(Some(Sides::One(ConnectionSide::Client))),
        "server" => Some(Some(Sides::One(ConnectionSide::Server))),
        "both" if both => Some(Some(Sides::Both)),
        other => {
            let choices = if both {
                "`client`, `server` or `both`"
            } else {
                "`client` or `server`"
            };
            step.scope.error(
                word.loc(),
                format!("`{key}: {other}` is not a side of the connection"),
                Some(format!(
                    "write {choices} (the client is the side that connected)"
                )),
            );
            None
        }
    }
}
