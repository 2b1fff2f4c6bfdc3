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
    about = "Run, check and grade TCP socket-programming labs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against one submission directory.
    Run(RunArgs),
    /// Check scenario files and lab manifests; print every problem found.
    Validate {
        /// Scenario files or a lab manifest (lab.yaml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Set a course option of lab.yaml, e.g. `--option daytime_port=12345`; may be repeated.
        #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
        options: Vec<(String, String)>,
    },
    /// List the scenarios of files or a lab manifest, with points.
    List {
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
    Grade(GradeArgs),
    /// Combine the output directories of shards into one.
    Merge {
        /// Output directories of `socklab grade --shard K/N`.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check the submission in the current directory: the feedback a TA sees.
    Check(CheckArgs),
    /// Run a reference program: `socklab reference lottery-server 9000`.
    #[command(disable_help_flag = true)]
    Reference {
        /// daytime-server, daytime-client, echo-server, echo-client,
        /// lottery-server, lottery-client, ft-server, ft-client
        program: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// Scenario files, or the lab manifest (lab.yaml) for the whole suite.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The submission directory (with sources when a lab manifest is used).
    #[arg(long, short = 's')]
    submission: PathBuf,
    /// Only scenarios whose name contains this text (or with this tag); may be repeated.
    #[arg(long)]
    only: Vec<String>,
    /// Scenarios run at the same time (default: number of cores).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// How the report is written.
    #[arg(long, value_parser = format_parser(), default_value = "human")]
    format: Format,
    /// Show transcripts of every program and connection.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Isolation: the best available, or force a level.
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto)]
    isolation: IsolationArg,
    /// Keep working files in this directory (default: a temporary directory, removed).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Set a course option of lab.yaml, e.g. `--option daytime_port=12345`; may be repeated.
    #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
}

#[derive(clap::Args)]
pub(crate) struct GradeArgs {
    /// The lab manifest (e.g. scenarios/lab3/lab.yaml).
    lab: PathBuf,
    /// Directory with one entry per student: a directory, .zip, .tar.gz or .tgz.
    #[arg(long)]
    submissions: PathBuf,
    /// Where results go (index.html, grades.csv, mistakes.csv, summary.txt, junit.xml, students/NAME/...).
    #[arg(long, default_value = "socklab-out")]
    out: PathBuf,
    /// Scenarios run at the same time, over all submissions (default: number of cores).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Grade only shard K of N (1-based), e.g. `2/4`; a student always lands in the same shard.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Skip students whose results on disk match their current submission.
    #[arg(long)]
    resume: bool,
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto)]
    isolation: IsolationArg,
    /// Only scenarios whose name contains this text (or with this tag); may be repeated.
    #[arg(long)]
    only: Vec<String>,
    /// Set a course option of lab.yaml for this class, e.g. `--option daytime_port=12345`; may be repeated.
    #[arg(long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The lab manifest; default: `lab:` in `.socklab.yaml` in the current directory.
    #[arg(long)]
    lab: Option<PathBuf>,
    /// How the report is written.
    #[arg(long, value_parser = format_parser(), default_value = "human")]
    format: Format,
    /// Write the report here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only scenarios whose name contains this text (or with this tag); may be repeated.
    #[arg(long)]
    only: Vec<String>,
    #[arg(long, short = 'v')]
    verbose: bool,
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto)]
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
        return Err(reference(&raw));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files, options } => commands::validate(&files, &options),
        Command::List { files, options } => commands::list(&files, &options),
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
        Command::Reference { .. } => Err(reference(&raw)),
    }
}

/// `socklab reference NAME ARGS…`: becomes the reference program (and
/// exits with it); returns only when the program name is wrong.
fn reference(raw: &[std::ffi::OsString]) -> Error {
    let Some(name) = raw.get(2).and_then(|n| n.to_str()) else {
        return Error::usage(
            "no reference program named",
            "usage: socklab reference PROGRAM [ARGS...]",
        );
    };
    let Some(program) = socklab_reference::Program::from_name(name) else {
        let known: Vec<&str> = socklab_reference::Program::ALL
            .iter()
            .map(|p| p.name())
            .collect();
        return Error::usage(
            format!("socklab reference: unknown program `{name}`"),
            format!("known: {}", known.join(", ")),
        );
    };
    socklab_reference::main_with_args(program, raw[3..].to_vec())
}
