//! The `socklab` command line: arguments, and [`run`], which carries out a
//! command and returns its exit code or an [`Error`] (the binary's `main`
//! prints the error and exits with [`Error::exit_code`]).
//!
//! Exit codes: 0 everything passed, 1 some check failed, 2 bad usage or a bad
//! scenario file, 3 socklab itself failed, 130 interrupted (SIGINT), 143
//! terminated (SIGTERM).

mod commands;
mod interrupt;
mod progress;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};

use socklab_report::Format;

pub use crate::error::{EXIT_FAILED, EXIT_INTERNAL, EXIT_PASSED, EXIT_USAGE, Error};
use crate::sandbox::IsolationRequest;
pub use setup::{load_suite, settings_for};

#[derive(Parser)]
#[command(
    name = "socklab",
    version,
    about = "Run, check and grade TCP socket-programming labs",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit codes, for `--help`.
const EXIT_CODES: &str = "Exit codes: 0 every scored check passed (grade: every submission graded, \
whatever the scores), 1 some check failed, 2 bad usage or a bad scenario file, 3 socklab itself \
failed, 130 interrupted (SIGINT), 143 terminated (SIGTERM).";

/// The lab of scenario files (`--lab`): its programs, build, options and
/// limits apply, and validation checks program and option names.
const LAB_HELP: &str = "The lab the scenario files belong to: its lab.yaml or the folder holding it \
(default: a lab.yaml beside the files). Its programs are built from the submission's sources \
and its course options apply.";

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against one submission directory.
    Run(RunArgs),
    /// Check scenario files and lab manifests; print every problem found.
    Validate {
        /// Scenario files, or a lab's lab.yaml (or the folder holding it) for the whole suite.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, value_name = "LAB", help = LAB_HELP)]
        lab: Option<PathBuf>,
        /// Set a course option of lab.yaml, e.g. `--option daytime_port=12345`; may be repeated.
        #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
        options: Vec<(String, String)>,
    },
    /// List the scenarios of files or a lab manifest, with points.
    List {
        /// Scenario files, or a lab's lab.yaml (or the folder holding it) for the whole suite.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, value_name = "LAB", help = LAB_HELP)]
        lab: Option<PathBuf>,
        /// Set a course option of lab.yaml, e.g. `--option echo_mode=sum`; may be repeated.
        #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
        options: Vec<(String, String)>,
    },
    /// Print the JSON Schema of scenario files (or of lab manifests).
    Schema {
        /// The lab manifest's schema instead.
        #[arg(long)]
        manifest: bool,
    },
    /// Grade every submission (directory, .zip, .tar.gz) in a directory.
    #[command(after_help = GRADE_EXIT)]
    Grade(GradeArgs),
    /// Combine the output directories of shards into one.
    Merge {
        /// Output directories of `socklab grade --shard K/N`.
        #[arg(required = true, value_name = "SHARD_OUT")]
        inputs: Vec<PathBuf>,
        /// Where the combined results go (the same files as one `grade` run).
        #[arg(long, value_name = "OUT")]
        out: PathBuf,
    },
    /// Check the submission in the current directory: the feedback a TA sees.
    Check(CheckArgs),
    /// Read a capture (pcap or pcapng, from Wireshark or tcpdump), draw its
    /// TCP connections and, with --lab, judge whether it shows a whole session.
    Packets(PacketsArgs),
    /// Run a reference program: `socklab reference lottery-server 9000`.
    #[command(disable_help_flag = true, long_about = REFERENCE_HELP)]
    Reference {
        /// The reference program: daytime-server, daytime-client, echo-server, echo-client,
        /// lottery-server, lottery-client, ft-server, ft-client.
        program: String,
        /// Its arguments (`socklab reference NAME --help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// `socklab grade`'s exit status, for its `--help`.
const GRADE_EXIT: &str = "Exit status: 0 when every submission was graded, whatever the students \
scored (a failing student is a result, found in grades.csv, not an error); 2 bad usage or a bad \
lab; 3 socklab itself failed (e.g. the output folder cannot be written); 130/143 interrupted \
(results written so far are kept: run again with --resume).";

/// `socklab reference --help`.
const REFERENCE_HELP: &str = "Run a reference program: a correct implementation of a Lab 3 \
program, the same one scenarios use as a peer.

Programs (`socklab reference NAME --help` for each one's options):
  daytime-server [PORT]            daytimetcpsrv: sends the time (ctime() + \\r\\n), closes
  daytime-client IP [PORT]         daytimetcpcli: prints what the server sends
  echo-server [PORT]               tcpserv: echoes (--mode sum: adds two integers per line),
                                   --concurrency iterative|fork|async
  echo-client IP [PORT]            tcpcli: sends stdin lines, prints the replies
  lottery-server PORT              LotteryServer: GEN, LIST, END as 4-byte ints (--seed N)
  lottery-client IP PORT           LotteryClient: reads 0/1/2 commands from stdin
  ft-server PORT                   FTServer: sends the file a client names, as 260-byte segments
                                   (--iterative new-connection|one-connection|marker: FTServerIter)
  ft-client IP PORT SRC DST        FTClient: fetches SRC into DST (--iterative: FTClientIter)

Ports default to 13 (daytime) and 9877 (echo). The wire formats are in docs/lab3.md.";

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// Scenario files, or a lab's lab.yaml (or the folder holding it) for the whole suite.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[arg(long, value_name = "LAB", help = LAB_HELP)]
    lab: Option<PathBuf>,
    /// The submission directory (its sources are built when the lab is known).
    #[arg(long, short = 's', value_name = "DIR")]
    submission: PathBuf,
    /// Only scenarios whose name contains this text (or with this tag); may be repeated.
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
    /// Scenarios run at the same time (default: eight per core, as far as memory holds them).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// How the report is written.
    #[arg(long, value_parser = format_parser(), default_value = "human")]
    format: Format,
    /// Show transcripts of every program and connection.
    #[arg(long, short = 'v')]
    verbose: bool,
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto, help = ISOLATION_HELP)]
    isolation: IsolationArg,
    /// Keep working files in this directory (default: a temporary directory, removed).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Keep each scenario's packet capture (pcapng, for Wireshark) in this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "no_capture")]
    packets: Option<PathBuf>,
    /// Do not capture packets (packet checks are skipped).
    #[arg(long)]
    no_capture: bool,
    /// Set a course option of lab.yaml, e.g. `--option daytime_port=12345`; may be repeated.
    #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
}

