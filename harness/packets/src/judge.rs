//! Protocol judgments: does a capture show a whole session of a lab protocol?
//!
//! For a student's own capture (`socklab packets FILE --lab lottery`):
//! given the protocol, find the connection(s) that look like it, run the
//! checks a whole session needs in the order a session goes (handshake,
//! requests, replies, close) and say, in plain words, whether the capture
//! shows all of it and what is missing. Pure: the model in, a
//! [`Judgment`] out.
//!
//! | protocol | a whole session |
//! |---|---|
//! | `lottery` | handshake; commands as 4-byte ints 0/1/2; a text reply (no NUL) to each GEN and LIST; END last, unanswered; the client's FIN, then the server's; no RST |
//! | `daytime` | handshake; the client sends nothing; one text line from the server; the server's FIN, then the client's; no RST |
//! | `echo` | handshake; text from the client; the same bytes back; the client's FIN, then the server's; no RST |
//! | `ft` | handshake; the file's path from the client; 260-byte segments from the server (len 0..256); the server's FIN, then the client's; no RST |

use std::fmt;

use serde::Serialize;

use crate::checks::{self, Endpoints, Outcome, Verdict, locate};
use crate::conversation::{Connection, Conversation, Direction, Event, Side};
use crate::show;

/// The size of a lottery command on the wire (a C `int`).
pub const LOTTERY_COMMAND_SIZE: u32 = 4;
/// The size of a file-transfer segment: `{ int len; char buf[256]; }`.
pub const FT_SEGMENT_SIZE: u32 = 260;
/// The most bytes one file-transfer segment carries.
pub const FT_SEGMENT_DATA: i32 = 256;

/// A Lab 3 protocol a capture can be judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Protocol {
    Lottery,
    Daytime,
    Echo,
    FileTransfer,
}

impl Protocol {
    /// Every protocol, in the handout's order.
    pub const ALL: [Protocol; 4] = [
        Protocol::Daytime,
        Protocol::Echo,
        Protocol::Lottery,
        Protocol::FileTransfer,
    ];

    /// `lottery`, `daytime`, `echo` or `ft` (the names the CLI takes).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Lottery => "lottery",
            Protocol::Daytime => "daytime",
            Protocol::Echo => "echo",
            Protocol::FileTransfer => "ft",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    fn from_str(name: &str) -> Result<Protocol, String> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Protocol::ALL.iter().map(|p| p.name()).collect();
                format!("unknown protocol `{name}`: use one of {}", names.join(", "))
            })
    }
}

/// What one connection shows of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The connection's id.
    pub connection: usize,
    /// Whether every step is there.
    pub complete: bool,
    /// Each step's verdict, in the order a session goes.
    pub steps: Vec<Verdict>,
}

impl Session {
    /// The steps not shown, in plain words.
    pub fn missing(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|v| v.outcome != Outcome::Passed)
            .map(|v| format!("{}: {}", v.title, v.observed))
            .collect()
    }

    fn failures(&self) -> usize {
        self.steps
            .iter()
            .filter(|v| v.outcome != Outcome::Passed)
            .count()
    }
}

/// Whether a capture shows a whole session of a protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgment {
    pub protocol: Protocol,
    /// Whether some connection shows a whole session.
    pub complete: bool,
    /// One paragraph for a student.
    pub summary: String,
    /// The connections judged, the most complete first.
    pub sessions: Vec<Session>,
    /// Connections left out because they do not look like the protocol.
    pub other_connections: Vec<usize>,
}

