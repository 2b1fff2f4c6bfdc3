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
    /// The listening port as an option, e.g. before the address as a lab's
    /// reference command gives it (`--port 12345 127.0.0.1`); instead of PORT.
    #[arg(long = "port", value_name = "PORT", conflicts_with = "port")]
    pub port_option: Option<u16>,
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
    /// The server port as an option, e.g. before the address as a lab's
    /// reference command gives it (`--port 12345 127.0.0.1`); instead of PORT.
    #[arg(long = "port", value_name = "PORT", conflicts_with = "port")]
    pub port_option: Option<u16>,
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
    /// The listening port as an option, e.g. before the address as a lab's
    /// reference command gives it (`--port 12345 127.0.0.1`); instead of PORT.
    #[arg(long = "port", value_name = "PORT", conflicts_with = "port")]
    pub port_option: Option<u16>,
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
    /// The server port as an option, e.g. before the address as a lab's
    /// reference command gives it (`--port 12345 127.0.0.1`); instead of PORT.
    #[arg(long = "port", value_name = "PORT", conflicts_with = "port")]
    pub port_option: Option<u16>,
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

/// How the iterative file transfer carries several files.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterativeMode {
    /// A new connection per file; the server loops on accept.
    NewConnection,
    /// One connection for all files; a segment with len 0 ends each file and
    /// the client ends the session by closing (one-connection with the defaults).
    Marker,
    /// One connection for all files, each ended as --end-of-file says, the
    /// session as --end-of-session says.
    OneConnection,
}

/// What ends each file on a connection that carries several.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndOfFile {
    /// A segment with len 0 follows each file's data.
    #[default]
    #[value(name = "len-0")]
    LenZero,
    /// The file's last segment carries fewer than 256 bytes: a segment with
    /// len 0 follows when the size is a multiple of 256 (an empty file too).
    ShortSegment,
}

impl EndOfFile {
    /// The name on command lines and in lab.yaml.
    pub fn name(self) -> &'static str {
        match self {
            EndOfFile::LenZero => "len-0",
            EndOfFile::ShortSegment => "short-segment",
        }
    }
}

/// What ends an iterative session that keeps one connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionEnd {
    /// The client closes the connection (the server reads end of stream).
    #[default]
    ClientCloses,
    /// The client sends this text where a path would go (e.g. `TERMINATE
    /// CONNECTION`), then closes.
    ClientSends(String),
}

impl SessionEnd {
    /// Parses `client-closes` or `client-sends TEXT`.
    pub fn parse(text: &str) -> Result<SessionEnd, String> {
        if text == "client-closes" {
            return Ok(SessionEnd::ClientCloses);
        }
        let Some(sent) = text.strip_prefix("client-sends ") else {
            return Err(format!(
                "`{text}` is not an end of session: write `client-closes`, or `client-sends TEXT` (e.g. `client-sends TERMINATE CONNECTION`)"
            ));
        };
        if sent.is_empty() || sent.len() > MAX_SESSION_TEXT {
            return Err(format!(
                "the text of `client-sends` must be 1 to {MAX_SESSION_TEXT} bytes (the server reads it with the one read() of a path), not {}",
                sent.len()
            ));
        }
        Ok(SessionEnd::ClientSends(sent.to_string()))
    }
}

impl std::fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionEnd::ClientCloses => f.write_str("client-closes"),
            SessionEnd::ClientSends(text) => write!(f, "client-sends {text}"),
        }
    }
}

/// The longest end-of-session text: what one read of a path takes.
pub const MAX_SESSION_TEXT: usize = crate::wire::filetransfer::MAX_PATH;

/// The iterative file-transfer convention a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convention {
    /// A new connection per file: the server closes after each file, and
    /// loops on accept until it is stopped.
    ConnectionPerFile,
    /// One connection for every file.
    OneConnection {
        /// What ends each file.
        end_of_file: EndOfFile,
        /// What ends the session.
        end_of_session: SessionEnd,
    },
}

