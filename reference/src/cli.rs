//! The command lines of the eight programs.
//!
//! One clap struct per program; [`parse`] turns a program and its arguments
//! into an [`Invocation`] or into an [`EarlyExit`] (help text on stdout with
//! status 0, or a usage message on stderr with status 2). Command lines follow
//! the C programs of the lab (`lottery-server PORT`, `ft-client IP PORT SRC
//! DST`, ...); the options (`--bind`, `--byte-order`, `--iterative`, ...) are
//! what a grader needs on top.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{ColorChoice, Parser, ValueEnum};

use crate::Program;
use crate::wire::ByteOrder;

/// Default port of the daytime service (fixed in UNP).
pub const DAYTIME_PORT: u16 = 13;
/// Default port of the echo service (`SERV_PORT` in UNP).
pub const ECHO_PORT: u16 = 9877;

/// Where a server listens.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct BindArg {
    /// Local address to listen on (`::` for IPv6, dual-stack where the system allows).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub bind: IpAddr,
}

impl ValueEnum for ByteOrder {
    fn value_variants<'a>() -> &'a [Self] {
        &[ByteOrder::Host, ByteOrder::Little, ByteOrder::Big]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// `daytime-server [PORT]`: iterative; each client gets the time and is closed.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "daytime-server", color = ColorChoice::Never)]
#[command(
    about = "Daytime server (UNP daytimetcpsrv): sends ctime() + \\r\\n to each client, then closes"
)]
pub struct DaytimeServerArgs {
    /// TCP port to listen on.
    #[arg(default_value_t = DAYTIME_PORT)]
    pub port: u16,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub bind: BindArg,
}

/// `daytime-client IP [PORT]`: prints what the server sends.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "daytime-client", color = ColorChoice::Never)]
#[command(
    about = "Daytime client (UNP daytimetcpcli): prints everything the server sends until it closes"
)]
pub struct DaytimeClientArgs {
    /// Server IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// Server port.
    #[arg(default_value_t = DAYTIME_PORT)]
    pub port: u16,
}

/// What the echo server answers.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EchoMode {
    /// Send every byte back (tcpserv01).
    #[default]
    Echo,
    /// Answer each line "A B" with "A+B" (tcpserv08).
    Sum,
}

/// How the echo server serves several clients.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Concurrency {
    /// One client at a time; the next waits in the listen backlog.
    Iterative,
    /// A child process per client, zombies reaped by a SIGCHLD handler (tcpserv04).
    #[default]
    Fork,
    /// A tokio task per client.
    Async,
}

/// `echo-server [PORT]`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "echo-server", color = ColorChoice::Never)]
#[command(about = "Echo server (UNP tcpserv01/04/08)")]
pub struct EchoServerArgs {
    /// TCP port to listen on.
    #[arg(default_value_t = ECHO_PORT)]
    pub port: u16,
    /// Echo bytes back, or reply with the sum of two integers per line.
    #[arg(long, value_enum, default_value_t = EchoMode::Echo)]
    pub mode: EchoMode,
    /// How clients are served concurrently.
    #[arg(long, value_enum, default_value_t = Concurrency::Fork)]
    pub concurrency: Concurrency,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub bind: BindArg,
}

/// `echo-client IP [PORT]`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "echo-client", color = ColorChoice::Never)]
#[command(
    about = "Echo client (UNP tcpcli): sends stdin lines, prints replies; at end of input half-closes and drains"
)]
pub struct EchoClientArgs {
    /// Server IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// Server port.
    #[arg(default_value_t = ECHO_PORT)]
    pub port: u16,
}

/// `lottery-server PORT`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "lottery-server", color = ColorChoice::Never)]
#[command(about = "Lottery server: serves ONE client (GEN, LIST, END as 4-byte ints), then exits")]
pub struct LotteryServerArgs {
    /// TCP port to listen on.
    pub port: u16,
    /// Seed for the random numbers (the same seed draws the same numbers).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Byte order of the 4-byte commands.
    #[arg(long, value_enum, default_value_t = ByteOrder::Host)]
    pub byte_order: ByteOrder,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub bind: BindArg,
}