/// `--isolation`.
const ISOLATION_HELP: &str = "How programs are isolated: `auto` the best this machine allows, \
`namespaces` (own network, pid and mount namespaces per scenario; an error where impossible), \
`loopback` (shared loopback, free ports; two-host scenarios are skipped). See docs/isolation.md.";

#[derive(clap::Args)]
pub(crate) struct GradeArgs {
    /// The lab: its lab.yaml, or the folder holding it (e.g. scenarios/lab3).
    #[arg(value_name = "LAB")]
    lab: PathBuf,
    /// Directory with one entry per student: a directory, .zip, .tar.gz or .tgz.
    #[arg(long, value_name = "DIR")]
    submissions: PathBuf,
    /// Where results go (index.html, grades.csv, mistakes.csv, summary.txt, junit.xml, students/NAME/...).
    #[arg(long, default_value = "socklab-out", value_name = "OUT")]
    out: PathBuf,
    /// Scenarios run at the same time, over all submissions (default: eight per core, as far as memory holds them).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Grade only shard K of N (1-based), e.g. `2/4`; a student always lands in the same shard.
    #[arg(long, value_parser = parse_shard, value_name = "K/N")]
    shard: Option<(usize, usize)>,
    /// Skip students whose results on disk match their current submission.
    #[arg(long)]
    resume: bool,
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto, help = ISOLATION_HELP)]
    isolation: IsolationArg,
    /// Only scenarios whose name contains this text (or with this tag); may be repeated.
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
    /// Set a course option of lab.yaml for this class, e.g. `--option daytime_port=12345`; may be repeated.
    #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
    /// Do not capture packets (packet checks are skipped; no packets/ folders).
    #[arg(long)]
    no_capture: bool,
    /// Compile every student's programs, even those byte for byte the same
    /// as one compiled earlier in the run (by default those are reused:
    /// docs/deciding.md, "Compiling each distinct program once").
    #[arg(long)]
    no_shared_builds: bool,
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The lab: its lab.yaml or the folder holding it; default: `lab:` in `.socklab.yaml` here.
    #[arg(long, value_name = "LAB")]
    lab: Option<PathBuf>,
    /// How the report is written.
    #[arg(long, value_parser = format_parser(), default_value = "human")]
    format: Format,
    /// Write the report here instead of standard output (the scenarios'
    /// packet captures go to `packets/` beside it; without `--out`, to
    /// `.socklab/packets/`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Only scenarios whose name contains this text (or with this tag); may be repeated.
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
    /// Show transcripts of every program and connection.
    #[arg(long, short = 'v')]
    verbose: bool,
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto, help = ISOLATION_HELP)]
    isolation: IsolationArg,
    /// Set a course option of lab.yaml, e.g. `--option daytime_port=12345`; may be repeated.
    #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
}

