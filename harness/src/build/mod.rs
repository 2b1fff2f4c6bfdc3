//! Building a submission: `make` when it has a Makefile, otherwise the
//! compiler per program, with a deadline and the compiler's words kept.
//!
//! The submission directory is copied first and built in the copy: socklab
//! never writes into a student's files. A failed or hung build is a result
//! (reported to the student with the compiler output), not a socklab error.
//!
//! A student's Makefile is student code: the build runs in a sandbox of its
//! own, like a scenario's programs (its own network and pid namespaces where
//! the machine allows, so it has no network and nothing it starts outlives
//! it; the process cgroup; rlimits; as `nobody` when socklab is root), but
//! under limits of its own: not a scenario's CPU quota of half a core (the
//! compilers would take four times as long), its deadline, CPU-time and
//! address-space rlimits instead. Programs are compiled as many at a time as
//! the machine has cores (`make -jN`), and only those the selected
//! scenarios start when the suite was narrowed (`--only`). In a class run,
//! a program compiled from the same inputs as one compiled before is
//! reused ([`cache`]).

pub mod cache;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;

use socklab_reference::beneath::Folder;
use socklab_report::{BuildReport, BuildStatus, ProgramBuild};
use socklab_scenario::{LabManifest, MakePolicy};

use crate::limits::ProcessLimits;
use crate::plan::{Availability, RunSettings, Submission};
use crate::sandbox::{RunAs, Sandbox, spawn};
use cache::{CompileCache, Compiled};

/// Largest submission socklab copies (bytes).
const MAX_SUBMISSION_BYTES: u64 = 64 * 1024 * 1024;
/// Compiler output kept for the report.
const MAX_BUILD_OUTPUT: usize = 64 * 1024;

/// Copies `source` into `dest`, regular files and directories only (links are
/// skipped so nothing outside the submission is read). Hidden entries (names
/// starting with `.`: `.git`, `.cargo`, `.socklab`, editor files), at any
/// depth, are not part of a submission: they are neither copied nor counted
/// against the size limit.
///
/// socklab copies as root, and the build then runs as the student's uid on
/// the copy: a file the student could not have read must not slip in. A
/// file with several names (a hard link) may be another name of a file
/// outside the submission (`/etc/shadow`, another student's source): such
/// a file is refused, with the whole submission, unless anyone may read it
/// anyway. Every file is opened beneath the submission's folder without
/// following links ([`Folder`]), and must be a regular file.
pub fn copy_submission(source: &Path, dest: &Path) -> std::io::Result<u64> {
    let folder = Folder::open(source)?;
    let mut total = 0;
    copy_dir(&folder, Path::new(""), dest, &mut total)?;
    Ok(total)
}

fn copy_dir(folder: &Folder, relative: &Path, dest: &Path, total: &mut u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(folder.path().join(relative))? {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let kind = entry.file_type()?;
        let name = relative.join(entry.file_name());
        let target = dest.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(folder, &name, &target, total)?;
        } else if kind.is_file() {
            let mut file = folder.open_file(&name).map_err(|refusal| {
                std::io::Error::other(format!("`{}` {refusal}", name.display()))
            })?;
            let meta = file.metadata()?;
            refuse_foreign_link(&name, &meta)?;
            *total += meta.len();
            if *total > MAX_SUBMISSION_BYTES {
                return Err(std::io::Error::other(format!(
                    "the submission is larger than {} MiB (reached at `{}`; hidden files and folders such as .git are not counted): remove build outputs, core dumps and data files from it",
                    MAX_SUBMISSION_BYTES >> 20,
                    entry.path().display()
                )));
            }
            let mut copy = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)?;
            std::io::copy(&mut file, &mut copy)?;
            use std::os::unix::fs::PermissionsExt;
            copy.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o755,
            ))?;
        }
    }
    Ok(())
}

