//! Building a submission: `make` when it has a Makefile, otherwise the
//! compiler per program, with a deadline and the compiler's words kept.
//!
//! The submission directory is copied first and built in the copy: socklab
//! never writes into a student's files. A failed or hung build is a result
//! (reported to the student with the compiler output), not a socklab error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use socklab_report::{BuildReport, ProgramBuild};
use socklab_scenario::{LabManifest, MakePolicy};

use crate::plan::{Availability, Submission};

/// Largest submission socklab copies (bytes).
const MAX_SUBMISSION_BYTES: u64 = 64 * 1024 * 1024;
/// Compiler output kept for the report.
const MAX_BUILD_OUTPUT: usize = 64 * 1024;

/// Copies `source` into `dest`, regular files and directories only (links are
/// skipped so nothing outside the submission is read). Hidden entries (names
/// starting with `.`: `.git`, `.cargo`, `.socklab`, editor files), at any
/// depth, are not part of a submission: they are neither copied nor counted
/// against the size limit.
pub fn copy_submission(source: &Path, dest: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    copy_dir(source, dest, &mut total)?;
    Ok(total)
}

fn copy_dir(source: &Path, dest: &Path, total: &mut u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let kind = entry.file_type()?;
        let target = dest.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target, total)?;
        } else if kind.is_file() {
            *total += entry.metadata()?.len();
            if *total > MAX_SUBMISSION_BYTES {
                return Err(std::io::Error::other(format!(
                    "the submission is larger than {} MiB (reached at `{}`; hidden files and folders such as .git are not counted): remove build outputs, core dumps and data files from it",
                    MAX_SUBMISSION_BYTES >> 20,
                    entry.path().display()
                )));
            }
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Builds the lab's programs in `build_dir` (a copy of the submission).
pub async fn build(
    name: &str,
    build_dir: &Path,
    manifest: &LabManifest,
) -> (Submission, BuildReport) {
    let started = Instant::now();
    let deadline = started + manifest.build.timeout;
    let has_makefile = ["Makefile", "makefile", "GNUmakefile"]
        .iter()
        .any(|f| build_dir.join(f).is_file());
    let use_make = match manifest.build.make {
        MakePolicy::Always => true,
        MakePolicy::Never => false,
        MakePolicy::Auto => has_makefile,
    };
    let mut output = String::new();
    let mut programs = BTreeMap::new();
    let mut builds = Vec::new();
    let method;
    if use_make {
        method = "make".to_string();
        let result = run_tool(build_dir, "make", &["-k".to_string()], deadline).await;
        output.push_str(&result.output);
        for program in manifest.programs.keys() {
            let exe = build_dir.join(program);
            let (availability, status, detail) = if exe.is_file() {
                (Availability::Ready(exe), "built", None)
            } else if result.timed_out {
                let why = format!(
                    "the build did not finish within {:?}",
                    manifest.build.timeout
                );
                (Availability::BuildFailed(why.clone()), "timeout", Some(why))
            } else {
                let why = format!(
                    "`make` did not produce `{program}`:\n{}",
                    tail(&result.output, 2000)
                );
                (
                    Availability::BuildFailed(why),
                    "failed",
                    Some(format!("`make` did not produce `{program}`")),
                )
            };
            programs.insert(program.clone(), availability);
            builds.push(ProgramBuild {
                name: program.clone(),
                status: status.into(),
                detail,
            });
        }
    } else {
        method = format!(
            "{} {}",
            manifest.build.compiler,
            manifest.build.flags.join(" ")
        );
        for (program, spec) in &manifest.programs {
            let missing: Vec<&String> = spec
                .sources
                .iter()
                .filter(|s| !build_dir.join(s).is_file())
                .collect();
            if !missing.is_empty() {
                let why = format!(
                    "missing source file{} {}",
                    if missing.len() > 1 { "s" } else { "" },
                    missing
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                programs.insert(
                    program.clone(),
                    Availability::Missing(format!("{program} is missing: {why}")),
                );
                builds.push(ProgramBuild {
                    name: program.clone(),
                    status: "missing".into(),
                    detail: Some(why),
                });
                continue;
            }
            let mut args = manifest.build.flags.clone();
            args.push("-o".into());
            args.push(program.clone());
            args.extend(spec.sources.iter().cloned());
            let result = run_tool(build_dir, &manifest.build.compiler, &args, deadline).await;
            output.push_str(&format!(
                "$ {} {}\n{}",
                manifest.build.compiler,
                args.join(" "),
                result.output
            ));
            let exe = build_dir.join(program);
            if result.success && exe.is_file() {
                programs.insert(program.clone(), Availability::Ready(exe));
                builds.push(ProgramBuild {
                    name: program.clone(),
                    status: "built".into(),
                    detail: None,
                });
            } else if result.timed_out {
                let why = format!(
                    "compiling {program} did not finish within {:?}",
                    manifest.build.timeout
                );
                programs.insert(program.clone(), Availability::BuildFailed(why.clone()));
                builds.push(ProgramBuild {
                    name: program.clone(),
                    status: "timeout".into(),
                    detail: Some(why),
                });
            } else {
                let why = format!("{program} did not compile:\n{}", tail(&result.output, 2000));
                programs.insert(program.clone(), Availability::BuildFailed(why));
                builds.push(ProgramBuild {
                    name: program.clone(),
                    status: "failed".into(),
                    detail: Some(first_error(&result.output)),
                });
            }
        }
    }
    if output.len() > MAX_BUILD_OUTPUT {
        output = tail(&output, MAX_BUILD_OUTPUT);
    }
    let ok = builds.iter().all(|b| b.status == "built");
    (
        Submission {
            name: name.to_string(),
            dir: build_dir.to_path_buf(),
            programs,
        },
        BuildReport {
            ok,
            method,
            programs: builds,
            output,
            duration_secs: started.elapsed().as_secs_f64(),
        },
    )
}

fn first_error(output: &str) -> String {
    output
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or_else(|| output.lines().next().unwrap_or("the compiler failed"))
        .to_string()
}

fn tail(text: &str, n: usize) -> String {
    if text.len() <= n {
        return text.to_string();
    }
    let mut start = text.len() - n;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

struct ToolResult {
    success: bool,
    timed_out: bool,
    output: String,
}

/// Runs a build tool in its own process group, killing the group at the deadline.
async fn run_tool(dir: &Path, tool: &str, args: &[String], deadline: Instant) -> ToolResult {
    let mut command = tokio::process::Command::new(tool);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LANG", "C")
        .kill_on_drop(true);
    // SAFETY: setpgid is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ToolResult {
                success: false,
                timed_out: false,
                output: format!("could not run `{tool}`: {e}\n"),
            };
        }
    };
    let pid = child.id();
    let budget = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    match tokio::time::timeout(budget, child.wait_with_output()).await {
        Ok(Ok(out)) => ToolResult {
            success: out.status.success(),
            timed_out: false,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        },
        Ok(Err(e)) => ToolResult {
            success: false,
            timed_out: false,
            output: format!("`{tool}` failed: {e}\n"),
        },
        Err(_) => {
            if let Some(pid) = pid {
                // SAFETY: killing the build's own process group.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
            }
            ToolResult {
                success: false,
                timed_out: true,
                output: format!("`{tool}` was stopped: it did not finish in time\n"),
            }
        }
    }
}

/// A submission used as it is (no manifest, nothing to build).
pub fn prebuilt(name: &str, dir: PathBuf) -> Submission {
    Submission {
        name: name.to_string(),
        dir,
        programs: BTreeMap::new(),
    }
}
