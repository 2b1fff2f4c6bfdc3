//! The lottery protocol: 4-byte integer commands up, text replies down.
//!
//! The client writes each command as a C `int` with `write(fd, &cmd, 4)`,
//! so in host byte order (`00 00 00 00` for GEN on x86). The server answers
//! GEN and LIST with one text reply carrying no newline and no NUL, and
//! answers END (or any other value) by closing the connection.

use std::fmt;

use super::ByteOrder;

/// Size of a command on the wire (a C `int`).
pub const COMMAND_SIZE: usize = 4;
/// How many numbers one draw holds.
pub const NUMBERS_PER_DRAW: usize = 6;
/// The smallest number the server may draw.
pub const MIN_NUMBER: u8 = 1;
/// The largest number the server may draw.
pub const MAX_NUMBER: u8 = 45;
/// The client's prompt, printed without a newline before each command.
pub const PROMPT: &str = "Command (0:GEN 1:LIST 2:END): ";
/// The largest reply the course client reads in one `read()`.
pub const MAX_REPLY: usize = 256;

/// A command as the client sends it.
///
/// `Other` keeps any value that is not one of the three commands, because
/// the protocol gives it a meaning too: the server closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// 0: draw a new number.
    Gen,
    /// 1: list the numbers drawn so far.
    List,
    /// 2: end the session.
    End,
    /// Any other value (the server treats it like END).
    Other(i32),
}

impl Command {
    /// The command an integer stands for.
    pub fn from_i32(value: i32) -> Command {
        match value {
            0 => Command::Gen,
            1 => Command::List,
            2 => Command::End,
            other => Command::Other(other),
        }
    }

    /// The integer the client writes for this command.
    pub fn to_i32(self) -> i32 {
        match self {
            Command::Gen => 0,
            Command::List => 1,
            Command::End => 2,
            Command::Other(value) => value,
        }
    }

    /// The 4 bytes on the wire.
    pub fn encode(self, order: ByteOrder) -> [u8; COMMAND_SIZE] {
        order.i32_to_bytes(self.to_i32())
    }

    /// The command 4 bytes from the wire stand for.
    pub fn decode(bytes: [u8; COMMAND_SIZE], order: ByteOrder) -> Command {
        Command::from_i32(order.i32_from_bytes(bytes))
    }
}

/// Shorthand for [`Command::encode`].
pub fn encode(command: Command, order: ByteOrder) -> [u8; COMMAND_SIZE] {
    command.encode(order)
}

/// Shorthand for [`Command::decode`].
pub fn decode(bytes: [u8; COMMAND_SIZE], order: ByteOrder) -> Command {
    Command::decode(bytes, order)
}

/// A server reply, so that replies can be built and checked as values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    /// `New number generated: N` (after GEN with fewer than 6 numbers).
    Generated(u8),
    /// `Full` (after GEN with 6 numbers drawn).
    Full,
    /// `numbers: a b c d e f`, in drawing order, `0` for numbers not drawn yet.
    Numbers([u8; NUMBERS_PER_DRAW]),
}

impl Reply {
    /// The exact bytes on the wire (no newline, no NUL).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Parse one complete reply; `None` if it is not exactly one of the three forms.
    pub fn parse(bytes: &[u8]) -> Option<Reply> {
        let text = std::str::from_utf8(bytes).ok()?;
        if text == "Full" {
            return Some(Reply::Full);
        }
        if let Some(n) = text.strip_prefix("New number generated: ") {
            return plain_number(n).map(Reply::Generated);
        }
        let list = text.strip_prefix("numbers: ")?;
        let mut numbers = [0u8; NUMBERS_PER_DRAW];
        let mut parts = list.split(' ');
        for slot in &mut numbers {
            *slot = plain_number(parts.next()?)?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Reply::Numbers(numbers))
    }
}

/// A decimal number as `%d` prints it (no sign, no padding), up to 255.
fn plain_number(text: &str) -> Option<u8> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Generated(n) => write!(f, "New number generated: {n}"),
            Reply::Full => f.write_str("Full"),
            Reply::Numbers([a, b, c, d, e, g]) => write!(f, "numbers: {a} {b} {c} {d} {e} {g}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_host_order_ints() {
        assert_eq!(Command::Gen.encode(ByteOrder::Little), [0, 0, 0, 0]);
        assert_eq!(Command::List.encode(ByteOrder::Little), [1, 0, 0, 0]);
        assert_eq!(Command::End.encode(ByteOrder::Little), [2, 0, 0, 0]);
        assert_eq!(Command::End.encode(ByteOrder::Big), [0, 0, 0, 2]);
        assert_eq!(
            decode([0, 0, 0, 2], ByteOrder::Little),
            Command::Other(0x0200_0000)
        );
        assert_eq!(
            decode(encode(Command::Other(-7), ByteOrder::Host), ByteOrder::Host),
            Command::Other(-7)
        );
    }

    #[test]
    fn replies_match_the_sample_capture() {
        assert_eq!(Reply::Generated(8).to_bytes(), b"New number generated: 8");
        assert_eq!(Reply::Generated(8).to_bytes().len(), 23);
        assert_eq!(Reply::Full.to_bytes(), b"Full");
        assert_eq!(
            Reply::Numbers([32, 5, 22, 0, 0, 0]).to_string(),
            "numbers: 32 5 22 0 0 0"
        );
    }

    #[test]
    fn parse_inverts_display_and_nothing_else() {
        for reply in [
            Reply::Generated(45),
            Reply::Full,
            Reply::Numbers([1, 2, 3, 4, 5, 45]),
        ] {
            assert_eq!(Reply::parse(&reply.to_bytes()), Some(reply));
        }
        for bad in [
            &b"Full\n"[..],
            b"Full\0",
            b"New number generated: 08",
            b"New number generated:  8",
            b"numbers: 1 2 3 4 5",
            b"numbers: 1 2 3 4 5 6 7",
            b"numbers: 1 2 3 4 5 6 ",
        ] {
            assert_eq!(Reply::parse(bad), None, "{bad:?}");
        }
    }
}