/// The convention of `--iterative MODE --end-of-file … --end-of-session …`;
/// `Err` says why the flags contradict the mode. `new-connection` and
/// `marker` fix their own convention and accept only the defaults
/// (`len-0`, `client-closes`), which lab manifests pass whatever the mode.
pub fn convention(
    mode: IterativeMode,
    end_of_file: Option<EndOfFile>,
    end_of_session: Option<&SessionEnd>,
) -> Result<Convention, String> {
    let end_of_file = end_of_file.unwrap_or_default();
    let end_of_session = end_of_session.cloned().unwrap_or_default();
    let defaults = end_of_file == EndOfFile::default() && end_of_session == SessionEnd::default();
    match mode {
        IterativeMode::OneConnection => Ok(Convention::OneConnection {
            end_of_file,
            end_of_session,
        }),
        IterativeMode::Marker if defaults => Ok(Convention::OneConnection {
            end_of_file,
            end_of_session,
        }),
        IterativeMode::NewConnection if defaults => Ok(Convention::ConnectionPerFile),
        IterativeMode::Marker => Err(format!(
            "--iterative marker means --end-of-file len-0 and --end-of-session client-closes; \
             for --end-of-file {} --end-of-session \"{end_of_session}\" write --iterative one-connection",
            end_of_file.name()
        )),
        IterativeMode::NewConnection => Err(format!(
            "--iterative new-connection ends each file by closing its connection and has no session to end; \
             --end-of-file {} --end-of-session \"{end_of_session}\" need --iterative one-connection",
            end_of_file.name()
        )),
    }
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
    /// With one-connection: what ends each file (default len-0).
    #[arg(long, value_enum, value_name = "MARK", requires = "iterative")]
    pub end_of_file: Option<EndOfFile>,
    /// With one-connection: `client-closes` (default), or `client-sends TEXT`
    /// (the server exits 0 when it reads TEXT where a path would be).
    #[arg(long, value_name = "END", value_parser = SessionEnd::parse, requires = "iterative")]
    pub end_of_session: Option<SessionEnd>,
    /// Byte order of the segments' len field.
    #[arg(long, value_enum, default_value_t = ByteOrder::Host)]
    pub byte_order: ByteOrder,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub bind: BindArg,
}

impl FtServerArgs {
    /// The iterative convention asked for (`None`: one file, then exit).
    pub fn convention(&self) -> Result<Option<Convention>, String> {
        self.iterative
            .map(|mode| convention(mode, self.end_of_file, self.end_of_session.as_ref()))
            .transpose()
    }
}

/// `ft-client IP PORT SRC DST`, or `ft-client IP PORT --iterative MODE`.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(name = "ft-client", color = ColorChoice::Never)]
#[command(
    about = "File-transfer client: asks the server for SRC and stores it as DST (with --iterative: SRC DST lines from stdin, `quit` or end of input ends)"
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
    /// With one-connection: what ends each file (default len-0).
    #[arg(long, value_enum, value_name = "MARK", requires = "iterative")]
    pub end_of_file: Option<EndOfFile>,
    /// With one-connection: `client-closes` (default), or `client-sends TEXT`
    /// (sent where a path would go after the last file, then the client closes).
    #[arg(long, value_name = "END", value_parser = SessionEnd::parse, requires = "iterative")]
    pub end_of_session: Option<SessionEnd>,
    /// Byte order of the segments' len field.
    #[arg(long, value_enum, default_value_t = ByteOrder::Host)]
    pub byte_order: ByteOrder,
}

