//! The validated scenario model: what the planner and runner consume.
//!
//! Everything here is checked: durations parsed, templates parsed, regexes
//! compiled once, names resolved against declarations. A runner never has to
//! wonder whether a field makes sense for an action.
//!
//! Layer: above [`crate::spanned`] and [`crate::template`]; knows no YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::spanned::Loc;
use crate::template::Template;

/// Default deadline of a step.
pub const DEFAULT_STEP_DEADLINE: Duration = Duration::from_secs(5);
/// Default deadline of a scenario.
pub const DEFAULT_SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// A loaded scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    pub path: PathBuf,
    pub scenarios: Vec<Scenario>,
}

/// One scenario, with its matrix already expanded.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Full name, with the matrix combination: `lottery/basic[client=reference]`.
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    pub loc: Loc,
    pub points: f64,
    pub observe: bool,
    pub timeout: Duration,
    pub hosts: Vec<String>,
    pub ports: BTreeMap<String, PortSpec>,
    pub fixtures: BTreeMap<String, Fixture>,
    pub matrix: BTreeMap<String, String>,
    pub tags: Vec<String>,
    /// Course options this scenario is for (`when:`); empty: every course.
    pub when: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Whether the scenario belongs to a suite with these course options:
    /// every option named in `when:` has the value given there. Without a
    /// manifest (`None`) no option has a value, so only scenarios without
    /// `when:` belong.
    pub fn applies_to(&self, options: Option<&BTreeMap<String, String>>) -> bool {
        self.when
            .iter()
            .all(|(name, value)| options.and_then(|o| o.get(name)) == Some(value))
    }

    /// Whether the scenario needs hosts with separate addresses.
    pub fn needs_separate_hosts(&self) -> bool {
        self.hosts.len() > 1
    }
    /// The fixed port numbers it needs (which serialise scenarios without namespaces).
    pub fn fixed_ports(&self) -> Vec<u16> {
        self.ports.values().filter_map(PortSpec::number).collect()
    }
}

/// A port of a scenario's `ports:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// A number written in the scenario (`daytime: 13`).
    Fixed(u16),
    /// A free port, chosen when the scenario runs.
    Auto,
    /// A course option's value (`daytime: "{{options.daytime_port}}"`): the
    /// port a program of the lab has built in, which the course may change.
    Option { name: String, number: u16 },
}

impl PortSpec {
    /// The port's number, when it is fixed before the scenario runs.
    pub fn number(&self) -> Option<u16> {
        match self {
            PortSpec::Fixed(n) | PortSpec::Option { number: n, .. } => Some(*n),
            PortSpec::Auto => None,
        }
    }

    /// The course option the port comes from, if it does.
    pub fn option(&self) -> Option<&str> {
        match self {
            PortSpec::Option { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// How a fixture's bytes are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fixture {
    Bytes(Vec<u8>),
    Random { size: u64, seed: u64 },
    Zeros(u64),
    Lines { count: u64, width: u64, seed: u64 },
}

/// A step: its action, how it is scored, and where it was written.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub meta: StepMeta,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct StepMeta {
    pub title: Option<String>,
    pub hint: Option<String>,
    pub weight: f64,
    pub observe: bool,
    pub soft: bool,
    pub within: Duration,
}

/// Where a started program comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Submission,
    Reference,
    /// Resolved per matrix combination at expansion time; never seen by runners.
    Templated(Template),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinMode {
    Pty,
    Pipe,
    Null,
    /// The named fixture's file is the program's stdin (stdout is a pipe).
    Fixture(String),
}

/// Which of a program's streams an `output` step looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    One(Stream),
    /// Stdout or stderr: the check holds for either (`not_contains`: for both).
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Host,
    Little,
    Big,
}

/// A pattern to find in a program's output or a peer's bytes.
#[derive(Debug, Clone)]
pub enum Pattern {
    Text(Template),
    Regex(RegexTemplate),
}

/// A regex that may contain placeholders (substituted, escaped, at run time).
#[derive(Debug, Clone)]
pub struct RegexTemplate {
    pub template: Template,
    /// Names of the capture groups, in order.
    pub captures: Vec<String>,
    /// Without placeholders: the regex, compiled the first time a run
    /// matches it and shared by every copy of the scenario. Reading a lab
    /// only parses its regexes (enough to check them and name their
    /// groups): compiling every regex of a lab took a fifth of socklab's
    /// start-up, for scenarios `--only` may leave out.
    literal: Option<Arc<OnceLock<Result<regex::bytes::Regex, String>>>>,
}

impl RegexTemplate {
    /// `template` was checked to parse as a regex, with `captures` its
    /// group names.
    pub fn new(template: Template, captures: Vec<String>) -> RegexTemplate {
        let literal = template.is_literal().then(Default::default);
        RegexTemplate {
            template,
            captures,
            literal,
        }
    }

