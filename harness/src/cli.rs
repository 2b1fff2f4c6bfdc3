//! The `socklab` command line: argument parsing and exit codes.
//!
//! Exit codes: 0 everything passed, 1 some check failed, 2 bad usage or a bad
//! scenario file, 3 socklab itself failed, 130 interrupted (SIGINT), 143
//! terminated (SIGTERM).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use socklab_scenario::{Diagnostics, is_manifest, load_manifest, load_scenario_file};

use crate::engine;
use crate::limits::ProcessLimits;
use crate::plan::{RunSettings, Suite};
use crate::sandbox::{self, IsolationRequest};

pub const EXIT_PASSED: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERNAL: u8 = 3;
/// 128 + the signal's number, as shells report it: 130 after SIGINT, 143 after SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;
pub const EXIT_TERMINATED: u8 = 143;

#[derive(Parser)]
#[command(
    name = "socklab",
    version,
    about = "Run, check and grade TCP socket-programming labs"
)]
pub struct Cli {
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
    },
    /// List the scenarios of files or a lab manifest, with points.
    List {
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
struct RunArgs {
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
    #[arg(long, value_enum, default_value_t = Format::Human)]
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
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
struct GradeArgs {
    /// The lab manifest (e.g. scenarios/lab3/lab.yaml).
    lab: PathBuf,
    /// Directory with one entry per student: a directory, .zip, .tar.gz or .tgz.
    #[arg(long)]
    submissions: PathBuf,
    /// Where results go (grades.csv, junit.xml, students/NAME/...).
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
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The lab manifest; default: `lab:` in `.socklab.yaml` in the current directory.
    #[arg(long)]
    lab: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    format: CheckFormat,
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
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
    Markdown,
    Html,
    Gradescope,
    Prairielearn,
    Classroom,
    Junit,
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

/// Entry point of the `socklab` binary.
pub fn main() -> ExitCode {
    // Reference programs run before any runtime exists (fork mode needs that).
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw.get(1).is_some_and(|a| a == "reference") {
        let Some(name) = raw.get(2).and_then(|n| n.to_str()) else {
            eprintln!("usage: socklab reference PROGRAM [ARGS...]");
            return ExitCode::from(EXIT_USAGE);
        };
        let Some(program) = socklab_reference::Program::from_name(name) else {
            let known: Vec<&str> = socklab_reference::Program::ALL
                .iter()
                .map(|p| p.name())
                .collect();
            eprintln!(
                "socklab reference: unknown program `{name}` (known: {})",
                known.join(", ")
            );
            return ExitCode::from(EXIT_USAGE);
        };
        socklab_reference::main_with_args(program, raw[3..].to_vec());
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::List { files } => list(&files),
        Command::Schema { manifest } => {
            if manifest {
                print!("{}", socklab_scenario::schema::manifest_schema());
            } else {
                print!("{}", socklab_scenario::schema::scenario_schema());
            }
            ExitCode::from(EXIT_PASSED)
        }
        Command::Run(args) => run(args),
        Command::Grade(args) => grade(args),
        Command::Merge { inputs, out } => match crate::grade::merge(&inputs, &out) {
            Ok(n) => {
                println!("merged {n} students into {}", out.display());
                ExitCode::from(EXIT_PASSED)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        Command::Check(args) => check(args),
        Command::Reference { .. } => unreachable!("handled above"),
    }
}

/// Loads files into a suite: a manifest brings its scenario files; scenario
/// files use a `lab.yaml` beside them when there is one.
pub fn load_suite(files: &[PathBuf]) -> Result<Suite, Diagnostics> {
    let mut manifest = None;
    let mut scenario_files = Vec::new();
    let mut problems = Diagnostics::default();
    for file in files {
        if is_manifest(file) {
            match load_manifest(file) {
                Ok((m, fs)) => {
                    manifest = Some(m);
                    scenario_files.extend(fs);
                }
                Err(d) => problems.0.extend(d.0),
            }
            continue;
        }
        if manifest.is_none() {
            let beside = file.parent().unwrap_or(Path::new(".")).join("lab.yaml");
            if beside.is_file() && is_manifest(&beside) {
                match load_manifest(&beside) {
                    Ok((m, _)) => manifest = Some(m),
                    Err(d) => problems.0.extend(d.0),
                }
            }
        }
        let options = manifest
            .as_ref()
            .map(|m: &socklab_scenario::LabManifest| m.options.clone());
        match load_scenario_file(file, options.as_ref()) {
            Ok(f) => scenario_files.push(f),
            Err(d) => problems.0.extend(d.0),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Suite::new(manifest, scenario_files))
}

fn validate(files: &[PathBuf]) -> ExitCode {
    match load_suite(files) {
        Ok(suite) => {
            let count = suite.scenarios().count();
            println!("ok: {count} scenarios in {} file(s)", suite.files.len());
            if !suite.left_out.is_empty() {
                println!(
                    "({} more not for these course options: {})",
                    suite.left_out.len(),
                    suite.left_out.join(", ")
                );
            }
            ExitCode::from(EXIT_PASSED)
        }
        Err(d) => {
            eprintln!("{d}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn list(files: &[PathBuf]) -> ExitCode {
    let suite = match load_suite(files) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut total = 0.0;
    for scenario in suite.scenarios() {
        let kind = if scenario.observe {
            "observe".to_string()
        } else {
            total += scenario.points;
            format!("{:>5} pts", scenario.points)
        };
        let hosts = if scenario.hosts.len() > 1 {
            format!("  [{} hosts]", scenario.hosts.len())
        } else {
            String::new()
        };
        println!("{kind:>9}  {}{hosts}", scenario.name);
    }
    match suite.manifest.as_ref().and_then(|m| m.total) {
        Some(t) => println!("total: {total} points, scaled to {t}"),
        None => println!("total: {total} points"),
    }
    ExitCode::from(EXIT_PASSED)
}

/// Settings for a run from a suite and the isolation request.
pub fn settings_for(suite: &Suite, isolation: IsolationRequest) -> Result<RunSettings, String> {
    let capabilities = sandbox::capabilities(isolation);
    if isolation == IsolationRequest::Namespaces
        && capabilities.level != sandbox::IsolationLevel::Namespaces
    {
        return Err(capabilities.notes.join("; "));
    }
    let self_exe = std::env::current_exe()
        .map_err(|e| format!("cannot find socklab's own executable: {e}"))?;
    let (options, references, limits) = match &suite.manifest {
        Some(m) => (
            m.options.clone(),
            m.programs
                .iter()
                .filter_map(|(name, spec)| spec.reference.clone().map(|r| (name.clone(), r)))
                .collect(),
            m.limits.clone(),
        ),
        None => (
            BTreeMap::new(),
            BTreeMap::new(),
            socklab_scenario::Limits::default(),
        ),
    };
    Ok(RunSettings {
        self_exe,
        capabilities,
        output_limit: limits.output as usize,
        limits: Some(ProcessLimits::from_manifest(&limits)),
        options,
        references,
        port_turns: crate::plan::PortTurns::default(),
    })
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

fn run(args: RunArgs) -> ExitCode {
    let mut suite = match load_suite(&args.files) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !args.only.is_empty() {
        suite.filter(&args.only);
        if suite.scenarios().next().is_none() {
            eprintln!(
                "error: no scenario matches {}\n  = help: `socklab list FILE` shows the scenario names",
                args.only
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
    }
    if !args.submission.is_dir() {
        eprintln!(
            "error: the submission `{}` is not a directory\n  = help: give the directory holding the student's programs",
            args.submission.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    // Programs run in their own working directories: every path they are
    // given must be absolute.
    let submission = match args.submission.canonicalize() {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "error: cannot resolve the submission `{}`: {e}",
                args.submission.display()
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let session = match Session::start(&suite, args.isolation, args.work_dir.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let code = session.runtime.block_on(async {
        let (settings, work) = (&session.settings, &session.work);
        let name = submission
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "submission".to_string());
        let progress: engine::EventSink = std::sync::Arc::new(|event| {
            if let engine::Event::ScenarioFinished { report, .. } = event {
                eprintln!("  {:?}: {}", report.status, report.name);
            }
        });
        let interactive = std::io::stderr().is_terminal() && matches!(args.format, Format::Human);
        let graded = engine::grade_submission(
            &suite,
            settings,
            &name,
            &submission,
            work,
            jobs,
            interactive.then_some(progress),
        );
        let report = tokio::select! {
            report = graded => report,
            code = interrupted() => {
                eprintln!("socklab: interrupted; every program it started has been stopped");
                return code;
            }
        };
        match args.format {
            Format::Human => print!(
                "{}",
                socklab_report::render_human(
                    &report,
                    &socklab_report::HumanOptions {
                        verbose: args.verbose,
                        color: std::io::stdout().is_terminal(),
                    }
                )
            ),
            Format::Json => println!("{}", socklab_report::render_json(&report)),
        }
        if report.passed() {
            EXIT_PASSED
        } else {
            EXIT_FAILED
        }
    });
    sandbox::kill_adopted_orphans();
    ExitCode::from(code)
}

/// Resolves on SIGINT or SIGTERM, with the exit code that reports it.
pub async fn interrupted() -> u8 {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending::<u8>().await;
    };
    tokio::select! {
        _ = int.recv() => EXIT_INTERRUPTED,
        _ = term.recv() => EXIT_TERMINATED,
    }
}

/// What every command that runs scenarios sets up: the async runtime, the
/// run settings for this machine, and a working directory.
struct Session {
    runtime: tokio::runtime::Runtime,
    settings: RunSettings,
    work: PathBuf,
    /// Removes the working directory when socklab chose it.
    _temp: Option<tempfile::TempDir>,
}

impl Session {
    /// Prints what went wrong and returns the exit code on failure.
    fn start(
        suite: &Suite,
        isolation: IsolationArg,
        work_dir: Option<&Path>,
    ) -> Result<Session, ExitCode> {
        // Before the runtime starts threads: the kernel lets only a
        // single-threaded process enter a user namespace.
        if !matches!(isolation, IsolationArg::Loopback) {
            let _ = sandbox::userns::enter_if_unprivileged();
        }
        let runtime = tokio::runtime::Runtime::new().map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_INTERNAL)
        })?;
        let settings = settings_for(suite, isolation.into()).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        })?;
        let (work, _temp) = engine::work_dir(work_dir).map_err(|e| {
            eprintln!("error: cannot create a working directory: {e}");
            ExitCode::from(EXIT_INTERNAL)
        })?;
        Ok(Session {
            runtime,
            settings,
            work,
            _temp,
        })
    }
}

fn grade(args: GradeArgs) -> ExitCode {
    if !is_manifest(&args.lab) {
        eprintln!(
            "error: `{}` is not a lab manifest\n  = help: give the lab's lab.yaml, e.g. scenarios/lab3/lab.yaml",
            args.lab.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let suite = match load_suite(std::slice::from_ref(&args.lab)) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !args.submissions.is_dir() {
        eprintln!(
            "error: `{}` is not a directory\n  = help: give a directory holding one folder or archive per student",
            args.submissions.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let session = match Session::start(&suite, args.isolation, None) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let code = session.runtime.block_on(async {
        let (settings, work) = (&session.settings, &session.work);
        let job = crate::grade::GradeJob {
            suite: &suite,
            settings,
            submissions: &args.submissions,
            out: &args.out,
            jobs: args.jobs.map_or_else(default_jobs, usize::from),
            shard: args.shard,
            resume: args.resume,
            work,
        };
        let progress: std::sync::Arc<dyn crate::grade::Progress> =
            if std::io::stderr().is_terminal() {
                crate::grade::BarProgress::new()
            } else {
                crate::grade::PlainProgress::new()
            };
        tokio::select! {
            result = crate::grade::grade_class(&job, progress.as_ref()) => match result {
                Ok(summary) => {
                    eprintln!(
                        "graded {} submissions ({} unchanged, not re-graded); results in {}",
                        summary.graded + summary.reused,
                        summary.reused,
                        args.out.display()
                    );
                    print!("{}", socklab_report::render_class_summary(&summary.reports));
                    EXIT_PASSED
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_INTERNAL
                }
            },
            code = interrupted() => {
                eprintln!("socklab: interrupted; results written so far are kept (use --resume)");
                code
            }
        }
    });
    sandbox::kill_adopted_orphans();
    ExitCode::from(code)
}

/// The lab manifest for `socklab check`: the flag, or `lab:` in `.socklab.yaml`.
fn check_lab(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(lab) = flag {
        return Ok(lab);
    }
    let config = Path::new(".socklab.yaml");
    let text = std::fs::read_to_string(config).map_err(|_| {
        "no lab given: use `--lab path/to/lab.yaml`, or write `lab: path/to/lab.yaml` in .socklab.yaml here".to_string()
    })?;
    text.lines()
        .find_map(|l| l.strip_prefix("lab:"))
        .map(|v| PathBuf::from(v.trim().trim_matches('"')))
        .ok_or_else(|| {
            ".socklab.yaml:1:1: no `lab:` key\n  = help: write `lab: path/to/lab.yaml`".to_string()
        })
}

fn check(args: CheckArgs) -> ExitCode {
    let lab = match check_lab(args.lab) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut suite = match load_suite(std::slice::from_ref(&lab)) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !args.only.is_empty() {
        suite.filter(&args.only);
    }
    let here = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let session = match Session::start(&suite, args.isolation, None) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let code = session.runtime.block_on(async {
        let (settings, work) = (&session.settings, &session.work);
        let name = here
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "submission".into());
        let graded =
            engine::grade_submission(&suite, settings, &name, &here, work, default_jobs(), None);
        let report = tokio::select! {
            r = graded => r,
            code = interrupted() => return code,
        };
        let text = match args.format {
            CheckFormat::Human => socklab_report::render_human(
                &report,
                &socklab_report::HumanOptions {
                    verbose: args.verbose,
                    color: args.out.is_none() && std::io::stdout().is_terminal(),
                },
            ),
            CheckFormat::Json => socklab_report::render_json(&report),
            CheckFormat::Markdown => socklab_report::render_markdown(&report),
            CheckFormat::Html => socklab_report::render_html(&report),
            CheckFormat::Gradescope => socklab_report::render_gradescope(&report),
            CheckFormat::Prairielearn => socklab_report::render_prairielearn(&report),
            CheckFormat::Classroom => socklab_report::render_classroom(&report),
            CheckFormat::Junit => socklab_report::render_junit(std::slice::from_ref(&report)),
        };
        match &args.out {
            Some(path) => {
                if let Err(e) = crate::grade::write_atomic(path, text.as_bytes()) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return EXIT_INTERNAL;
                }
            }
            None => print!("{text}"),
        }
        if report.passed() {
            EXIT_PASSED
        } else {
            EXIT_FAILED
        }
    });
    sandbox::kill_adopted_orphans();
    ExitCode::from(code)
}
