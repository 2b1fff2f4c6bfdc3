//! The commands: each takes its parsed arguments, does its work through the
//! library, and returns the exit code of a finished run or an [`Error`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use socklab_report::HumanOptions;

use super::progress::{ClassBar, ClassLines, ScenarioProgress, Warnings, color_wanted};
use super::setup::{Session, check_lab, default_jobs, lab_manifest, load_suite};
use super::{CheckArgs, GradeArgs, PacketsArgs, RunArgs};
use crate::engine::Grading;
use crate::error::{EXIT_FAILED, EXIT_PASSED, Error};
use crate::events::{Events, Subscriber};
use crate::grade::{CaptureFiles, PACKETS_FOLDER};
use crate::plan::Suite;

pub fn validate(
    files: &[PathBuf],
    lab: Option<&Path>,
    options: &[(String, String)],
) -> Result<ExitCode, Error> {
    let suite = load_suite(files, lab, options)?;
    let count = suite.scenarios().count();
    println!("ok: {count} scenarios in {} file(s)", suite.files.len());
    if !suite.left_out.is_empty() {
        print!("{}", left_out(&suite));
    }
    Ok(ExitCode::from(EXIT_PASSED))
}

/// The scenarios the course options leave out, each with its `when:`, the
/// course's value of the options it differs in, and the variant of the
/// same name that is in the suite instead, if any. The cells of a matrix
/// share one line.
fn left_out(suite: &Suite) -> String {
    let options = suite.manifest.as_ref().map(|m| &m.options);
    let source = match &suite.manifest {
        Some(m) => m.path.display().to_string(),
        None => "no lab manifest".to_string(),
    };
    // (base name, when) → matrix cells, in the files' order.
    let mut groups: Vec<(&str, &std::collections::BTreeMap<String, String>, usize)> = Vec::new();
    for scenario in &suite.left_out {
        let base = base_name(&scenario.name);
        match groups
            .iter_mut()
            .find(|(b, w, _)| *b == base && **w == scenario.when)
        {
            Some(group) => group.2 += 1,
            None => groups.push((base, &scenario.when, 1)),
        }
    }
    let mut out = format!(
        "{} more written for other course options, left out of the suite ({source}):\n",
        suite.left_out.len()
    );
    let label = |base: &str, cells: usize| {
        if cells > 1 {
            format!("{base} ({cells} matrix cells)")
        } else {
            base.to_string()
        }
    };
    let width = groups
        .iter()
        .map(|(b, _, n)| label(b, *n).chars().count())
        .max()
        .unwrap_or(0);
    for (base, when, cells) in groups {
        let differs: Vec<String> = when
            .iter()
            .filter(|(k, v)| options.and_then(|o| o.get(*k)) != Some(*v))
            .map(|(k, _)| match options.and_then(|o| o.get(k)) {
                Some(value) => format!("{k}: {value}"),
                None => format!("no `{k}`"),
            })
            .collect();
        let course = if options.is_some() {
            format!("the course has {}", differs.join(", "))
        } else {
            "without a lab manifest no option has a value".to_string()
        };
        let variant = suite
            .scenarios()
            .find(|s| base_name(&s.name) == base)
            .map(|s| {
                if s.when.is_empty() {
                    "; a variant without `when:` is in the suite".to_string()
                } else {
                    format!("; the variant for {} is in the suite", format_when(&s.when))
                }
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<width$}  for {}, {course}{variant}\n",
            label(base, cells),
            format_when(when)
        ));
    }
    out
}

/// A scenario's name without its matrix cell (`echo/short-line` of
/// `echo/short-line[client=reference]`).
fn base_name(name: &str) -> &str {
    name.split_once('[').map_or(name, |(base, _)| base)
}