/// Judge a conversation against a protocol.
pub fn judge(conversation: &Conversation, protocol: Protocol) -> Judgment {
    let with_data: Vec<&Connection> = conversation
        .connections
        .iter()
        .filter(|c| c.events.iter().any(|e| e.len > 0))
        .collect();
    let looking_like: Vec<&Connection> = with_data
        .iter()
        .copied()
        .filter(|c| looks_like(protocol, c))
        .collect();
    let candidates: Vec<&Connection> = if !looking_like.is_empty() {
        looking_like
    } else if !with_data.is_empty() {
        with_data
    } else {
        conversation.connections.iter().collect()
    };
    let mut sessions: Vec<Session> = candidates.iter().map(|c| session(protocol, c)).collect();
    sessions.sort_by_key(|s| (s.failures(), s.connection));
    let other_connections = conversation
        .connections
        .iter()
        .map(|c| c.id)
        .filter(|id| !sessions.iter().any(|s| s.connection == *id))
        .collect();
    let complete = sessions.first().is_some_and(|s| s.complete);
    let summary = summarize(protocol, conversation, &sessions);
    Judgment {
        protocol,
        complete,
        summary,
        sessions,
        other_connections,
    }
}

/// Whether a connection's traffic has the shape of the protocol.
fn looks_like(protocol: Protocol, connection: &Connection) -> bool {
    let up: Vec<&Event> = connection.data(Direction::ClientToServer).collect();
    let down: Vec<&Event> = connection.data(Direction::ServerToClient).collect();
    let up_bytes = connection.bytes(Direction::ClientToServer);
    match protocol {
        Protocol::Lottery => {
            !up.is_empty() && up.iter().all(|e| e.len <= 16) && down.iter().all(|e| e.len <= 512)
        }
        Protocol::Daytime => up_bytes == 0 && !down.is_empty(),
        Protocol::Echo => {
            !up.is_empty() && !down.is_empty() && {
                let sent: Vec<u8> = up.iter().flat_map(|e| e.payload.iter().copied()).collect();
                let back: Vec<u8> = down
                    .iter()
                    .flat_map(|e| e.payload.iter().copied())
                    .collect();
                let n = sent.len().min(back.len());
                sent[..n] == back[..n]
            }
        }
        Protocol::FileTransfer => {
            up.first().is_some_and(|e| show::is_text(&e.payload)) && !down.is_empty()
        }
    }
}

fn session(protocol: Protocol, connection: &Connection) -> Session {
    let mut steps = vec![checks::handshake(connection, &Endpoints::default())];
    match protocol {
        Protocol::Lottery => lottery(connection, &mut steps),
        Protocol::Daytime => daytime(connection, &mut steps),
        Protocol::Echo => echo(connection, &mut steps),
        Protocol::FileTransfer => file_transfer(connection, &mut steps),
    }
    steps.push(checks::no_reset(connection));
    Session {
        connection: connection.id,
        complete: steps.iter().all(Verdict::is_passed),
        steps,
    }
}

/// A lottery command as the capture shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Gen,
    List,
    End,
    Other(i64),
}

impl Command {
    fn name(self) -> String {
        match self {
            Command::Gen => "GEN".to_string(),
            Command::List => "LIST".to_string(),
            Command::End => "END".to_string(),
            Command::Other(v) => format!("{v}"),
        }
    }
}

/// The command in a 4-byte payload, little-endian (x86 host order) or
/// big-endian, whichever gives 0, 1 or 2.
fn decode_command(payload: &[u8]) -> Option<(Command, bool)> {
    let bytes: [u8; 4] = payload.try_into().ok()?;
    let little = i32::from_le_bytes(bytes);
    let big = i32::from_be_bytes(bytes);
    let of = |v: i32| match v {
        0 => Some(Command::Gen),
        1 => Some(Command::List),
        2 => Some(Command::End),
        _ => None,
    };
    match (of(little), of(big)) {
        (Some(c), _) => Some((c, false)),
        (None, Some(c)) => Some((c, true)),
        (None, None) => Some((Command::Other(i64::from(little)), false)),
    }
}

fn lottery(connection: &Connection, steps: &mut Vec<Verdict>) {
    let sizes = checks::message_size(
        connection,
        Direction::ClientToServer,
        LOTTERY_COMMAND_SIZE,
        "command",
    );
    let sizes_ok = sizes.is_passed();
    steps.push(sizes);
    let commands: Vec<(&Event, Command)> = connection
        .data(Direction::ClientToServer)
        .filter_map(|e| decode_command(&e.payload).map(|(c, _)| (e, c)))
        .collect();
    if sizes_ok {
        steps.push(command_values(connection, &commands));
    }
    steps.push(replies(connection, &commands));
    steps.push(checks::no_nul(
        connection,
        Direction::ServerToClient,
        "reply",
    ));
    steps.push(end_command(connection, &commands));
    steps.push(checks::close_order(connection, Side::Client));
}

