//! Checks on a connection: pure functions from the model to a [`Verdict`].
//!
//! Each check looks at one [`Connection`] and says what was expected, what
//! the capture shows and, when it failed, a hint at the likely mistake, in
//! the spirit of socklab's other checks; the events it points at are the
//! arrows a ladder draws in red. Checks gather nothing and print nothing:
//! a scenario step, a protocol judgment ([`crate::judge`]) or a test
//! chooses which to apply and with which parameters (e.g. 4-byte lottery
//! commands, 260-byte file-transfer segments).
//!
//! A check that cannot decide because the capture kept too little (a
//! payload cut by the cap) says [`Outcome::Inconclusive`] and why, rather
//! than pass or fail on bytes it did not see.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::conversation::{Connection, Conversation, Direction, Event, EventKind, Side};
use crate::show;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Passed,
    Failed,
    /// The capture does not hold what the check needs (say why in `observed`).
    Inconclusive,
}

/// The result of one check, ready for a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// A stable name of the check, e.g. `handshake`, `close-order`.
    pub check: &'static str,
    /// What is checked, as a sentence a student reads.
    pub title: String,
    pub outcome: Outcome,
    /// What a correct program's packets show.
    pub expected: String,
    /// What the capture shows.
    pub observed: String,
    /// The likely mistake, when the check failed.
    pub hint: Option<String>,
    /// The connection looked at (its id), if any was found.
    pub connection: Option<usize>,
    /// The events (indices into the connection's events) the verdict is
    /// about; a ladder draws them in red when the check failed.
    pub events: Vec<usize>,
}

impl Verdict {
    fn passed(check: &'static str, title: String, expected: String, observed: String) -> Verdict {
        Verdict {
            check,
            title,
            outcome: Outcome::Passed,
            expected,
            observed,
            hint: None,
            connection: None,
            events: Vec::new(),
        }
    }

    fn failed(
        check: &'static str,
        title: String,
        expected: String,
        observed: String,
        hint: String,
    ) -> Verdict {
        Verdict {
            outcome: Outcome::Failed,
            hint: Some(hint),
            ..Verdict::passed(check, title, expected, observed)
        }
    }

    pub(crate) fn on(
        mut self,
        connection: &Connection,
        events: impl IntoIterator<Item = usize>,
    ) -> Verdict {
        self.connection = Some(connection.id);
        self.events = events.into_iter().collect();
        self
    }

    /// Whether the check passed.
    pub fn is_passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// Whether the check failed.
    pub fn is_failed(&self) -> bool {
        self.outcome == Outcome::Failed
    }
}

/// Where a connection is expected to run; `None` accepts any value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub client: Option<IpAddr>,
    /// The client's port: one connection among several from one host.
    pub client_port: Option<u16>,
    pub server: Option<IpAddr>,
    pub server_port: Option<u16>,
}

impl Endpoints {
    /// A server at this address and port, any client.
    pub fn server(address: SocketAddr) -> Endpoints {
        Endpoints {
            client: None,
            client_port: None,
            server: Some(address.ip()),
            server_port: Some(address.port()),
        }
    }

    /// Exactly this connection: the client's address and the server's.
    pub fn exactly(client: SocketAddr, server: SocketAddr) -> Endpoints {
        Endpoints {
            client: Some(client.ip()),
            client_port: Some(client.port()),
            server: Some(server.ip()),
            server_port: Some(server.port()),
        }
    }

    /// Whether `connection` runs between these endpoints.
    pub fn matches(&self, connection: &Connection) -> bool {
        self.client.is_none_or(|ip| ip == connection.client.ip())
            && self
                .client_port
                .is_none_or(|p| p == connection.client.port())
            && self.server.is_none_or(|ip| ip == connection.server.ip())
            && self
                .server_port
                .is_none_or(|p| p == connection.server.port())
    }

    fn describe(&self) -> String {
        let client = match (self.client, self.client_port) {
            (Some(ip), Some(port)) => format!("client {}", SocketAddr::new(ip, port)),
            (Some(ip), None) => format!("client {ip}"),
            _ => "a client".to_string(),
        };
        let server = match (self.server, self.server_port) {
            (Some(ip), Some(port)) => format!("server {}", SocketAddr::new(ip, port)),
            (Some(ip), None) => format!("server {ip}"),
            (None, Some(port)) => format!("a server on port {port}"),
            (None, None) => "a server".to_string(),
        };
        format!("{client} → {server}")
    }
}

/// `frame 47 (10.319046 s)`: where an event is, for a reader with Wireshark.
pub fn locate(event: &Event) -> String {
    format!("frame {} ({} s)", event.frame, show::seconds(event.at))
}