/// Refuses a hard-linked file that not everyone may read: it may be a name
/// of a file outside the submission that its student could not read.
fn refuse_foreign_link(name: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    const OTHERS_READ: u32 = 0o004;
    if meta.nlink() > 1 && meta.mode() & OTHERS_READ == 0 {
        return Err(std::io::Error::other(format!(
            "`{}` is a hard link ({} names) to a file not everyone may read (owner uid {}, mode {:o}): it may be a file from outside the submission, so socklab does not copy it; put a copy of the file's content in the submission instead of a link",
            name.display(),
            meta.nlink(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// The programs whose builds have ended so far, each told as it ends (the
/// compiler's runs; `make` tells them all at its end), so that a scenario
/// can start as soon as the programs it starts are built instead of after
/// the last one (`engine.rs`).
#[derive(Debug, Default, Clone)]
pub struct Progress {
    pub programs: BTreeMap<String, Availability>,
    /// The build is over: every program it will tell is in `programs`.
    pub done: bool,
}

/// Builds the lab's programs in `build_dir` (a copy of the submission), as
/// `student` (the submission's own uid, when socklab is root):
/// `make -k -jN` when there is a Makefile (again without `-j` if that left a
/// program unbuilt, as a Makefile missing a dependency can fail only in
/// parallel), or the compiler once per program, up to N at a time (N: one
/// more than this machine's cores). With `needed`, only those programs are compiled (the
/// ones the selected scenarios start); the others are reported as skipped.
/// Each compiled program is told to `progress` as soon as its compiler ends.
/// With `cache`, programs compiled from the same inputs are shared.
#[allow(clippy::too_many_arguments)]
pub async fn build(
    name: &str,
    build_dir: &Path,
    manifest: &LabManifest,
    settings: &RunSettings,
    student: Option<RunAs>,
    needed: Option<&BTreeSet<String>>,
    progress: &tokio::sync::watch::Sender<Progress>,
    cache: Option<&CompileCache>,
) -> (Submission, BuildReport) {
    let started = Instant::now();
    let deadline = started + manifest.build.timeout;
    let jail = match BuildJail::create(build_dir, manifest, settings, student) {
        Ok(jail) => jail,
        Err(e) => return unbuildable(name, build_dir, manifest, started, &e),
    };
    let has_makefile = ["Makefile", "makefile", "GNUmakefile"]
        .iter()
        .any(|f| build_dir.join(f).is_file());
    let use_make = match manifest.build.make {
        MakePolicy::Always => true,
        MakePolicy::Never => false,
        MakePolicy::Auto => has_makefile,
    };
    // One compile more than cores, as `make -j` is usually run: each
    // compile is five programs in a row (gcc, cc1, as, collect2, ld), and
    // between them, and while one is being started, its core would wait.
    // Nine check50 scenarios, 12 alternating runs on 2 cores: median 532 ms
    // with 2 at once, 482 ms with 3.
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
    let is_needed = |program: &String| needed.is_none_or(|set| set.contains(program));
    let mut output = String::new();
    let mut programs = BTreeMap::new();
    let mut builds = Vec::new();
    let method;
    if use_make {
        method = "make".to_string();
        let parallel_flag = format!("-j{parallel}");
        let mut result = jail
            .run(
                build_dir,
                "make",
                &["-k".to_string(), parallel_flag],
                deadline,
            )
            .await;
        let unbuilt = |program: &String| is_needed(program) && !build_dir.join(program).is_file();
        if !result.timed_out && manifest.programs.keys().any(unbuilt) {
            // One job at a time, as the Makefile's author ran it.
            let serial = jail
                .run(build_dir, "make", &["-k".to_string()], deadline)
                .await;
            result = ToolResult {
                success: serial.success,
                timed_out: serial.timed_out,
                output: format!(
                    "{}$ make -k (again, one job at a time)\n{}",
                    result.output, serial.output
                ),
            };
        }
        output.push_str(&result.output);
        for program in manifest.programs.keys() {
            let exe = build_dir.join(program);
            let (availability, status, detail) = if exe.is_file() {
                (Availability::Ready(exe), BuildStatus::Built, None)
            } else if !is_needed(program) {
                skipped(program)
            } else if result.timed_out {
                timed_out(format!(
                    "the build did not finish within {:?}",
                    manifest.build.timeout
                ))
            } else {
                let why = format!(
                    "`make` did not produce `{program}`:\n{}",
                    tail(&result.output, 2000)
                );
                (
                    Availability::BuildFailed(why),
                    BuildStatus::Failed,
                    Some(format!("`make` did not produce `{program}`")),
                )
            };
            programs.insert(program.clone(), availability);
            builds.push(ProgramBuild {
                name: program.clone(),
                status,
                detail,
            });
        }
    } else {
        method = format!(
            "{} {}",
            manifest.build.compiler,
            manifest.build.flags.join(" ")
        );
        let compiles = manifest.programs.iter().map(|(program, spec)| {
            let jail = &jail;
            async move {
                if !is_needed(program) {
                    return (program, skipped(program), String::new());
                }
                let (program, built, text) =
                    compile(jail, build_dir, manifest, program, spec, deadline, cache).await;
                let (availability, _, _) = &built;
                progress.send_modify(|p| {
                    p.programs.insert(program.clone(), availability.clone());
                });
                (program, built, text)
            }
        });
        // Up to `parallel` at once, begun in the manifest's order (each
        // scenario starts when its own programs are built) and reported in
        // it. Unordered: a compile that ended, or a program skipped, frees
        // its place at once instead of waiting behind one still running.
        let mut compiled: Vec<_> = futures::stream::iter(compiles.enumerate())
            .map(|(i, compile)| async move { (i, compile.await) })
            .buffer_unordered(parallel)
            .collect()
            .await;
        compiled.sort_by_key(|(i, _)| *i);
        for (_, (program, (availability, status, detail), text)) in compiled {
            output.push_str(&text);
            programs.insert(program.clone(), availability);
            builds.push(ProgramBuild {
                name: program.clone(),
                status,
                detail,
            });
        }
    }
    if output.len() > MAX_BUILD_OUTPUT {
        output = tail(&output, MAX_BUILD_OUTPUT);
    }
    let ok = builds.iter().all(|b| !b.status.is_failure());
    (
        Submission {
            name: name.to_string(),
            dir: build_dir.to_path_buf(),
            programs,
            student: None,
            peers: None,
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

/// What one program's build gave: whether it can run, its status, and the
/// detail the report shows.
type Built = (Availability, BuildStatus, Option<String>);

/// A build that ran out of time, and why.
fn timed_out(why: String) -> Built {
    (
        Availability::BuildFailed(why.clone()),
        BuildStatus::Timeout,
        Some(why),
    )
}

/// A program the selected scenarios do not start.
fn skipped(program: &str) -> Built {
    let why = "not built: no selected scenario starts it";
    (
        Availability::Missing(format!("{program} was {why}")),
        BuildStatus::Skipped,
        Some(why.to_string()),
    )
}

/// Compiles one program from its sources (or reuses the same compile from
/// `cache`); its result and the compiler's words, headed by the command line.
async fn compile<'p>(
    jail: &BuildJail,
    build_dir: &Path,
    manifest: &LabManifest,
    program: &'p String,
    spec: &socklab_scenario::ProgramSpec,
    deadline: Instant,
    cache: Option<&CompileCache>,
) -> (&'p String, Built, String) {
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
        let availability = Availability::Missing(format!("{program} is missing: {why}"));
        return (
            program,
            (availability, BuildStatus::Missing, Some(why)),
            String::new(),
        );
    }
    let mut args = manifest.build.flags.clone();
    args.push("-o".into());
    args.push(program.clone());
    args.extend(spec.sources.iter().cloned());
    let compiler = &manifest.build.compiler;
    let shared = cache
        .zip(Folder::open(build_dir).ok())
        .and_then(|(cache, folder)| {
            let shareable = CompileCache::shareable(
                compiler,
                &manifest.build.flags,
                program,
                &spec.sources,
                &folder,
            )?;
            Some((cache, folder, shareable))
        });
    let result = match shared {
        Some((cache, folder, shareable)) => {
            shared_compile(
                jail, cache, &folder, &shareable, compiler, &args, program, deadline,
            )
            .await
        }
        None => jail.run(build_dir, compiler, &args, deadline).await,
    };
    let text = format!(
        "$ {} {}\n{}",
        manifest.build.compiler,
        args.join(" "),
        result.output
    );
    let exe = build_dir.join(program);
    let built = if result.success && exe.is_file() {
        (Availability::Ready(exe), BuildStatus::Built, None)
    } else if result.timed_out {
        timed_out(format!(
            "compiling {program} did not finish within {:?}",
            manifest.build.timeout
        ))
    } else {
        let why = format!("{program} did not compile:\n{}", tail(&result.output, 2000));
        (
            Availability::BuildFailed(why),
            BuildStatus::Failed,
            Some(first_error(&result.output)),
        )
    };
    (program, built, text)
}

/// Reuses what the same inputs gave earlier in the run, or compiles (with
/// dependency output, for the cache) and remembers it.
#[allow(clippy::too_many_arguments)]
async fn shared_compile(
    jail: &BuildJail,
    cache: &CompileCache,
    folder: &Folder,
    shareable: &cache::Shareable,
    compiler: &str,
    args: &[String],
    program: &str,
    deadline: Instant,
) -> ToolResult {
    let slot = cache.slot(&shareable.key);
    let (found, _running) = cache.find(&slot, folder).await;
    if let Some(compiled) = found {
        let placed = match &compiled.program {
            Some(bytes) => place_program(folder, program, bytes, jail.run_as.as_ref()),
            None => Ok(()),
        };
        if placed.is_ok() {
            cache.reused();
            return ToolResult {
                success: compiled.success,
                timed_out: false,
                output: compiled.output.clone(),
            };
        }
    }
    let mut with_dependencies = shareable.dependency_flags.to_vec();
    with_dependencies.extend(args.iter().cloned());
    let result = jail
        .run(folder.path(), compiler, &with_dependencies, deadline)
        .await;
    let dependencies = folder
        .read(&shareable.dependency_file, cache::MAX_FILE)
        .ok();
    let _ = std::fs::remove_file(folder.path().join(&shareable.dependency_file));
    let made = result
        .success
        .then(|| folder.read(Path::new(program), cache::MAX_FILE).ok())
        .flatten();
    if !result.success || made.is_some() {
        cache.remember(
            &slot,
            folder,
            dependencies.as_deref(),
            result.timed_out,
            Compiled {
                success: result.success,
                output: result.output.clone(),
                program: made,
            },
        );
    }
    result
}

/// Writes a shared program where the compiler would have, as the student's
/// (mode 0755).
fn place_program(
    folder: &Folder,
    program: &str,
    bytes: &[u8],
    owner: Option<&RunAs>,
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut file = folder
        .create(Path::new(program))
        .map_err(std::io::Error::from)?;
    file.write_all(bytes)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o755))?;
    if let Some(user) = owner {
        std::os::unix::fs::fchown(&file, Some(user.uid), Some(user.gid))?;
    }
    Ok(())
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

/// Where a submission's build tools run.
struct BuildJail {
    sandbox: Sandbox,
    limits: ProcessLimits,
    run_as: Option<RunAs>,
}

/// Compilers reserve far more address space than student programs need.
const BUILD_ADDRESS_SPACE: u64 = 2 << 30;

impl BuildJail {
    fn create(
        build_dir: &Path,
        manifest: &LabManifest,
        settings: &RunSettings,
        student: Option<RunAs>,
    ) -> std::io::Result<BuildJail> {
        let mut limits = ProcessLimits::from_manifest(&manifest.limits);
        limits.cpu_secs = manifest.build.timeout.as_secs().max(1);
        limits.address_space = limits.address_space.max(BUILD_ADDRESS_SPACE);
        let process_limit = settings
            .capabilities
            .cgroups
            .as_ref()
            .map(|root| (root, limits.processes, None, None));
        let sandbox = Sandbox::create(
            settings.capabilities.level,
            &["build".to_string()],
            process_limit,
            &[build_dir.to_path_buf()],
        )?;
        // The build writes into its copy, which is then the student's
        // alone (mode 0700: no other submission's code may look in).
        let run_as = student.map(|user| RunAs {
            keep_bind_service: false,
            ..user
        });
        if let Some(user) = &run_as {
            user.own_tree(build_dir)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(build_dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(BuildJail {
            sandbox,
            limits,
            run_as,
        })
    }

    /// Runs a build tool in the sandbox, in a session of its own; at the
    /// deadline the session is killed. Whatever the tool left behind is
    /// killed with the sandbox when the build ends.
    async fn run(&self, dir: &Path, tool: &str, args: &[String], deadline: Instant) -> ToolResult {
        let mut command = spawn::Command::new(tool);
        command
            .args(args)
            .current_dir(dir)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", dir)
            .env("LANG", "C")
            .stdin(spawn::Stdio::Null)
            .stdout(spawn::Stdio::Piped)
            .stderr(spawn::Stdio::Piped);
        let limits = self.limits.clone();
        let run_as = self.run_as;
        // On a blocking thread: a start takes milliseconds (tens of them
        // when joining a v1 cgroup waits for an RCU grace period), and the
        // task that builds also starts the scenarios and the other compiles.
        let spawned = match self.sandbox.entry(None) {
            Ok(entry) => tokio::task::spawn_blocking(move || {
                let cgroups = entry.cgroup_procs_fds();
                entry.spawn(&mut command, &mut || {
                    crate::sandbox::confine_in_child(
                        &cgroups,
                        false,
                        Some(&limits),
                        run_as.as_ref(),
                    )
                })
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(e) => Err(e),
        };
        let spawn::Spawned {
            mut child,
            stdout,
            stderr,
            ..
        } = match spawned {
            Ok(spawned) => spawned,
            Err(e) => {
                return ToolResult {
                    success: false,
                    timed_out: false,
                    output: format!("could not run `{tool}`: {e}\n"),
                };
            }
        };
        let pid = Some(child.id());
        // Read the output apart from waiting: a process the tool left in the
        // background may hold the pipes open after the tool itself is done.
        let stdout = tokio::spawn(read_all(stdout));
        let stderr = tokio::spawn(read_all(stderr));
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let status = tokio::time::timeout(budget, child.wait()).await;
        if let Some(pid) = pid {
            // SAFETY: killing the build's own session (its process group).
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
        let grace = Duration::from_millis(500);
        let out = tokio::time::timeout(grace, stdout)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let err = tokio::time::timeout(grace, stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        match status {
            Ok(Ok(status)) => ToolResult {
                success: status.success(),
                timed_out: false,
                output,
            },
            Ok(Err(e)) => ToolResult {
                success: false,
                timed_out: false,
                output: format!("{output}`{tool}` failed: {e}\n"),
            },
            Err(_) => ToolResult {
                success: false,
                timed_out: true,
                output: format!("{output}`{tool}` was stopped: it did not finish in time\n"),
            },
        }
    }
}

/// Everything a pipe delivers until it closes (up to what the report keeps).
async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return kept;
    };
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if kept.len() < 4 * MAX_BUILD_OUTPUT {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    kept
}

/// The result of a build that could not even start (no sandbox for it).
fn unbuildable(
    name: &str,
    build_dir: &Path,
    manifest: &LabManifest,
    started: Instant,
    error: &std::io::Error,
) -> (Submission, BuildReport) {
    let why = format!("socklab could not prepare the build: {error}");
    let mut submission = prebuilt(name, build_dir.to_path_buf());
    let mut programs = Vec::new();
    for program in manifest.programs.keys() {
        submission
            .programs
            .insert(program.clone(), Availability::BuildFailed(why.clone()));
        programs.push(ProgramBuild {
            name: program.clone(),
            status: BuildStatus::Failed,
            detail: Some(why.clone()),
        });
    }
    let report = BuildReport {
        ok: false,
        method: "sandbox".into(),
        programs,
        output: format!("{why}\n"),
        duration_secs: started.elapsed().as_secs_f64(),
    };
    (submission, report)
}

/// A submission used as it is (no manifest, nothing to build).
pub fn prebuilt(name: &str, dir: PathBuf) -> Submission {
    Submission {
        name: name.to_string(),
        dir,
        programs: BTreeMap::new(),
        student: None,
        peers: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_hard_link_to_a_file_not_everyone_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "TOPSECRET").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let submission = dir.path().join("student");
        std::fs::create_dir(&submission).unwrap();
        std::fs::write(submission.join("main.c"), "int main;").unwrap();
        std::fs::hard_link(&secret, submission.join("notes.h")).unwrap();
        let refused = copy_submission(&submission, &dir.path().join("copy")).unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains("`notes.h` is a hard link (2 names)"),
            "{text}"
        );
        assert!(!text.contains("TOPSECRET"));

        // One anyone may read is copied (the student could read it anyway),
        // and links of the other kind are skipped.
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", submission.join("passwd.h")).unwrap();
        let copy = dir.path().join("copy2");
        copy_submission(&submission, &copy).unwrap();
        assert_eq!(
            std::fs::read_to_string(copy.join("notes.h")).unwrap(),
            "TOPSECRET"
        );
        assert!(!copy.join("passwd.h").exists());
    }
}