/// `lottery-client IP PORT`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "lottery-client", color = ColorChoice::Never)]
#[command(
    about = "Lottery client: reads commands (0 GEN, 1 LIST, 2 END) from stdin, prints replies"
)]
pub struct LotteryClientArgs {
    /// Server IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// Server port.
    pub port: u16,
    /// Byte order of the 4-byte commands.
    #[arg(long, value_enum, default_value_t = ByteOrder::Host)]
    pub byte_order: ByteOrder,
}

/// The two conventions of the iterative file transfer.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterativeMode {
    /// A new connection per file; the server loops on accept.
    NewConnection,
    /// One connection for all files; a segment with len 0 ends each file.
    Marker,
}

/// `ft-server PORT`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "ft-server", color = ColorChoice::Never)]
#[command(
    about = "File-transfer server: reads a path, sends the file as 260-byte segments {int len; char buf[256];}"
)]
pub struct FtServerArgs {
    /// TCP port to listen on.
    pub port: u16,
    /// Serve many files (the iterative variant) with this convention.
    #[arg(long, value_enum, value_name = "MODE")]
    pub iterative: Option<IterativeMode>,
    /// Byte order of the segments' len field.
    #[arg(long, value_enum, default_value_t = ByteOrder::Host)]
    pub byte_order: ByteOrder,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub bind: BindArg,
}

/// `ft-client IP PORT SRC DST`, or `ft-client IP PORT --iterative MODE`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "ft-client", color = ColorChoice::Never)]
#[command(
    about = "File-transfer client: asks the server for SRC and stores it as DST (with --iterative: SRC DST lines from stdin)"
)]
pub struct FtClientArgs {
    /// Server IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// Server port.
    pub port: u16,
    /// Path of the file on the server (sent as is, no terminator).
    #[arg(required_unless_present = "iterative", conflicts_with = "iterative")]
    pub src: Option<OsString>,
    /// Local file to create or truncate.
    #[arg(required_unless_present = "iterative", conflicts_with = "iterative")]
    pub dst: Option<PathBuf>,
    /// Transfer many files, read as "SRC DST" lines from stdin, with this convention.
    #[arg(long, value_enum, value_name = "MODE")]
    pub iterative: Option<IterativeMode>,
    /// Byte order of the segments' len field.
    #[arg(long, value_enum, default_value_t = ByteOrder::Host)]
    pub byte_order: ByteOrder,
}

/// A parsed command line, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Invocation {
    DaytimeServer(DaytimeServerArgs),
    DaytimeClient(DaytimeClientArgs),
    EchoServer(EchoServerArgs),
    EchoClient(EchoClientArgs),
    LotteryServer(LotteryServerArgs),
    LotteryClient(LotteryClientArgs),
    FtServer(FtServerArgs),
    FtClient(FtClientArgs),
}

impl Invocation {
    /// The program this invocation runs.
    pub fn program(&self) -> Program {
        match self {
            Invocation::DaytimeServer(_) => Program::DaytimeServer,
            Invocation::DaytimeClient(_) => Program::DaytimeClient,
            Invocation::EchoServer(_) => Program::EchoServer,
            Invocation::EchoClient(_) => Program::EchoClient,
            Invocation::LotteryServer(_) => Program::LotteryServer,
            Invocation::LotteryClient(_) => Program::LotteryClient,
            Invocation::FtServer(_) => Program::FtServer,
            Invocation::FtClient(_) => Program::FtClient,
        }
    }

    /// Whether this must run as a process of its own (echo-server `--concurrency fork`).
    pub fn needs_own_process(&self) -> bool {
        matches!(self, Invocation::EchoServer(args) if args.concurrency == Concurrency::Fork)
    }
}

/// The command line did not ask to run the program: print `text` and exit with `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyExit {
    /// What to print (help text, or the usage error with a usage line).
    pub text: String,
    /// True for errors (print on stderr), false for `--help` (stdout).
    pub to_stderr: bool,
    /// 0 after `--help`, 2 for a usage error.
    pub code: i32,
}