/// The connection a check should look at: the first one between these
/// endpoints, or a failed verdict listing the connections there are.
pub fn find_connection<'a>(
    conversation: &'a Conversation,
    endpoints: &Endpoints,
) -> Result<&'a Connection, Box<Verdict>> {
    if let Some(found) = conversation
        .connections
        .iter()
        .find(|c| endpoints.matches(c))
    {
        return Ok(found);
    }
    let seen: Vec<String> = conversation
        .connections
        .iter()
        .map(|c| c.describe())
        .collect();
    let observed = if seen.is_empty() {
        "no TCP connection at all".to_string()
    } else {
        format!("only {}", seen.join("; "))
    };
    Err(Box::new(Verdict::failed(
        "connection",
        format!("a TCP connection {}", endpoints.describe()),
        format!("a connection {}", endpoints.describe()),
        observed,
        "The client did not connect to the expected address and port: check the address and port it is given, and that the server listens on that port (htons on the port number).".to_string(),
    )))
}

/// The three-way handshake (SYN, SYN-ACK, ACK) completes, between the
/// expected endpoints.
pub fn handshake(connection: &Connection, endpoints: &Endpoints) -> Verdict {
    let check = "handshake";
    let title = "the three-way handshake completes (SYN, SYN-ACK, ACK)".to_string();
    let expected = format!(
        "SYN from the client, SYN-ACK from the server, ACK from the client, {}",
        endpoints.describe()
    );
    if !endpoints.matches(connection) {
        return Verdict::failed(
            check,
            title,
            expected,
            format!("the connection is {}", connection.describe()),
            "The client connected to another address or port than expected: check the arguments it is given and the port the server binds (htons).".to_string(),
        )
        .on(connection, []);
    }
    let Some(syn) = connection.first(EventKind::Syn, Side::Client) else {
        return Verdict::failed(
            check,
            title,
            expected,
            "no SYN: the capture starts after the connection was opened".to_string(),
            "Start the capture before the client connects.".to_string(),
        )
        .on(connection, []);
    };
    let after_syn = &connection.events[syn.index..];
    let syn_ack = after_syn
        .iter()
        .find(|e| e.kind() == EventKind::SynAck && e.sender() == Side::Server && e.ack == 1);
    let Some(syn_ack) = syn_ack else {
        if let Some(rst) = after_syn
            .iter()
            .find(|e| e.flags.rst && e.sender() == Side::Server)
        {
            return Verdict::failed(
                check,
                title,
                expected,
                format!(
                    "the server answered the SYN with RST at {}: connection refused",
                    locate(rst)
                ),
                format!(
                    "Nothing was listening on port {} when the client connected: start the server first, and check that it binds and listens on that port.",
                    connection.server.port()
                ),
            )
            .on(connection, [syn.index, rst.index]);
        }
        return Verdict::failed(
            check,
            title,
            expected,
            format!("a SYN at {} and no SYN-ACK from the server", locate(syn)),
            "The server never accepted: is it running, listening (listen()) on this address and port, and reachable?".to_string(),
        )
        .on(connection, [syn.index]);
    };
    let ack = connection.events[syn_ack.index..]
        .iter()
        .find(|e| e.sender() == Side::Client && e.flags.ack && !e.flags.syn && e.ack == 1);
    let Some(ack) = ack else {
        return Verdict::failed(
            check,
            title,
            expected,
            format!(
                "SYN at {} and SYN-ACK at {}, but no ACK from the client",
                locate(syn),
                locate(syn_ack)
            ),
            "The client's kernel did not finish the handshake: was the client killed while connecting, or did the capture stop too early?".to_string(),
        )
        .on(connection, [syn.index, syn_ack.index]);
    };
    Verdict::passed(
        check,
        title,
        expected,
        format!(
            "SYN at {}, SYN-ACK at {}, ACK at {}, {}",
            locate(syn),
            locate(syn_ack),
            locate(ack),
            connection.describe()
        ),
    )
    .on(connection, [syn.index, syn_ack.index, ack.index])
}