fn command_values(connection: &Connection, commands: &[(&Event, Command)]) -> Verdict {
    let title = "the commands are GEN (0), LIST (1) or END (2)".to_string();
    let expected = "4-byte ints 0, 1 or 2 (00 00 00 00 is GEN on x86)".to_string();
    let others: Vec<&(&Event, Command)> = commands
        .iter()
        .filter(|(_, c)| matches!(c, Command::Other(_)))
        .collect();
    let big_endian = commands
        .iter()
        .any(|(e, _)| decode_command(&e.payload).is_some_and(|(_, big)| big));
    if others.is_empty() {
        let mut observed = count_commands(commands);
        if big_endian {
            observed.push_str(" (in big-endian order: fine when both programs agree)");
        }
        return verdict(
            Outcome::Passed,
            "command-values",
            title,
            expected,
            observed,
            None,
        )
        .on(connection, commands.iter().map(|(e, _)| e.index));
    }
    let shown: Vec<String> = others
        .iter()
        .take(3)
        .map(|(e, c)| {
            format!(
                "{}: {} = {}",
                locate(e),
                show::preview(&e.payload, e.len, 20),
                c.name()
            )
        })
        .collect();
    verdict(
        Outcome::Failed,
        "command-values",
        title,
        expected,
        format!("{} commands are none of 0, 1, 2: {}", others.len(), shown.join("; ")),
        Some("The client sends the number the user typed as an int: read it with scanf(\"%d\", &cmd) and write(sock, &cmd, sizeof(cmd)).".to_string()),
    )
    .on(connection, others.iter().map(|(e, _)| e.index))
}

fn count_commands(commands: &[(&Event, Command)]) -> String {
    let count = |want: Command| commands.iter().filter(|(_, c)| *c == want).count();
    format!(
        "{} commands: GEN ×{}, LIST ×{}, END ×{}",
        commands.len(),
        count(Command::Gen),
        count(Command::List),
        count(Command::End)
    )
}

/// Each GEN and LIST is answered by text before the next command.
fn replies(connection: &Connection, commands: &[(&Event, Command)]) -> Verdict {
    let title = "each GEN and LIST gets a text reply".to_string();
    let expected =
        "server data after each GEN and LIST, such as \"New number generated: 17\" or \"numbers: 8 7 22 0 0 0\"".to_string();
    let asked: Vec<&(&Event, Command)> = commands
        .iter()
        .filter(|(_, c)| matches!(c, Command::Gen | Command::List))
        .collect();
    if asked.is_empty() {
        return verdict(
            Outcome::Failed,
            "replies",
            title,
            expected,
            "no GEN or LIST command, so no reply to see".to_string(),
            Some("Capture a session in which the client sends at least one GEN (0) and one LIST (1).".to_string()),
        )
        .on(connection, []);
    }
    let mut unanswered = Vec::new();
    let mut not_text = Vec::new();
    let mut shown = Vec::new();
    for (event, _) in &asked {
        let next_command = commands
            .iter()
            .map(|(e, _)| e.index)
            .find(|i| *i > event.index)
            .unwrap_or(usize::MAX);
        let reply = connection.events[event.index..]
            .iter()
            .take_while(|e| e.index < next_command)
            .find(|e| e.sender() == Side::Server && e.is_new_data());
        match reply {
            None => unanswered.push(event.index),
            Some(reply) => {
                if !show::is_text(&reply.payload) && !reply.payload.is_empty() {
                    not_text.push(reply.index);
                }
                if shown.len() < 3 {
                    shown.push(show::preview(&reply.payload, reply.len, 32));
                }
            }
        }
    }
    if let Some(first) = unanswered.first() {
        let e = &connection.events[*first];
        return verdict(
            Outcome::Failed,
            "replies",
            title,
            expected,
            format!(
                "{} of {} GEN/LIST commands got no reply, the first at {}",
                unanswered.len(),
                asked.len(),
                locate(e)
            ),
            Some("The server must answer every GEN and LIST with one write() of its reply text before reading the next command.".to_string()),
        )
        .on(connection, unanswered);
    }
    if !not_text.is_empty() {
        let e = &connection.events[not_text[0]];
        return verdict(
            Outcome::Failed,
            "replies",
            title,
            expected,
            format!(
                "{} replies are not plain text, e.g. {}: {}",
                not_text.len(),
                locate(e),
                show::preview(&e.payload, e.len, 40)
            ),
            Some(
                "Replies are text: build them with sprintf and write strlen(buf) bytes."
                    .to_string(),
            ),
        )
        .on(connection, not_text);
    }
    verdict(
        Outcome::Passed,
        "replies",
        title,
        expected,
        format!(
            "{}, e.g. {}",
            show::count(asked.len(), "reply"),
            shown.join(", ")
        ),
        None,
    )
    .on(connection, [])
}

