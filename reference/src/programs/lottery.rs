//! Lottery server and client (course `LotteryServer.c`, `LotteryClient.c`).
//!
//! The server accepts ONE connection and answers 4-byte commands until END,
//! any other value or end of stream, then closes and exits; its listening
//! socket stays open until then, so a second client connects (the kernel
//! completes the handshake from the backlog) but is never served. [`Lottery`]
//! is the game itself, apart from the socket.
//!
//! The client reads integers from stdin as `scanf("%d")` does, sends each as
//! a 4-byte int and prints the reply. At end of input it closes and exits 0;
//! input that is not an integer is reported and exits 1 (the C client just
//! stops, with status 0).

use std::net::SocketAddr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncBufReadExt;

use super::{Console, connect, listen};
use crate::Env;
use crate::cli::{LotteryClientArgs, LotteryServerArgs};
use crate::error::ProgramError;
use crate::wire::lottery::{
    COMMAND_SIZE, Command, MAX_NUMBER, MAX_REPLY, MIN_NUMBER, NUMBERS_PER_DRAW, PROMPT, Reply,
};

/// One lottery draw: up to six distinct numbers in 1..=45, in drawing order.
///
/// It exists so the rules can be tested (and replayed by a grader with the
/// same seed) without a socket.
#[derive(Debug, Clone)]
pub struct Lottery {
    numbers: Vec<u8>,
    rng: ChaCha8Rng,
}