/// Parse the arguments of `program` (without the program name itself).
///
/// Usage errors always carry the usage line, as the C programs' `usage: ...`.
pub fn parse(program: Program, args: Vec<OsString>) -> Result<Invocation, EarlyExit> {
    let argv: Vec<OsString> = std::iter::once(OsString::from(program.name()))
        .chain(args)
        .collect();
    match program {
        Program::DaytimeServer => parse_as(argv).map(Invocation::DaytimeServer),
        Program::DaytimeClient => parse_as(argv).map(Invocation::DaytimeClient),
        Program::EchoServer => parse_as(argv).map(Invocation::EchoServer),
        Program::EchoClient => parse_as(argv).map(Invocation::EchoClient),
        Program::LotteryServer => parse_as(argv).map(Invocation::LotteryServer),
        Program::LotteryClient => parse_as(argv).map(Invocation::LotteryClient),
        Program::FtServer => parse_as(argv).map(Invocation::FtServer),
        Program::FtClient => parse_as(argv).map(Invocation::FtClient),
    }
}

fn parse_as<T: Parser>(argv: Vec<OsString>) -> Result<T, EarlyExit> {
    T::try_parse_from(argv).map_err(|error| {
        let mut text = error.render().to_string();
        if error.use_stderr() && !text.contains("Usage: ") {
            let usage = T::command().render_usage().to_string();
            let usage = usage.trim_end();
            text = match text.split_once("\n\nFor more information") {
                Some((message, hint)) => {
                    format!("{message}\n\n{usage}\n\nFor more information{hint}")
                }
                None => format!("{}\n\n{usage}\n", text.trim_end()),
            };
        }
        EarlyExit {
            text,
            to_stderr: error.use_stderr(),
            code: error.exit_code(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn defaults_follow_the_c_programs() {
        let Ok(Invocation::EchoServer(echo)) = parse(Program::EchoServer, args(&[])) else {
            panic!("echo-server without arguments must parse");
        };
        assert_eq!(
            (echo.port, echo.mode, echo.concurrency),
            (9877, EchoMode::Echo, Concurrency::Fork)
        );
        assert_eq!(echo.bind.bind, IpAddr::from([0, 0, 0, 0]));
        let Ok(Invocation::DaytimeClient(day)) = parse(Program::DaytimeClient, args(&["::1"]))
        else {
            panic!("daytime-client ::1 must parse");
        };
        assert_eq!((day.ip, day.port), ("::1".parse().unwrap(), 13));
    }

    #[test]
    fn usage_errors_exit_2_on_stderr_and_help_exits_0_on_stdout() {
        for (program, bad) in [
            (Program::LotteryServer, args(&[])),
            (Program::LotteryServer, args(&["port"])),
            (Program::LotteryServer, args(&["70000"])),
            (Program::LotteryClient, args(&["localhost", "9000"])),
            (Program::FtClient, args(&["127.0.0.1", "9000", "src"])),
            (
                Program::FtClient,
                args(&["127.0.0.1", "9000", "a", "b", "--iterative", "marker"]),
            ),
            (Program::EchoServer, args(&["--concurrency", "threads"])),
        ] {
            let early = parse(program, bad.clone()).expect_err(&format!("{bad:?} must be refused"));
            assert_eq!((early.code, early.to_stderr), (2, true), "{bad:?}");
            assert!(early.text.contains("Usage: "), "{}", early.text);
            assert!(!early.text.contains('\x1b'), "no colours: {}", early.text);
        }
        let help = parse(Program::FtServer, args(&["--help"])).unwrap_err();
        assert_eq!((help.code, help.to_stderr), (0, false));
        assert!(help.text.contains("--iterative <MODE>"), "{}", help.text);
    }

    #[test]
    fn iterative_ft_client_takes_no_paths() {
        let parsed = parse(
            Program::FtClient,
            args(&["127.0.0.1", "9", "--iterative", "new-connection"]),
        );
        let Ok(Invocation::FtClient(ft)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            (ft.iterative, ft.src, ft.dst),
            (Some(IterativeMode::NewConnection), None, None)
        );
    }

    #[test]
    fn fork_is_the_only_invocation_needing_its_own_process() {
        let fork = parse(Program::EchoServer, args(&["1234"])).unwrap();
        let task = parse(
            Program::EchoServer,
            args(&["1234", "--concurrency", "async"]),
        )
        .unwrap();
        assert!(fork.needs_own_process());
        assert!(!task.needs_own_process());
    }
}