/// `--option NAME=VALUE`.
fn parse_option(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE (e.g. daytime_port=12345)"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`{text}` names no option (NAME=VALUE)"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

#[derive(clap::Args)]
pub(crate) struct PacketsArgs {
    /// The capture file (`tcpdump -w FILE`, or saved by Wireshark).
    file: PathBuf,
    /// Judge it as a session of this Lab 3 protocol: exit 0 when the capture
    /// shows a whole session, 1 when something is missing.
    #[arg(long, value_name = "PROTOCOL", value_parser = protocol_parser())]
    lab: Option<socklab_packets::Protocol>,
}

/// `--lab`: a Lab 3 protocol's name.
fn protocol_parser() -> impl TypedValueParser<Value = socklab_packets::Protocol> {
    PossibleValuesParser::new(socklab_packets::Protocol::ALL.map(|p| p.name()))
        .try_map(|name| name.parse::<socklab_packets::Protocol>())
}

/// `--format`: the name of any report format.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(Format::name)).try_map(|name| {
        Format::from_name(&name).ok_or_else(|| format!("`{name}` is not a report format"))
    })
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not K/N (e.g. 2/4)"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard `{text}`: need 1 <= K <= N"));
    }
    Ok((k, n))
}

#[derive(Clone, Copy, ValueEnum)]
pub enum IsolationArg {
    Auto,
    Namespaces,
    Loopback,
}

impl From<IsolationArg> for IsolationRequest {
    fn from(arg: IsolationArg) -> Self {
        match arg {
            IsolationArg::Auto => IsolationRequest::Auto,
            IsolationArg::Namespaces => IsolationRequest::Namespaces,
            IsolationArg::Loopback => IsolationRequest::Loopback,
        }
    }
}

/// Carries out the command socklab was started with.
pub fn run() -> Result<ExitCode, Error> {
    // Reference programs run before any runtime exists (fork mode needs that).
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw.get(1).is_some_and(|a| a == "reference") {
        return reference(&raw);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Validate {
            files,
            lab,
            options,
        } => commands::validate(&files, lab.as_deref(), &options),
        Command::List {
            files,
            lab,
            options,
        } => commands::list(&files, lab.as_deref(), &options),
        Command::Schema { manifest } => {
            if manifest {
                print!("{}", socklab_scenario::schema::manifest_schema());
            } else {
                print!("{}", socklab_scenario::schema::scenario_schema());
            }
            Ok(ExitCode::from(EXIT_PASSED))
        }
        Command::Run(args) => commands::run(args),
        Command::Grade(args) => commands::grade(args),
        Command::Merge { inputs, out } => commands::merge(&inputs, &out),
        Command::Check(args) => commands::check(args),
        Command::Packets(args) => commands::packets(args),
        Command::Reference { .. } => reference(&raw),
    }
}

/// `socklab reference NAME ARGS…`: becomes the reference program (and
/// exits with it); `socklab reference [--help]` prints the list of
/// programs; returns only when the program name is wrong.
fn reference(raw: &[std::ffi::OsString]) -> Result<ExitCode, Error> {
    let name = raw.get(2).and_then(|n| n.to_str());
    if name.is_none_or(|n| matches!(n, "-h" | "--help" | "help")) {
        let mut command = <Cli as clap::CommandFactory>::command();
        command.build();
        let help = command
            .find_subcommand_mut("reference")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        return if name.is_some() {
            print!("{help}");
            Ok(ExitCode::from(EXIT_PASSED))
        } else {
            eprint!("{help}");
            Err(Error::usage(
                "no reference program named",
                "usage: socklab reference PROGRAM [ARGS...]",
            ))
        };
    }
    let name = name.unwrap_or_default();
    let Some(program) = socklab_reference::Program::from_name(name) else {
        let known: Vec<&str> = socklab_reference::Program::ALL
            .iter()
            .map(|p| p.name())
            .collect();
        let help = match socklab_scenario::diagnostic::closest(name, &known) {
            Some(best) => format!("did you mean `{best}`? known: {}", known.join(", ")),
            None => format!("known: {}", known.join(", ")),
        };
        return Err(Error::usage(
            format!("socklab reference: unknown program `{name}`"),
            help,
        ));
    };
    socklab_reference::main_with_args(program, raw[3..].to_vec())
}

/// The command line's definition, for tests that walk it.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    /// Every argument of every command says what it is for in `--help`.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let mut command = super::command();
        command.build();
        walk(&command, "socklab", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }
}