impl Lottery {
    /// A draw whose numbers depend only on `seed`.
    pub fn seeded(seed: u64) -> Lottery {
        Lottery {
            numbers: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A draw seeded from the operating system.
    pub fn unpredictable() -> Lottery {
        Lottery {
            numbers: Vec::new(),
            rng: ChaCha8Rng::from_rng(&mut rand::rng()),
        }
    }

    /// A draw seeded with `seed` if given, else unpredictable.
    pub fn new(seed: Option<u64>) -> Lottery {
        seed.map_or_else(Lottery::unpredictable, Lottery::seeded)
    }

    /// The numbers drawn so far.
    pub fn numbers(&self) -> &[u8] {
        &self.numbers
    }

    /// The reply to `command`, or `None` when the server must close (END or any other value).
    pub fn apply(&mut self, command: Command) -> Option<Reply> {
        match command {
            Command::Gen => Some(self.generate()),
            Command::List => Some(Reply::Numbers(self.list())),
            Command::End | Command::Other(_) => None,
        }
    }

    fn generate(&mut self) -> Reply {
        if self.numbers.len() >= NUMBERS_PER_DRAW {
            return Reply::Full;
        }
        let number = loop {
            let candidate = self.rng.random_range(MIN_NUMBER..=MAX_NUMBER);
            if !self.numbers.contains(&candidate) {
                break candidate;
            }
        };
        self.numbers.push(number);
        Reply::Generated(number)
    }

    fn list(&self) -> [u8; NUMBERS_PER_DRAW] {
        let mut list = [0u8; NUMBERS_PER_DRAW];
        list[..self.numbers.len()].copy_from_slice(&self.numbers);
        list
    }
}

/// Serve one client, then exit.
pub async fn server(
    args: &LotteryServerArgs,
    _console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let listener = listen(env, SocketAddr::new(args.bind.bind, args.port)).await?;
    let mut connection = listener.accept().await?;
    let mut lottery = Lottery::new(args.seed);
    loop {
        let mut command = [0u8; COMMAND_SIZE];
        if connection.read_full(&mut command).await? < COMMAND_SIZE {
            break; // the client went away: same as END
        }
        match lottery.apply(Command::decode(command, args.byte_order)) {
            Some(reply) => connection.send(&reply.to_bytes()).await?,
            None => break,
        }
    }
    drop(connection);
    drop(listener);
    Ok(())
}

/// Prompt, read a command, send it, print the reply; until END or end of input.
pub async fn client(
    args: &LotteryClientArgs,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let mut connection = connect(env, SocketAddr::new(args.ip, args.port)).await?;
    loop {
        console.print(PROMPT.as_bytes()).await?;
        let value = match scan_int(&mut console).await? {
            Scanned::Int(value) => value,
            Scanned::EndOfInput => return Ok(()),
            Scanned::NotAnInteger(text) => {
                return Err(ProgramError::Input(format!(
                    "expected an integer command, got {text:?}"
                )));
            }
        };
        let command = Command::from_i32(value);
        connection.send(&command.encode(args.byte_order)).await?;
        if command == Command::End {
            return Ok(());
        }
        let mut reply = [0u8; MAX_REPLY];
        let n = connection.read(&mut reply).await?;
        if n == 0 {
            return Err(ProgramError::Protocol(
                "server closed the connection".into(),
            ));
        }
        let mut line = reply[..n].to_vec();
        line.push(b'\n');
        console.print(&line).await?;
    }
}

/// What one `scanf("%d")` found.
#[derive(Debug, PartialEq, Eq)]
enum Scanned {
    Int(i32),
    EndOfInput,
    NotAnInteger(String),
}

/// `scanf("%d")`: skip white space, an optional sign, then digits; stops at
/// the first byte that is not a digit and leaves it unread.
async fn scan_int(console: &mut Console) -> Result<Scanned, ProgramError> {
    let stdin = console.stdin();
    let read_error = |source| ProgramError::Stdio {
        action: "read stdin",
        source,
    };
    // White space, possibly over several lines.
    loop {
        let available = stdin.fill_buf().await.map_err(read_error)?;
        if available.is_empty() {
            return Ok(Scanned::EndOfInput);
        }
        let blanks = available
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let more = blanks < available.len();
        stdin.consume(blanks);
        if more {
            break;
        }
    }
    let mut text = Vec::new();
    loop {
        let available = stdin.fill_buf().await.map_err(read_error)?;
        let Some(&byte) = available.first() else {
            break;
        };
        let sign_allowed = text.is_empty() && (byte == b'-' || byte == b'+');
        if !(byte.is_ascii_digit() || sign_allowed) {
            break;
        }
        text.push(byte);
        stdin.consume(1);
    }
    let digits = text.iter().filter(|b| b.is_ascii_digit()).count();
    let parsed = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.parse::<i32>().ok());
    match parsed {
        Some(value) if digits > 0 => Ok(Scanned::Int(value)),
        _ => {
            // Show the offending word, not just the bytes consumed so far.
            let available = stdin.fill_buf().await.map_err(read_error)?;
            let rest = available.iter().take_while(|b| !b.is_ascii_whitespace());
            text.extend(rest);
            Ok(Scanned::NotAnInteger(
                String::from_utf8_lossy(&text).into_owned(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Program;
    use crate::Stdio;

    fn console_with_input(input: &'static [u8]) -> Console {
        Console::new(
            Program::LotteryClient,
            Stdio {
                stdin: Box::new(input),
                stdout: Box::new(tokio::io::sink()),
                stderr: Box::new(tokio::io::sink()),
            },
        )
    }

    #[tokio::test]
    async fn scans_integers_like_scanf() {
        let mut console = console_with_input(b"  0\n1 -2\n\n+3 12abc");
        for want in [0, 1, -2, 3, 12] {
            assert_eq!(scan_int(&mut console).await.unwrap(), Scanned::Int(want));
        }
        assert_eq!(
            scan_int(&mut console).await.unwrap(),
            Scanned::NotAnInteger("abc".into())
        );
        let mut console = console_with_input(b"\n \n");
        assert_eq!(scan_int(&mut console).await.unwrap(), Scanned::EndOfInput);
        let mut console = console_with_input(b"- 1");
        assert_eq!(
            scan_int(&mut console).await.unwrap(),
            Scanned::NotAnInteger("-".into())
        );
        let mut console = console_with_input(b"99999999999");
        assert!(matches!(
            scan_int(&mut console).await.unwrap(),
            Scanned::NotAnInteger(_)
        ));
    }

    #[test]
    fn the_same_seed_draws_the_same_numbers() {
        let draw = |seed| {
            let mut lottery = Lottery::seeded(seed);
            (0..7)
                .map(|_| lottery.apply(Command::Gen))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_eq!(draw(42)[6], Some(Reply::Full));
    }

    #[test]
    fn end_and_unknown_commands_close() {
        let mut lottery = Lottery::seeded(1);
        assert_eq!(lottery.apply(Command::End), None);
        assert_eq!(lottery.apply(Command::Other(3)), None);
        assert_eq!(lottery.apply(Command::List), Some(Reply::Numbers([0; 6])));
    }
}