fn end_command(connection: &Connection, commands: &[(&Event, Command)]) -> Verdict {
    let title = "the client ends with END (2), which gets no reply".to_string();
    let expected = "the last command is END, and no server data after it".to_string();
    let Some((last, command)) = commands.last() else {
        return verdict(
            Outcome::Failed,
            "end",
            title,
            expected,
            "no command at all".to_string(),
            Some(
                "Capture a whole session: the client sends commands and ends with 2 (END)."
                    .to_string(),
            ),
        )
        .on(connection, []);
    };
    if *command != Command::End {
        return verdict(
            Outcome::Failed,
            "end",
            title,
            expected,
            format!("the last command is {} at {}; no END", command.name(), locate(last)),
            Some("The session ends when the client sends END (2); stop the capture after that, once both programs have exited.".to_string()),
        )
        .on(connection, [last.index]);
    }
    let answered = connection.events[last.index..]
        .iter()
        .find(|e| e.sender() == Side::Server && e.is_new_data());
    if let Some(reply) = answered {
        return verdict(
            Outcome::Failed,
            "end",
            title,
            expected,
            format!(
                "END at {}, then server data at {}: {}",
                locate(last),
                locate(reply),
                show::preview(&reply.payload, reply.len, 32)
            ),
            Some("The server answers END by closing the connection, with no reply.".to_string()),
        )
        .on(connection, [last.index, reply.index]);
    }
    verdict(
        Outcome::Passed,
        "end",
        title,
        expected,
        format!("END at {}, no reply after it", locate(last)),
        None,
    )
    .on(connection, [last.index])
}

fn daytime(connection: &Connection, steps: &mut Vec<Verdict>) {
    let title = "the client sends nothing; the server sends one line of text".to_string();
    let expected =
        "no client data; server text ending in a newline, e.g. \"Tue Sep  5 11:04:47 2017\\r\\n\""
            .to_string();
    let sent = connection.bytes(Direction::ClientToServer);
    let text: Vec<u8> = connection
        .data(Direction::ServerToClient)
        .flat_map(|e| e.payload.iter().copied())
        .collect();
    let total = connection.bytes(Direction::ServerToClient);
    let step = if total == 0 {
        verdict(
            Outcome::Failed,
            "daytime-line",
            title,
            expected,
            "the server sent no data".to_string(),
            Some(
                "The server writes the time (ctime(), 26 bytes) right after accept(), then closes."
                    .to_string(),
            ),
        )
    } else if sent > 0 {
        verdict(
            Outcome::Failed,
            "daytime-line",
            title,
            expected,
            format!("the client sent {}", show::bytes(sent)),
            Some("A daytime client only reads: it sends nothing.".to_string()),
        )
    } else if (text.len() as u64) == total && !(show::is_text(&text) && text.ends_with(b"\n")) {
        verdict(
            Outcome::Failed,
            "daytime-line",
            title,
            expected,
            format!("the server sent {}: {}", show::bytes(total), show::preview(&text, total as u32, 48)),
            Some("Send the text of ctime() (which ends in \\n), or the 24 characters plus \\r\\n, and nothing else: no NUL, no whole buffer.".to_string()),
        )
    } else {
        verdict(
            Outcome::Passed,
            "daytime-line",
            title,
            expected,
            format!(
                "the server sent {}: {}",
                show::bytes(total),
                show::preview(&text, total as u32, 48)
            ),
            None,
        )
    };
    let events: Vec<usize> = connection
        .data(Direction::ServerToClient)
        .map(|e| e.index)
        .collect();
    steps.push(step.on(connection, events));
    steps.push(checks::close_order(connection, Side::Server));
}