/// `when:` as written: `echo_mode: sum, ft_iterative: marker`.
fn format_when(when: &std::collections::BTreeMap<String, String>) -> String {
    when.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn list(
    files: &[PathBuf],
    lab: Option<&Path>,
    options: &[(String, String)],
) -> Result<ExitCode, Error> {
    let suite = load_suite(files, lab, options)?;
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

/// The exit code of a graded submission.
fn verdict(report: &socklab_report::SubmissionReport) -> ExitCode {
    ExitCode::from(if report.passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

/// Keeps the scenarios `--only` selects, or says which texts select
/// nothing (with what they were probably meant to be).
fn select(suite: &mut Suite, only: &[String], lab: &str) -> Result<(), Error> {
    if only.is_empty() {
        return Ok(());
    }
    let unmatched = match suite.filter(only) {
        Ok(()) => return Ok(()),
        Err(unmatched) => unmatched,
    };
    let said: Vec<String> = unmatched
        .iter()
        .map(|u| {
            let mut text = format!("`{}`", u.pattern);
            if let Some(best) = &u.did_you_mean {
                text.push_str(&format!("; did you mean `{best}`?"));
            }
            if u.only_left_out {
                text.push_str(" (it names only scenarios this course's options leave out)");
            }
            text
        })
        .collect();
    Err(Error::usage(
        format!("no scenario matches {}", said.join(", nor ")),
        format!(
            "`socklab list {lab}` shows the scenario names; --only keeps the scenarios whose name contains the text or that carry it as a tag"
        ),
    ))
}

/// The lab (or files) to name in a hint.
fn lab_hint(suite: &Suite, files: &[PathBuf]) -> String {
    match &suite.manifest {
        Some(m) => m.path.display().to_string(),
        None => files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

pub fn run(args: RunArgs) -> Result<ExitCode, Error> {
    let mut suite = load_suite(&args.files, args.lab.as_deref(), &args.options)?;
    let lab = lab_hint(&suite, &args.files);
    select(&mut suite, &args.only, &lab)?;
    let suite = Arc::new(suite);
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
    let mut session = Session::start(&suite, args.isolation.into(), args.work_dir.as_deref())?;
    session.settings.capture = !args.no_capture;
    let jobs = args
        .jobs
        .map_or_else(|| default_jobs(&session.settings), usize::from);
    let name = submission
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".to_string());
    let mut events = Events::none()
        .with(Arc::new(Warnings))
        .with(Arc::new(ScenarioProgress::for_stderr(&suite)));
    if let Some(dir) = &args.packets {
        events = events.with(Arc::new(CaptureFiles::new(dir)));
    }
    let grading = Grading {
        suite: Arc::clone(&suite),
        settings: Arc::new(session.settings.clone()),
        work: &session.work,
        jobs,
        limit: None,
        events,
        packets_folder: args.packets.as_ref().map(|dir| dir.display().to_string()),
        compiled: None,
    };
    let report = session.run_until_interrupted(
        grading.grade(&name, &submission),
        "every program it started has been stopped",
    )?;
    let human = HumanOptions {
        verbose: args.verbose,
        color: color_wanted(std::io::stdout().is_terminal()),
    };
    print!("{}", args.format.render(&report, &human));
    Ok(verdict(&report))
}

pub fn grade(args: GradeArgs) -> Result<ExitCode, Error> {
    let lab = lab_manifest(&args.lab)?;
    let mut suite = load_suite(std::slice::from_ref(&lab), None, &args.options)?;
    select(&mut suite, &args.only, &lab.display().to_string())?;
    let suite = Arc::new(suite);
    if !args.submissions.is_dir() {
        return Err(Error::usage(
            format!("`{}` is not a directory", args.submissions.display()),
            "give a directory holding one folder or archive per student",
        ));
    }
    let mut session = Session::start(&suite, args.isolation.into(), None)?;
    session.settings.capture = !args.no_capture;
    let job = crate::grade::GradeJob {
        suite: Arc::clone(&suite),
        settings: Arc::new(session.settings.clone()),
        submissions: &args.submissions,
        out: &args.out,
        jobs: args
            .jobs
            .map_or_else(|| default_jobs(&session.settings), usize::from),
        shard: args.shard,
        resume: args.resume,
        work: &session.work,
        shared_builds: !args.no_shared_builds,
    };
    let scenarios = suite.scenarios().count();
    let progress: Arc<dyn Subscriber> = if std::io::stderr().is_terminal() {
        Arc::new(ClassBar::new(scenarios))
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
    let (shared, compiled) = summary.compiles;
    let builds = if shared + compiled > 0 {
        format!(
            "; {shared} of {} compiled programs were the same as one compiled before and reused",
            shared + compiled
        )
    } else {
        String::new()
    };
    eprintln!(
        "graded {} submissions ({} unchanged, not re-graded){builds}; results in {}",
        summary.graded + summary.reused,
        summary.reused,
        args.out.display()
    );
    print!("{}", socklab_report::render_class_summary(&summary.reports));
    Ok(ExitCode::from(EXIT_PASSED))
}

pub fn check(args: CheckArgs) -> Result<ExitCode, Error> {
    let lab = check_lab(args.lab)?;
    let mut suite = load_suite(std::slice::from_ref(&lab), None, &args.options)?;
    select(&mut suite, &args.only, &lab.display().to_string())?;
    let suite = Arc::new(suite);
    let here = std::env::current_dir()
        .map_err(|e| Error::internal("cannot find the current directory", e))?;
    let session = Session::start(&suite, args.isolation.into(), None)?;
    let name = here
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into());
    // The captures go beside the report: `packets/` next to `--out`, or
    // the submission's hidden `.socklab/packets/` (never part of it).
    let (packets_dir, packets_folder) = match &args.out {
        Some(out) => (
            out.parent()
                .unwrap_or(std::path::Path::new(""))
                .join(PACKETS_FOLDER),
            PACKETS_FOLDER.to_string(),
        ),
        None => (
            here.join(".socklab").join(PACKETS_FOLDER),
            format!(".socklab/{PACKETS_FOLDER}"),
        ),
    };
    let grading = Grading {
        suite: Arc::clone(&suite),
        settings: Arc::new(session.settings.clone()),
        work: &session.work,
        jobs: default_jobs(&session.settings),
        limit: None,
        events: Events::none()
            .with(Arc::new(Warnings))
            .with(Arc::new(ScenarioProgress::for_stderr(&suite)))
            .with(Arc::new(CaptureFiles::new(&packets_dir))),
        packets_folder: Some(packets_folder),
        compiled: None,
    };
    let report = session.run_until_interrupted(
        grading.grade(&name, &here),
        "every program it started has been stopped",
    )?;
    let human = HumanOptions {
        verbose: args.verbose,
        color: args.out.is_none() && color_wanted(std::io::stdout().is_terminal()),
    };
    let text = args.format.render(&report, &human);
    match &args.out {
        Some(path) => crate::grade::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::internal(format!("cannot write {}", path.display()), e))?,
        None => print!("{text}"),
    }
    Ok(verdict(&report))
}

/// `socklab packets FILE [--lab PROTOCOL]`: a student's own capture read,
/// drawn and, with a protocol, judged. Exit 0 when it shows what was asked,
/// 1 when the session is incomplete, 2 when the file cannot be read.
pub fn packets(args: PacketsArgs) -> Result<ExitCode, Error> {
    let report =
        socklab_packets::judge_capture_file(&args.file, args.lab).map_err(|e| Error::Usage {
            help: match e.format_error() {
                // The format error's own words end with the fix.
                Some(_) => None,
                None => Some(
                    "give a capture saved by Wireshark (.pcapng or .pcap) or written by `tcpdump -w FILE`"
                        .to_string(),
                ),
            },
            message: e.to_string(),
        })?;
    print!("{}", socklab_packets::render_text(&report));
    Ok(ExitCode::from(if report.passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }))
}