/// Every message in `direction` travels as exactly `size` payload bytes
/// (one segment per message; the lottery's commands are 4-byte ints).
/// `what` names a message for the wording, e.g. `command`.
pub fn message_size(
    connection: &Connection,
    direction: Direction,
    size: u32,
    what: &str,
) -> Verdict {
    let whats = show::plural(what);
    let check = "message-size";
    let sender = direction.sender().name();
    let title = format!(
        "each {what} from the {sender} is exactly {} of payload",
        show::bytes(size.into())
    );
    let expected = format!(
        "every data segment {} carries {}",
        direction.arrow(),
        show::bytes(size.into())
    );
    let data: Vec<&Event> = connection.data(direction).collect();
    if data.is_empty() {
        return Verdict::failed(
            check,
            title,
            expected,
            format!("the {sender} sent no data"),
            format!(
                "The {sender} never wrote a {what}: check that it writes to the connected socket."
            ),
        )
        .on(connection, []);
    }
    let wrong: Vec<&Event> = data.iter().copied().filter(|e| e.len != size).collect();
    if wrong.is_empty() {
        return Verdict::passed(
            check,
            title,
            expected,
            format!(
                "{} of {} each",
                show::count(data.len(), what),
                show::bytes(size.into())
            ),
        )
        .on(connection, data.iter().map(|e| e.index));
    }
    let shown: Vec<String> = wrong
        .iter()
        .take(5)
        .map(|e| {
            format!(
                "{}: {} {}",
                locate(e),
                show::bytes(e.len.into()),
                show::preview(&e.payload, e.len, 40)
            )
        })
        .collect();
    let more = if wrong.len() > 5 {
        format!(" and {} more", wrong.len() - 5)
    } else {
        String::new()
    };
    let text = wrong.iter().any(|e| show::is_text(&e.payload));
    let hint = if text {
        format!(
            "The {what} was sent as text (characters such as \"0\\n\"), not as a binary {size}-byte value: write the variable itself, e.g. write(sock, &cmd, sizeof(cmd)) for an int."
        )
    } else if wrong.iter().all(|e| e.len % size == 0) {
        format!(
            "Several {whats} travelled in one segment: write each {what} with its own write() and wait for the reply before sending the next."
        )
    } else {
        format!(
            "Each {what} must be written whole with one write() of exactly {size} bytes (sizeof the value sent); a different type or length changes the count."
        )
    };
    Verdict::failed(
        check,
        title,
        expected,
        format!(
            "{} of {} {whats} differ: {}{more}",
            wrong.len(),
            data.len(),
            shown.join("; ")
        ),
        hint,
    )
    .on(connection, wrong.iter().map(|e| e.index))
}

/// No payload in `direction` contains a NUL byte (the lottery's replies
/// are text without their C string terminator).
pub fn no_nul(connection: &Connection, direction: Direction, what: &str) -> Verdict {
    let whats = show::plural(what);
    let check = "no-nul";
    let sender = direction.sender().name();
    let title = format!("the {sender}'s {whats} carry no NUL byte");
    let expected = format!("no 00 byte in the payloads {}", direction.arrow());
    let data: Vec<&Event> = connection.data(direction).collect();
    let with_nul: Vec<(&Event, usize)> = data
        .iter()
        .filter_map(|e| e.payload.iter().position(|b| *b == 0).map(|at| (*e, at)))
        .collect();
    if !with_nul.is_empty() {
        let shown: Vec<String> = with_nul
            .iter()
            .take(3)
            .map(|(e, at)| {
                format!(
                    "{}: {}, NUL at byte {} of {}",
                    locate(e),
                    show::preview(&e.payload, e.len, 48),
                    at + 1,
                    e.len
                )
            })
            .collect();
        let ends_with_nul = with_nul.iter().all(|(e, at)| *at + 1 == e.len as usize);
        let hint = if ends_with_nul {
            format!(
                "The {sender} writes the string's terminating NUL too (strlen(buf) + 1 or sizeof(buf) bytes): write strlen(buf) bytes."
            )
        } else {
            format!(
                "The {sender} writes a whole buffer, with the unused bytes after the text: write only strlen(buf) bytes, not sizeof(buf)."
            )
        };
        return Verdict::failed(
            check,
            title,
            expected,
            format!(
                "{} of {} {whats} contain a NUL: {}",
                with_nul.len(),
                data.len(),
                shown.join("; ")
            ),
            hint,
        )
        .on(connection, with_nul.iter().map(|(e, _)| e.index));
    }
    let cut: Vec<&Event> = data.iter().copied().filter(|e| e.payload_cut()).collect();
    if !cut.is_empty() {
        let missing: u64 = cut
            .iter()
            .map(|e| u64::from(e.len) - e.payload.len() as u64)
            .sum();
        return Verdict {
            outcome: Outcome::Inconclusive,
            ..Verdict::passed(
                check,
                title,
                expected,
                format!(
                    "no NUL in the bytes captured, but {} of {} {whats} were cut by the capture ({} not seen)",
                    cut.len(),
                    data.len(),
                    show::bytes(missing)
                ),
            )
        }
        .on(connection, cut.iter().map(|e| e.index));
    }
    Verdict::passed(
        check,
        title,
        expected,
        format!("no NUL in {}", show::count(data.len(), what)),
    )
    .on(connection, [])
}

