//! The commands: each takes its parsed arguments, does its work through the
//! library, and returns the exit code of a finished run or an [`Error`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use socklab_report::{Format, HumanOptions};
use socklab_scenario::is_manifest;

use super::progress::{ClassBar, ClassLines, ScenarioLines, Warnings};
use super::setup::{Session, check_lab, default_jobs, load_suite};
use super::{CheckArgs, GradeArgs, RunArgs};
use crate::engine::Grading;
use crate::error::{EXIT_FAILED, EXIT_PASSED, Error};
use crate::events::{Events, Subscriber};

pub fn validate(files: &[PathBuf], options: &[(String, String)]) -> Result<ExitCode, Error> {
    let suite = load_suite(files, options)?;
    let count = suite.scenarios().count();
    println!("ok: {count} scenarios in {} file(s)", suite.files.len());
    if !suite.left_out.is_empty() {
        println!(
            "({} more not for these course options: {})",
            suite.left_out.len(),
            suite.left_out.join(", ")
        );
    }
    Ok(ExitCode::from(EXIT_PASSED))
}

pub fn list(files: &[PathBuf], options: &[(String, String)]) -> Result<ExitCode, Error> {
    let suite = load_suite(files, options)?;
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
    Ok(ExitCode::from(EXIT_PASSED))
}

pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<ExitCode, Error> {
    let merged = crate::grade::merge(inputs, out).map_err(|e| Error::Usage {
        message: e.to_string(),
        help: None,
    })?;
    println!("merged {merged} students into {}", out.display());
    Ok(ExitCode::from(EXIT_PASSED))
}

/// Keeps only the scenarios `--only` asks for; none matching is a usage error.
fn only(suite: &mut crate::plan::Suite, patterns: &[String]) -> Result<(), Error> {
    if patterns.is_empty() {
        return Ok(());
    }
    suite.filter(patterns);
    if suite.scenarios().next().is_none() {
        return Err(Error::usage(
            format!(
                "no scenario matches {}",
                patterns
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            "`socklab list FILE` shows the scenario names",
        ));
    }
    Ok(())
}

/// The exit code of a graded submission.
fn verdict(report: &socklab_report::SubmissionReport) -> ExitCode {
    ExitCode::from(if report.passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

pub fn run(args: RunArgs) -> Result<ExitCode, Error> {
    let mut suite = load_suite(&args.files, &args.options)?;
    only(&mut suite, &args.only)?;
    if !args.submission.is_dir() {
        return Err(Error::usage(
            format!(
                "the submission `{}` is not a directory",
                args.submission.display()
            ),
            "give the directory holding the student's programs",
        ));
    }
    // Programs run in their own working directories: every path they are
    // given must be absolute.
    let submission = args.submission.canonicalize().map_err(|e| Error::Usage {
        message: format!(
            "cannot resolve the submission `{}`: {e}",
            args.submission.display()
        ),
        help: None,
    })?;
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let session = Session::start(&suite, args.isolation.into(), args.work_dir.as_deref())?;
    let name = submission
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".to_string());
    let interactive = std::io::stderr().is_terminal() && args.format == Format::Human;
    let mut events = Events::none().with(Arc::new(Warnings));
    if interactive {
        events = events.with(Arc::new(ScenarioLines));
    }
    let grading = Grading {
        suite: &suite,
        settings: &session.settings,
        work: &session.work,
        jobs,
        limit: None,
        events,
    };
    let report = session.run_until_interrupted(
        grading.grade(&name, &submission),
        "every program it started has been stopped",
    )?;
    let human = HumanOptions {
        verbose: args.verbose,
        color: std::io::stdout().is_terminal(),
    };
    print!("{}", args.format.render(&report, &human));
    Ok(verdict(&report))
}

pub fn grade(args: GradeArgs) -> Result<ExitCode, Error> {
    if !is_manifest(&args.lab) {
        return Err(Error::usage(
            format!("`{}` is not a lab manifest", args.lab.display()),
            "give the lab's lab.yaml, e.g. scenarios/lab3/lab.yaml",
        ));
    }
    let mut suite = load_suite(std::slice::from_ref(&args.lab), &args.options)?;
    only(&mut suite, &args.only)?;
    if !args.submissions.is_dir() {
        return Err(Error::usage(
            format!("`{}` is not a directory", args.submissions.display()),
            "give a directory holding one folder or archive per student",
        ));
    }
    let session = Session::start(&suite, args.isolation.into(), None)?;
    let job = crate::grade::GradeJob {
        suite: &suite,
        settings: &session.settings,
        submissions: &args.submissions,
        out: &args.out,
        jobs: args.jobs.map_or_else(default_jobs, usize::from),
        shard: args.shard,
        resume: args.resume,
        work: &session.work,
    };
    let progress: Arc<dyn Subscriber> = if std::io::stderr().is_terminal() {
        Arc::new(ClassBar::default())
    } else {
        Arc::new(ClassLines::default())
    };
    let events = Events::none().with(Arc::new(Warnings)).with(progress);
    let summary = session
        .run_until_interrupted(
            crate::grade::grade_class(&job, &events),
            "results written so far are kept (use --resume)",
        )?
        .map_err(|e| Error::internal("grading the class failed", e))?;
    eprintln!(
        "graded {} submissions ({} unchanged, not re-graded); results in {}",
        summary.graded + summary.reused,
        summary.reused,
        args.out.display()
    );
    print!("{}", socklab_report::render_class_summary(&summary.reports));
    Ok(ExitCode::from(EXIT_PASSED))
}

pub fn check(args: CheckArgs) -> Result<ExitCode, Error> {
    let lab = check_lab(args.lab)?;
    let mut suite = load_suite(std::slice::from_ref(&lab), &args.options)?;
    only(&mut suite, &args.only)?;
    let here = std::env::current_dir()
        .map_err(|e| Error::internal("cannot find the current directory", e))?;
    let session = Session::start(&suite, args.isolation.into(), None)?;
    let name = here
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into());
    let grading = Grading {
        suite: &suite,
        settings: &session.settings,
        work: &session.work,
        jobs: default_jobs(),
        limit: None,
        events: Events::none().with(Arc::new(Warnings)),
    };
    let report = session.run_until_interrupted(
        grading.grade(&name, &here),
        "every program it started has been stopped",
    )?;
    let human = HumanOptions {
        verbose: args.verbose,
        color: args.out.is_none() && std::io::stdout().is_terminal(),
    };
    let text = args.format.render(&report, &human);
    match &args.out {
        Some(path) => crate::grade::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::internal(format!("cannot write {}", path.display()), e))?,
        None => print!("{text}"),
    }
    Ok(verdict(&report))
}