    /// Without placeholders: the compiled regex (compiled now the first
    /// time), or why it does not compile (a parsed regex can still be too
    /// large to compile).
    pub fn compiled(&self) -> Option<Result<&regex::bytes::Regex, &str>> {
        let cell = self.literal.as_ref()?;
        let compiled = cell.get_or_init(|| {
            regex::bytes::Regex::new(&self.template.source).map_err(|e| e.to_string())
        });
        Some(compiled.as_ref().map_err(String::as_str))
    }
}

#[derive(Debug, Clone)]
pub struct StartSpec {
    pub name: String,
    pub program: Template,
    pub origin: Origin,
    pub in_process: bool,
    pub host: Option<String>,
    pub args: Vec<Template>,
    pub stdin: StdinMode,
}

#[derive(Debug, Clone)]
pub enum TypeInput {
    Text(Template),
    Fixture(String),
    Eof,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitExpect {
    Code(i32),
    Nonzero,
    Any,
    Signal(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountSpec {
    pub exact: Option<u32>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum OutputCheck {
    Equals(Template),
    Contains(Template),
    NotContains(Template),
    Regex(RegexTemplate),
    Fixture(String),
}

#[derive(Debug, Clone)]
pub enum SendData {
    Text(Template),
    Hex(Vec<u8>),
    Int32 { value: i32, endian: Endian },
    Fixture(String),
}

#[derive(Debug, Clone)]
pub enum RecvSpec {
    Exact(Template),
    ExactHex(Vec<u8>),
    Bytes(u64),
    Until(RegexTemplate),
    Message(RegexTemplate),
    Eof(Option<EofCheck>),
}

#[derive(Debug, Clone)]
pub enum EofCheck {
    Text(Template),
    Regex(RegexTemplate),
    Fixture(String),
    Segments(String),
}

#[derive(Debug, Clone)]
pub enum FileCheck {
    Matches(String),
    Exists(bool),
}

#[derive(Debug, Clone, Default)]
pub struct AssertSpec {
    pub count: Option<u32>,
    pub distinct: bool,
    pub range: Option<(i64, i64)>,
    pub equals: Option<Template>,
    /// Every value is a ctime() time within this of now.
    pub near_now: Option<Duration>,
}

/// Fault injection on one direction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fault {
    /// The messages of this direction are records of this many bytes (a
    /// file segment: 260); without it, a message is what the sender's one
    /// write delivered.
    pub frame: Option<u64>,
    pub slice: Option<(u64, u64)>,
    pub delay: Option<Duration>,
    pub rate: Option<u64>,
    pub reset_after: Option<u64>,
    pub close_after: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub to_client: Fault,
    pub to_server: Fault,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct ProxySpec {
    pub name: String,
    pub port: Template,
    pub upstream: Template,
    /// The host the proxy listens on.
    pub host: Option<String>,
    /// The host it connects to `upstream` from (default: `host`).
    pub dial_from: Option<String>,
    pub faults: Faults,
}

/// What a step does. Each variant is defined (keyword, parameters, check
/// or not, default title, validation) by its file under
/// [`crate::actions`], which also implements [`Action::keyword`],
/// [`Action::is_check`] and [`Action::default_title`].
#[derive(Debug, Clone)]
pub enum Action {
    Start(StartSpec),
    WaitListen {
        program: String,
        port: Template,
    },
    Type {
        program: String,
        input: TypeInput,
    },
    Expect {
        program: String,
        stream: Stream,
        pattern: Pattern,
    },
    Exit {
        program: String,
        expect: ExitExpect,
    },
    Running {
        program: String,
        hold: Option<Duration>,
    },
    Idle {
        program: String,
    },
    Children {
        program: String,
        count: CountSpec,
        zombies: Option<u32>,
        /// Count only the children holding a TCP connection.
        connected: bool,
    },
    Stop {
        program: String,
        signal: Option<String>,
    },
    /// SIGSTOP to the program's own process: signals to it wait until
    /// `Resume`.
    Suspend {
        program: String,
    },
    /// SIGCONT to a suspended program, once its children have ended when
    /// `children_ended`.
    Resume {
        program: String,
        children_ended: bool,
    },
    Output {
        program: String,
        stream: OutputStream,
        check: OutputCheck,
    },
    Proxy(ProxySpec),
    Connect {
        peer: String,
        to: Template,
        host: Option<String>,
        refused: bool,
    },
    Listen {
        peer: String,
        port: Template,
        host: Option<String>,
    },
    Accept {
        peer: String,
    },
    Send {
        peer: String,
        data: SendData,
        /// Sizes of the pieces the bytes are sent in (the rest in a last
        /// piece), each once the reader has taken the one before; empty:
        /// in one write.
        pieces: Vec<usize>,
    },
    Recv {
        peer: String,
        spec: RecvSpec,
    },
    Silence {
        peer: String,
        hold: Duration,
    },
    Shutdown {
        peer: String,
    },
    Close {
        peer: String,
    },
    File {
        path: Template,
        check: FileCheck,
    },
    Assert {
        var: String,
        spec: AssertSpec,
    },
    Packets {
        of: PacketsOf,
        checks: PacketChecks,
    },
    Repeat {
        times: u32,
        steps: Vec<Step>,
    },
    Concurrently {
        branches: Vec<Vec<Step>>,
    },
}

/// Which connection a `packets` step looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketsOf {
    /// The connection socklab's peer made (`connect`) or accepted (`accept`).
    Peer(String),
    /// The connection a program took part in, to the server at `to`
    /// (`HOST:PORT`); on several hosts, one end on the program's host.
    Program { program: String, to: Template },
}

impl PacketsOf {
    /// The peer or program named.
    pub fn name(&self) -> &str {
        match self {
            PacketsOf::Peer(peer) => peer,
            PacketsOf::Program { program, .. } => program,
        }
    }
}

/// One end of a TCP connection, as the packet checks name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionSide {
    /// The side that connected (sent the SYN).
    Client,
    /// The side that accepted.
    Server,
}

impl ConnectionSide {
    pub fn name(self) -> &'static str {
        match self {
            ConnectionSide::Client => "client",
            ConnectionSide::Server => "server",
        }
    }
}

/// What a `packets` step checks on its connection; each `Some`/`true` is a
/// check, all judged from the capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketChecks {
    /// SYN, SYN-ACK, ACK between the expected ends.
    pub handshake: bool,
    /// Every data segment from the client carries exactly this many bytes.
    pub client_sends: Option<u32>,
    /// Every data segment from the server carries exactly this many bytes.
    pub server_sends: Option<u32>,
    /// No NUL byte in what these sides send.
    pub no_nul: Vec<ConnectionSide>,
    /// This side sends the first FIN, the other's follows.
    pub first_fin: Option<ConnectionSide>,
    /// No RST from either side.
    pub no_rst: bool,
    /// What the client sends is a whole number of records of this size.
    pub client_records: Option<u32>,
    /// What the server sends is a whole number of records of this size.
    pub server_records: Option<u32>,
}

/// A Lab manifest: the programs a submission provides, how to build them,
/// the course's options and limits, and the scenario files with a points total.
#[derive(Debug, Clone)]
pub struct LabManifest {
    pub path: PathBuf,
    pub lab: String,
    pub title: String,
    /// Total points the suite is scaled to (None: the scenarios' own sum).
    pub total: Option<f64>,
    pub build: BuildSpec,
    pub programs: BTreeMap<String, ProgramSpec>,
    pub options: BTreeMap<String, String>,
    pub scenario_files: Vec<PathBuf>,
    pub limits: Limits,
}

impl LabManifest {
    /// What scenario files of this lab are validated against.
    pub fn context(&self) -> LabContext {
        LabContext {
            options: self.options.clone(),
            programs: Some(self.programs.keys().cloned().collect()),
        }
    }
}

/// What validation knows about a scenario file's lab when its manifest is
/// known: the course options (`{{options.NAME}}`, `when:`) and the programs
/// a submission provides (`program:` of a `start:`). It exists so that a
/// misspelt option or program is an error at its line, not a zero for every
/// student at run time.
#[derive(Debug, Clone, Default)]
pub struct LabContext {
    pub options: BTreeMap<String, String>,
    /// The manifest's program names; `None` leaves `program:` unchecked.
    pub programs: Option<BTreeSet<String>>,
}

impl LabContext {
    /// A lab known only by its course options (`program:` unchecked).
    pub fn with_options(options: BTreeMap<String, String>) -> LabContext {
        LabContext {
            options,
            programs: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BuildSpec {
    pub timeout: Duration,
    pub compiler: String,
    pub flags: Vec<String>,
    pub make: MakePolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MakePolicy {
    /// `make` when the submission has a Makefile, else the compiler per program.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct ProgramSpec {
    pub name: String,
    pub sources: Vec<String>,
    pub usage: Option<String>,
    /// Reference command that stands in for this program: a reference program
    /// name plus leading arguments (templated with options).
    pub reference: Option<Vec<Template>>,
}

/// Resource limits per student program.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub cpu: Duration,
    pub memory: u64,
    pub processes: u64,
    pub open_files: u64,
    pub file_size: u64,
    pub output: u64,
    /// The CPU time a scenario's programs may use together at full quota
    /// (half a core) before they are slowed to a twentieth of a core.
    pub slow_down_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu: Duration::from_secs(10),
            memory: 512 * 1024 * 1024,
            processes: 64,
            open_files: 256,
            file_size: 64 * 1024 * 1024,
            output: 1024 * 1024,
            slow_down_after: Duration::from_millis(250),
        }
    }
}