fn echo(connection: &Connection, steps: &mut Vec<Verdict>) {
    let title = "the server sends back exactly the bytes the client sent".to_string();
    let expected = "the same bytes in both directions".to_string();
    let sent: Vec<u8> = connection
        .data(Direction::ClientToServer)
        .flat_map(|e| e.payload.iter().copied())
        .collect();
    let back: Vec<u8> = connection
        .data(Direction::ServerToClient)
        .flat_map(|e| e.payload.iter().copied())
        .collect();
    let (sent_total, back_total) = (
        connection.bytes(Direction::ClientToServer),
        connection.bytes(Direction::ServerToClient),
    );
    let complete_capture = sent.len() as u64 == sent_total && back.len() as u64 == back_total;
    let observed = format!(
        "the client sent {}: {}; the server sent {}: {}",
        show::bytes(sent_total),
        show::preview(&sent, sent_total as u32, 32),
        show::bytes(back_total),
        show::preview(&back, back_total as u32, 32)
    );
    let step = if sent_total == 0 {
        verdict(
            Outcome::Failed,
            "echo-bytes",
            title,
            expected,
            "the client sent no data".to_string(),
            Some("Type some lines into the client before ending it.".to_string()),
        )
    } else if !complete_capture {
        verdict(
            Outcome::Inconclusive,
            "echo-bytes",
            title,
            expected,
            format!("{observed} (not all of it captured)"),
            None,
        )
    } else if sent == back {
        verdict(
            Outcome::Passed,
            "echo-bytes",
            title,
            expected,
            observed,
            None,
        )
    } else {
        verdict(
            Outcome::Failed,
            "echo-bytes",
            title,
            expected,
            observed,
            Some("An echo server writes back exactly the n bytes each read() returned: write(fd, buf, n), not strlen or sizeof(buf).".to_string()),
        )
    };
    steps.push(step.on(connection, []));
    steps.push(checks::close_order(connection, Side::Client));
}

fn file_transfer(connection: &Connection, steps: &mut Vec<Verdict>) {
    let title = "the client first sends the file's path".to_string();
    let expected = "a text path, without NUL, before any server data".to_string();
    let first = connection.data(Direction::ClientToServer).next();
    let step = match first {
        None => verdict(
            Outcome::Failed,
            "ft-path",
            title,
            expected,
            "the client sent nothing".to_string(),
            Some(
                "The client writes the path of the file it wants right after connecting."
                    .to_string(),
            ),
        )
        .on(connection, []),
        Some(path) if show::is_text(&path.payload) => verdict(
            Outcome::Passed,
            "ft-path",
            title,
            expected,
            format!(
                "{}: {}",
                locate(path),
                show::preview(&path.payload, path.len, 48)
            ),
            None,
        )
        .on(connection, [path.index]),
        Some(path) => verdict(
            Outcome::Failed,
            "ft-path",
            title,
            expected,
            format!(
                "{}: {}",
                locate(path),
                show::preview(&path.payload, path.len, 48)
            ),
            Some("Write strlen(path) bytes of the path: no NUL and no whole buffer.".to_string()),
        )
        .on(connection, [path.index]),
    };
    steps.push(step);
    steps.push(checks::whole_records(
        connection,
        Direction::ServerToClient,
        FT_SEGMENT_SIZE,
        "segment",
    ));
    if let Some(step) = segment_lengths(connection) {
        steps.push(step);
    }
    steps.push(checks::close_order(connection, Side::Server));
}

