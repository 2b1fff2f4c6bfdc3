//! Facts: what the runner saw, as typed values, before anyone judges them.
//!
//! The run stage (`run/actions/`) does the I/O of a step and records what
//! happened here: how a program ended, which bytes a connection delivered
//! and how the read ended, what a program printed, how many children it
//! has. The check stage (`check/`) turns a fact and the scenario's
//! expectation into a judgement, without any I/O, so every message a
//! student reads can be tested without a process or a socket.
//!
//! Facts about a program say which program it was (the student's or a
//! reference program) and in what state, so that a failed check can name
//! the program at fault.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use socklab_scenario::Stream;

/// Why a wait gave up before it saw what it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The step's deadline passed.
    Deadline,
    /// The scenario settled: no program can change anything any more (all
    /// exited, or all asleep with nothing queued for them), so waiting
    /// longer cannot help.
    Settled,
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub core_dumped: bool,
    /// Set when socklab stopped the program (SIGKILL) because it printed
    /// more than this many bytes on one stream.
    pub output_limit: Option<u64>,
}

impl ExitInfo {
    /// "exited with code 1", "killed by SIGSEGV (segmentation fault), core
    /// dumped", "stopped by socklab: output limit exceeded (1048576 bytes)".
    pub fn describe(&self) -> String {
        if let Some(limit) = self.output_limit {
            return format!("stopped by socklab: output limit exceeded ({limit} bytes)");
        }
        match (self.code, self.signal) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(sig)) => {
                let mut text = format!("killed by {}", signal_description(sig));
                if self.core_dumped {
                    text.push_str(", core dumped");
                }
                text
            }
            (None, None) => "ended".to_string(),
        }
    }

    /// The name of the signal that killed the program (`SIGPIPE`), if one did.
    pub fn signal_name(&self) -> Option<&'static str> {
        self.signal
            .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
            .map(|s| s.as_str())
    }
}

/// `SIGSEGV (segmentation fault)`.
pub fn signal_description(sig: i32) -> String {
    let name = nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"));
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let text = unsafe {
        let ptr = libc::strsignal(sig);
        if ptr.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(ptr)
                .to_string_lossy()
                .to_lowercase()
        }
    };
    if text.is_empty() {
        name
    } else {
        format!("{name} ({text})")
    }
}

/// Where a started program came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramOrigin {
    /// The student's build.
    Submission,
    /// A reference program (`lottery-server`), in a process or in socklab.
    Reference { program: String },
}

/// Which program a fact is about, and in what state it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFact {
    /// The scenario's name for it (`server`).
    pub name: String,
    /// `LotteryServer (submission)`, `LotteryServer (reference lottery-server)`.
    pub label: String,
    pub origin: ProgramOrigin,
    /// How it ended, if it had ended when the fact was taken.
    pub exit: Option<ExitInfo>,
    /// What the kernel said about it, gathered when a check is about to
    /// fail on it (reading it costs milliseconds).
    pub details: Option<ProgramDetails>,
}

/// A program's state in words, for a failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramDetails {
    /// A phrase after the program's name: "is still sleeping (blocked in
    /// accept()); its TCP sockets: …", "exited with code 1", "was killed by
    /// SIGSEGV (segmentation fault)".
    pub state: String,
    /// The label, the state, a process-limit note and the tails of its
    /// output: what a failed check shows as observed.
    pub context: String,
}

impl ProgramFact {
    /// The phrase for the program's state ("is still running" when no
    /// details were gathered).
    pub fn state(&self) -> String {
        match (&self.details, self.exit) {
            (Some(details), _) => details.state.clone(),
            (None, Some(info)) if info.code.is_some() => info.describe(),
            (None, Some(info)) => format!("was {}", info.describe()),
            (None, None) => "is still running".to_string(),
        }
    }

    /// What a failed check shows as observed about the program.
    pub fn context(&self) -> String {
        match &self.details {
            Some(details) => details.context.clone(),
            None => format!("{} {}", self.label, self.state()),
        }
    }

    pub fn is_submission(&self) -> bool {
        self.origin == ProgramOrigin::Submission
    }
}

/// What a student's program did, gathered when a check failed, so that the
/// failure names the program whose behaviour caused it and says what it
/// did (`check::blame`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conduct {
    /// The program, and how it ended if it did.
    pub program: ProgramFact,
    /// What the kernel shows it doing while it runs: "is asleep in
    /// accept() on fd 3", or for the child that holds its connection "has
    /// a child (pid 42) that is running".
    pub doing: Option<String>,
    /// CPU it used during a short look, and how long the look was.
    pub busy: Option<(Duration, Duration)>,
    /// It still holds an open TCP connection.
    pub holds_connection: bool,
    /// Bytes it sent on its connections (acknowledged by the other side).
    pub sent: Option<u64>,
    /// What the last bytes it sent look like, when that tells something.
    pub sent_kind: Option<String>,
    /// Bytes of output kept, and bytes beyond the output limit.
    pub printed: u64,
    pub printed_dropped: u64,
}

/// A wait for a program to listen on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenFact {
    pub program: ProgramFact,
    pub port: u16,
    /// The course option the port is (`daytime_port`), when it is one:
    /// a program that listens elsewhere may follow another course's value.
    pub option: Option<String>,
    /// Where the program does listen, when not (only) on `port`.
    pub elsewhere: Vec<SocketAddr>,
    pub outcome: ListenOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenOutcome {
    Listening,
    /// The program ended before it listened.
    Exited(ExitInfo),
    /// It did not listen within the step's time (how long that was).
    NotYet {
        waited: Duration,
        why: Expired,
    },
}