/// The `first` side sends the first FIN, and the other side's FIN follows.
pub fn close_order(connection: &Connection, first: Side) -> Verdict {
    let check = "close-order";
    let other = first.peer();
    let title = format!(
        "the {} closes first, then the {}",
        first.name(),
        other.name()
    );
    let expected = format!(
        "the first FIN from the {}, then a FIN from the {}",
        first.name(),
        other.name()
    );
    let Some(first_fin) = connection.first_fin() else {
        if let Some(rst) = connection.resets().next() {
            return Verdict::failed(
                check,
                title,
                expected,
                format!(
                    "no FIN: the connection ended with an RST from the {} at {}",
                    rst.sender().name(),
                    locate(rst)
                ),
                reset_cause(connection, rst).hint(),
            )
            .on(connection, [rst.index]);
        }
        return Verdict::failed(
            check,
            title,
            expected,
            "no FIN from either side: the capture ends while the connection is open".to_string(),
            "Stop the capture only after both programs have exited; a program that never closes its socket keeps the connection open.".to_string(),
        )
        .on(connection, []);
    };
    if first_fin.sender() != first {
        return Verdict::failed(
            check,
            title,
            expected,
            format!("the {} sent the first FIN, at {}", first_fin.sender().name(), locate(first_fin)),
            format!(
                "The side that calls close() first sends the first FIN. The {} closed before the {} did: the {} should close first, and the {} when its read() returns 0.",
                other.name(),
                first.name(),
                first.name(),
                other.name()
            ),
        )
        .on(connection, [first_fin.index]);
    }
    let after = &connection.events[first_fin.index + 1..];
    match after.iter().find(|e| e.sender() == other && (e.flags.fin || e.flags.rst)) {
        Some(reply) if reply.flags.fin && !reply.flags.rst => Verdict::passed(
            check,
            title,
            expected,
            format!(
                "the {}'s FIN at {}, then the {}'s at {}",
                first.name(),
                locate(first_fin),
                other.name(),
                locate(reply)
            ),
        )
        .on(connection, [first_fin.index, reply.index]),
        Some(rst) => Verdict::failed(
            check,
            title,
            expected,
            format!(
                "the {}'s FIN at {}, then an RST from the {} at {}",
                first.name(),
                locate(first_fin),
                other.name(),
                locate(rst)
            ),
            reset_cause(connection, rst).hint(),
        )
        .on(connection, [first_fin.index, rst.index]),
        None => Verdict::failed(
            check,
            title,
            expected,
            format!(
                "the {}'s FIN at {}, and no FIN from the {}",
                first.name(),
                locate(first_fin),
                other.name()
            ),
            format!(
                "The {} never closed its side: close() the socket when read() returns 0 (or stop the capture only after it has exited).",
                other.name()
            ),
        )
        .on(connection, [first_fin.index]),
    }
}

/// Why a connection was reset, as far as its packets tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ResetCause {
    /// The server answered the SYN with RST: nothing listened on the port.
    Refused,
    /// `closer` closed its socket with data from the peer still unread
    /// (the peer's message at `unread` was probably not read): Linux then
    /// sends RST instead of FIN.
    UnreadData { closer: Side, unread: usize },
    /// `writer` kept writing after the peer had closed; the peer's kernel
    /// answered the data (at `late`) with RST.
    WriteAfterClose { writer: Side, late: usize },
    /// Neither pattern: an abortive close (SO_LINGER 0) or a killed program.
    Abort { by: Side },
}

impl ResetCause {
    /// What a student should change, in plain words.
    pub fn hint(&self) -> String {
        match self {
            ResetCause::Refused => "Nothing was listening on the port when the client connected: start the server first and check the port.".to_string(),
            ResetCause::UnreadData { closer, .. } => format!(
                "The {} closed its socket while data from the {} was still unread, so its kernel reset the connection instead of closing it: read what the peer sends (until read() returns 0 where the protocol ends that way) before close().",
                closer.name(),
                closer.peer().name()
            ),
            ResetCause::WriteAfterClose { writer, .. } => format!(
                "The {} wrote after the {} had closed the connection; the {}'s kernel answered with RST (and the {} gets ECONNRESET or SIGPIPE). Either the {} closed too early, or the {} should stop writing once read() returns 0.",
                writer.name(),
                writer.peer().name(),
                writer.peer().name(),
                writer.name(),
                writer.peer().name(),
                writer.name()
            ),
            ResetCause::Abort { by } => format!(
                "The {} aborted the connection: it was killed, or it set SO_LINGER to 0 before close(). Close with close() after the last message.",
                by.name()
            ),
        }
    }