/// Each segment's `len` field is 0..=256, when the server's stream was
/// captured whole (otherwise there is nothing to say).
fn segment_lengths(connection: &Connection) -> Option<Verdict> {
    let stream: Vec<u8> = connection
        .data(Direction::ServerToClient)
        .flat_map(|e| e.payload.iter().copied())
        .collect();
    if stream.len() as u64 != connection.bytes(Direction::ServerToClient)
        || !stream.len().is_multiple_of(FT_SEGMENT_SIZE as usize)
        || stream.is_empty()
    {
        return None;
    }
    let lens: Vec<i32> = stream
        .chunks(FT_SEGMENT_SIZE as usize)
        .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .collect();
    let title = "each segment's len field is between 0 and 256".to_string();
    let expected = "len (the first 4 bytes of each 260-byte segment) in 0..=256".to_string();
    let bad: Vec<(usize, i32)> = lens
        .iter()
        .enumerate()
        .filter(|(_, l)| !(0..=FT_SEGMENT_DATA).contains(*l))
        .map(|(i, l)| (i + 1, *l))
        .collect();
    let total: i64 = lens.iter().map(|l| i64::from(*l)).sum();
    Some(if bad.is_empty() {
        verdict(
            Outcome::Passed,
            "ft-segment-len",
            title,
            expected,
            format!(
                "{} segments carrying {} of file data",
                lens.len(),
                show::bytes(total as u64)
            ),
            None,
        )
        .on(connection, [])
    } else {
        let shown: Vec<String> = bad
            .iter()
            .take(3)
            .map(|(i, l)| format!("segment {i}: len {l}"))
            .collect();
        verdict(
            Outcome::Failed,
            "ft-segment-len",
            title,
            expected,
            format!("{} segments have a bad len: {}", bad.len(), shown.join(", ")),
            Some("Set len to the number of bytes read() returned (0..256) and stop when read() returns 0; a len of -1 means the server sent a failed read.".to_string()),
        )
        .on(connection, [])
    })
}

fn summarize(protocol: Protocol, conversation: &Conversation, sessions: &[Session]) -> String {
    let Some(best) = sessions.first() else {
        return format!(
            "The capture holds no TCP connection, so no {protocol} session: capture on the interface the programs use (Loopback when both run on one machine) while they run."
        );
    };
    let connection = conversation
        .connection(best.connection)
        .expect("sessions are judged on the conversation's connections");
    let which = format!("connection {} ({})", connection.id, connection.describe());
    if best.complete {
        return format!(
            "The capture shows a whole {protocol} session on {which}: {}.",
            session_outline(protocol, best)
        );
    }
    let missing = best.missing();
    format!(
        "The capture does not show a whole {protocol} session. The closest is {which}; missing: {}.",
        missing.join("; ")
    )
}

fn session_outline(protocol: Protocol, session: &Session) -> String {
    let step = |name: &str| {
        session
            .steps
            .iter()
            .find(|v| v.check == name)
            .map(|v| v.observed.clone())
            .unwrap_or_default()
    };
    match protocol {
        Protocol::Lottery => format!(
            "the three-way handshake; {}; {}; END; then {}",
            step("command-values"),
            step("replies"),
            step("close-order")
        ),
        Protocol::Daytime => format!(
            "the three-way handshake; {}; then {}",
            step("daytime-line"),
            step("close-order")
        ),
        Protocol::Echo => format!(
            "the three-way handshake; {}; then {}",
            step("echo-bytes"),
            step("close-order")
        ),
        Protocol::FileTransfer => format!(
            "the three-way handshake; the path {}; {}; then {}",
            step("ft-path"),
            step("whole-records"),
            step("close-order")
        ),
    }
}

fn verdict(
    outcome: Outcome,
    check: &'static str,
    title: String,
    expected: String,
    observed: String,
    hint: Option<String>,
) -> Verdict {
    Verdict {
        check,
        title,
        outcome,
        expected,
        observed,
        hint,
        connection: None,
        events: Vec::new(),
    }
}