/// A wait for a program's output to show a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedFact {
    pub program: ProgramFact,
    /// Everything the program printed after the step's starting point, up
    /// to when the wait ended.
    pub seen: Vec<u8>,
    pub outcome: PrintedOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintedOutcome {
    /// The pattern ends this many bytes into `seen`.
    Found {
        end: usize,
    },
    /// The stream ended first.
    Closed,
    Expired(Expired),
}

/// What a program printed on one stream, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOutput {
    pub stream: Stream,
    pub data: Vec<u8>,
    /// Bytes beyond the output limit, counted and dropped.
    pub dropped: u64,
}

/// A program's output at the time of an `output` check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFact {
    pub program: ProgramFact,
    /// One stream, or stdout and stderr for `stream: any`.
    pub streams: Vec<StreamOutput>,
    /// Whether both streams were looked at (`stream: any`).
    pub any_stream: bool,
}

/// A wait for a program to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitFact {
    pub program: ProgramFact,
    /// `None`: it had not ended when the wait gave up.
    pub exit: Option<ExitInfo>,
}

/// Whether a program (with the processes it forked) came to rest: every
/// process ended, or asleep and not woken between two looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleFact {
    pub program: ProgramFact,
    /// How long socklab looked.
    pub waited: Duration,
    /// `None`: it came to rest. Otherwise what kept it busy at the last look.
    pub busy: Option<Vec<ProcessActivity>>,
    /// When every process slept at the last look but something was still
    /// on its way to them: what (`run::settle`'s words).
    pub unsettled: Vec<String>,
}

/// One process of a program, as the kernel showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessActivity {
    pub pid: u32,
    pub comm: String,
    /// "running", "sleeping in read() on fd 4", "exited".
    pub doing: String,
    /// CPU time it used while socklab looked.
    pub cpu: Duration,
}

/// A program's child processes, as `/proc` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildrenFact {
    pub total: u32,
    /// Children that exited but were never waited for.
    pub zombies: u32,
    /// When asked: the children that hold a TCP connection.
    pub connected: Option<u32>,
}

/// How a read from a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// Bytes arrived (enough for what was asked).
    Data,
    /// The other side closed the connection (FIN).
    Eof,
    /// The other side reset the connection (RST, not a normal close).
    Reset,
    /// Nothing more arrived in time.
    Expired(Expired),
    /// Reading failed otherwise (with the system's words).
    Error(String),
}

/// Bytes a connection delivered to a step, and how the reading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub end: ReadEnd,
}

/// A wait for bytes matching a pattern (`recv: { until: … }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntilFact {
    /// The bytes up to the end of the match, taken from the connection.
    pub matched: Option<Vec<u8>>,
    /// Without a match: what had arrived and was not consumed.
    pub pending: Vec<u8>,
    pub end: ReadEnd,
}

/// A reply read whole (`recv: { message: … }`): everything that arrived
/// once the first bytes came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFact {
    /// How waiting for the first bytes ended ([`ReadEnd::Data`] if some
    /// were already waiting).
    pub first: ReadEnd,
    pub reply: Vec<u8>,
}

/// A wait during which nothing should arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SilenceFact {
    /// Nothing arrived until the wait ended: at its deadline, or when the
    /// scenario settled (nothing could arrive any more).
    Quiet(Expired),
    /// Bytes arrived (possibly none, when the connection was closed).
    Broken { arrived: Vec<u8>, closed: bool },
}

/// A connection socklab tried to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectFact {
    pub addr: SocketAddr,
    pub outcome: ConnectOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectOutcome {
    Connected,
    /// `connect()` failed: refused (nothing listening), or otherwise (with
    /// the system's words).
    Failed {
        refused: bool,
        error: String,
    },
    Expired(Expired),
}

/// A connection a socklab peer waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptFact {
    Accepted {
        from: SocketAddr,
    },
    /// None arrived before the wait ended.
    Expired(Expired),
    /// Waiting failed: the system's words (or this peer does not listen).
    Failed {
        why: String,
    },
}

/// A file a program should have written: where it is, shown relative to
/// the scenario's folder where it is inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFact {
    pub shown: String,
    pub path: PathBuf,
    pub content: FileContent,
}

/// What was found at a file's place, looked at without following links
/// (see `run/actions/file.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// Its bytes (a regular file, read for `matches`).
    Bytes(Vec<u8>),
    /// A regular file is there (only existence was asked).
    Present,
    /// Nothing is there.
    Absent,
    /// Something is there that socklab does not read on a program's
    /// behalf, in words: "a FIFO (named pipe)", "a link to outside the
    /// program's folder", "larger than 67108864 bytes".
    Refused(String),
    /// A regular file that could not be read (the system's words).
    Unreadable(String),
}

impl FileContent {
    /// Whether anything is at the file's place.
    pub fn exists(&self) -> bool {
        !matches!(self, FileContent::Absent)
    }
}

/// A program that passed its output limit: which, on which stream, and the
/// limit. socklab stopped it at once, and its scenario ended with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOverflow {
    /// `LotteryServer (submission)`.
    pub label: String,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    pub limit: u64,
}

/// What the sandbox saw beside the steps, when the scenario ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxFact {
    /// The process limit and how many forks it refused.
    pub process_limit: Option<(u64, u64)>,
    /// The memory limit (bytes) and how many programs the kernel killed for it.
    pub memory: Option<(u64, u64)>,
    /// What the programs left outside their folders (path, and what it
    /// is), where the sandbox can tell.
    pub stray_files: Option<Vec<(PathBuf, socklab_reference::beneath::Kind)>>,
    /// The programs used their whole CPU quota long enough to be slowed
    /// down: the CPU time they had used (the manifest's `slow_down_after`).
    pub cpu_hog: Option<std::time::Duration>,
}