impl FtClientArgs {
    /// The iterative convention asked for (`None`: SRC and DST, one file).
    pub fn convention(&self) -> Result<Option<Convention>, String> {
        self.iterative
            .map(|mode| convention(mode, self.end_of_file, self.end_of_session.as_ref()))
            .transpose()
    }
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
        Program::DaytimeServer => parse_as(argv).map(|mut a: DaytimeServerArgs| {
            a.port = a.port_option.take().unwrap_or(a.port);
            Invocation::DaytimeServer(a)
        }),
        Program::DaytimeClient => parse_as(argv).map(|mut a: DaytimeClientArgs| {
            a.port = a.port_option.take().unwrap_or(a.port);
            Invocation::DaytimeClient(a)
        }),
        Program::EchoServer => parse_as(argv).map(|mut a: EchoServerArgs| {
            a.port = a.port_option.take().unwrap_or(a.port);
            Invocation::EchoServer(a)
        }),
        Program::EchoClient => parse_as(argv).map(|mut a: EchoClientArgs| {
            a.port = a.port_option.take().unwrap_or(a.port);
            Invocation::EchoClient(a)
        }),
        Program::LotteryServer => parse_as(argv).map(Invocation::LotteryServer),
        Program::LotteryClient => parse_as(argv).map(Invocation::LotteryClient),
        Program::FtServer => {
            let args: FtServerArgs = parse_as(argv)?;
            checked::<FtServerArgs>(args.convention())?;
            Ok(Invocation::FtServer(args))
        }
        Program::FtClient => {
            let args: FtClientArgs = parse_as(argv)?;
            checked::<FtClientArgs>(args.convention())?;
            Ok(Invocation::FtClient(args))
        }
    }
}

fn parse_as<T: Parser>(argv: Vec<OsString>) -> Result<T, EarlyExit> {
    T::try_parse_from(argv).map_err(early_exit::<T>)
}

/// A usage error for flags that parse but contradict each other.
fn checked<T: Parser>(result: Result<impl Sized, String>) -> Result<(), EarlyExit> {
    result.map(drop).map_err(|message| {
        early_exit::<T>(T::command().error(clap::error::ErrorKind::ArgumentConflict, message))
    })
}

fn early_exit<T: Parser>(error: clap::Error) -> EarlyExit {
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
        // A lab's reference command puts the port first, as an option.
        let Ok(Invocation::DaytimeClient(day)) = parse(
            Program::DaytimeClient,
            args(&["--port", "12345", "127.0.0.1"]),
        ) else {
            panic!("daytime-client --port 12345 127.0.0.1 must parse");
        };
        assert_eq!((day.ip, day.port), ("127.0.0.1".parse().unwrap(), 12345));
        let Ok(Invocation::EchoServer(echo)) = parse(
            Program::EchoServer,
            args(&["--concurrency", "async", "--port", "9900"]),
        ) else {
            panic!("echo-server --port 9900 must parse");
        };
        assert_eq!(echo.port, 9900);
        assert!(
            parse(
                Program::EchoClient,
                args(&["--port", "1", "127.0.0.1", "2"])
            )
            .is_err(),
            "the port is given once"
        );
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
    fn conventions_from_modes_and_markers() {
        let sends = SessionEnd::parse("client-sends TERMINATE CONNECTION").unwrap();
        assert_eq!(
            sends,
            SessionEnd::ClientSends("TERMINATE CONNECTION".into())
        );
        assert_eq!(sends.to_string(), "client-sends TERMINATE CONNECTION");
        assert_eq!(
            convention(IterativeMode::Marker, None, None),
            Ok(Convention::OneConnection {
                end_of_file: EndOfFile::LenZero,
                end_of_session: SessionEnd::ClientCloses
            })
        );
        // What lab.yaml passes with its defaults works for every mode.
        let closes = SessionEnd::ClientCloses;
        for mode in [IterativeMode::NewConnection, IterativeMode::Marker] {
            assert!(convention(mode, Some(EndOfFile::LenZero), Some(&closes)).is_ok());
            assert!(convention(mode, Some(EndOfFile::ShortSegment), None).is_err());
            assert!(convention(mode, None, Some(&sends)).is_err());
        }
        assert_eq!(
            convention(
                IterativeMode::OneConnection,
                Some(EndOfFile::ShortSegment),
                Some(&sends)
            ),
            Ok(Convention::OneConnection {
                end_of_file: EndOfFile::ShortSegment,
                end_of_session: sends.clone()
            })
        );
        assert!(SessionEnd::parse(&format!("client-sends {}", "x".repeat(257))).is_err());
        let parsed = parse(
            Program::FtClient,
            args(&[
                "127.0.0.1",
                "9",
                "--iterative",
                "one-connection",
                "--end-of-session",
                "client-sends TERMINATE CONNECTION",
            ]),
        );
        let Ok(Invocation::FtClient(ft)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(ft.end_of_session, Some(sends));
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