    /// The cause in a few words, e.g. `the client closed with unread data`.
    pub fn describe(&self, connection: &Connection) -> String {
        match self {
            ResetCause::Refused => "connection refused (nothing listening)".to_string(),
            ResetCause::UnreadData { closer, unread } => format!(
                "the {} closed with unread data (the {}'s {} at {})",
                closer.name(),
                closer.peer().name(),
                show::bytes(connection.events[*unread].len.into()),
                locate(&connection.events[*unread])
            ),
            ResetCause::WriteAfterClose { writer, late } => format!(
                "the {} wrote after the {} had closed ({} at {})",
                writer.name(),
                writer.peer().name(),
                show::bytes(connection.events[*late].len.into()),
                locate(&connection.events[*late])
            ),
            ResetCause::Abort { by } => format!("the {} aborted the connection", by.name()),
        }
    }

    fn related_event(&self) -> Option<usize> {
        match self {
            ResetCause::UnreadData { unread, .. } => Some(*unread),
            ResetCause::WriteAfterClose { late, .. } => Some(*late),
            _ => None,
        }
    }
}

/// The likely cause of an RST, from the packets before it.
pub fn reset_cause(connection: &Connection, rst: &Event) -> ResetCause {
    let by = rst.sender();
    let peer = by.peer();
    let before = &connection.events[..rst.index];
    let accepted = before
        .iter()
        .any(|e| e.kind() == EventKind::SynAck && e.sender() == Side::Server);
    if by == Side::Server && !accepted {
        return ResetCause::Refused;
    }
    let fin_by = before.iter().find(|e| e.sender() == by && e.flags.fin);
    if let Some(fin) = fin_by {
        let late = before[fin.index + 1..]
            .iter()
            .find(|e| e.sender() == peer && e.is_new_data());
        if let Some(late) = late {
            return ResetCause::WriteAfterClose {
                writer: peer,
                late: late.index,
            };
        }
        return ResetCause::Abort { by };
    }
    match before
        .iter()
        .rev()
        .find(|e| e.sender() == peer && e.is_new_data())
    {
        Some(unread) => ResetCause::UnreadData {
            closer: by,
            unread: unread.index,
        },
        None => ResetCause::Abort { by },
    }
}

/// No RST: the connection ends with FINs. With one, the verdict says who
/// sent it and its likely cause.
pub fn no_reset(connection: &Connection) -> Verdict {
    let check = "no-reset";
    let title = "the connection closes cleanly, without RST".to_string();
    let expected = "no RST from either side".to_string();
    let Some(rst) = connection.resets().next() else {
        return Verdict::passed(check, title, expected, "no RST".to_string()).on(connection, []);
    };
    let cause = reset_cause(connection, rst);
    let mut events = vec![rst.index];
    events.extend(cause.related_event());
    Verdict::failed(
        check,
        title,
        expected,
        format!(
            "an RST from the {} at {}: {}",
            rst.sender().name(),
            locate(rst),
            cause.describe(connection)
        ),
        cause.hint(),
    )
    .on(connection, events)
}

/// The data in `direction` is a whole number of `record`-byte records
/// (the file transfer's 260-byte `{ int len; char buf[256]; }` segments).
pub fn whole_records(
    connection: &Connection,
    direction: Direction,
    record: u32,
    what: &str,
) -> Verdict {
    let whats = show::plural(what);
    let check = "whole-records";
    let title = format!(
        "the data {} is a whole number of {}-byte {whats}",
        direction.arrow(),
        record
    );
    let total = connection.bytes(direction);
    let (whole, rest) = (total / u64::from(record), total % u64::from(record));
    let expected = format!("a multiple of {record} bytes {}", direction.arrow());
    if rest == 0 {
        return Verdict::passed(
            check,
            title,
            expected,
            format!(
                "{} = {} of {record} bytes",
                show::bytes(total),
                show::count(whole as usize, what)
            ),
        )
        .on(connection, []);
    }
    let last = connection.data(direction).last().map(|e| e.index);
    Verdict::failed(
        check,
        title,
        expected,
        format!(
            "{}: {} of {record} bytes and {} more",
            show::bytes(total),
            show::count(whole as usize, &format!("whole {what}")),
            show::bytes(rest)
        ),
        format!(
            "Every {what} must be written whole (sizeof the struct = {record} bytes), the last one too; writing only the bytes read (len + 4) or stopping part-way breaks the receiver's framing."
        ),
    )
    .on(connection, last)
}
