//! What a killed socklab leaves behind, and how the next one removes it.
//!
//! `kill -9 socklab` (or an OOM kill, a node reboot of a batch job) gives
//! it no chance to clean up: the programs die with their pid namespaces,
//! but the scenarios' cgroup folders and the run's working folder in
//! `$TMPDIR` stay. So every run that makes either holds a [`RunClaim`]: a
//! file `ID.run` in a claims folder, locked (`flock`) for the run's life,
//! where `ID` is the process's pid and start time (`PID.START`, never
//! reused while the machine is up). The run writes in it the folders it
//! makes; its cgroups are named after `ID` (`sID-N`).
//!
//! At start-up, [`remove_leftovers`] looks at every claim: one it can lock
//! belongs to no live socklab (the kernel dropped the dead run's lock), so
//! the folders it lists and the cgroups named after it are removed (their
//! processes, if any are left, killed first), then the claim. A claim it
//! cannot lock belongs to a live run and is left alone, with all it owns.
//! Cgroups named the old way (`sPID-N`, before claims) are removed when no
//! process has that pid.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::CgroupRoot;

/// This process's run id, `PID.START` (start time in clock ticks since
/// boot, from `/proc/self/stat`): unique among the processes of one boot.
pub fn run_id() -> String {
    let pid = std::process::id();
    let start = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command (which may hold spaces) in parentheses;
            // the start time is field 22, the 20th after the command.
            let after = stat.rsplit_once(')')?.1;
            after.split_whitespace().nth(19).map(str::to_string)
        })
        .unwrap_or_else(|| "0".to_string());
    format!("{pid}.{start}")
}

/// Where run claims are kept: `/run/socklab/runs` for root; for another
/// user a folder of theirs in the temporary folder.
pub fn claims_folder() -> PathBuf {
    // SAFETY: geteuid has no side effects.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 {
        PathBuf::from("/run/socklab/runs")
    } else {
        std::env::temp_dir().join(format!("socklab-runs-{uid}"))
    }
}

/// A live run's claim on what it makes (see the module).
#[derive(Debug)]
pub struct RunClaim {
    file: Mutex<File>,
    path: PathBuf,
    id: String,
}

impl RunClaim {
    /// Makes and locks this run's claim in `folder`.
    pub fn take(folder: &Path) -> io::Result<RunClaim> {
        private_folder(folder)?;
        let id = run_id();
        let path = folder.join(format!("{id}.run"));
        // Made under another name, locked, then renamed into place: a claim
        // is never seen unlocked. (Made in place, another socklab starting
        // up between the open and the lock took the new claim for a dead
        // run's and removed it; `runner.rs`'s leftover test caught it once
        // in a full test run.)
        let making = folder.join(format!("{id}.making"));
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&making)?;
        // SAFETY: flock on a descriptor we hold.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == -1 {
            return Err(io::Error::last_os_error());
        }
        std::fs::rename(&making, &path)?;
        Ok(RunClaim {
            file: Mutex::new(file),
            path,
            id,
        })
    }

    /// The run's id, which its cgroups are named after.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Records a folder this run made (removed after it if it is killed).
    pub fn record_folder(&self, folder: &Path) -> io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(file, "folder {}", folder.display())?;
        file.flush()
    }
}

impl Drop for RunClaim {
    /// A run that ends normally removed what it made: its claim goes too.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Makes `folder` (mode 0700) unless it exists, and checks it is a folder
/// of the user running socklab that no one else may write to: a claim in a
/// folder another user controls could make socklab remove anything.
fn private_folder(folder: &Path) -> io::Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(folder)?;
    // SAFETY: geteuid has no side effects.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "{} is not a folder of this user closed to others",
            folder.display()
        )));
    }
    Ok(())
}

/// Removes what runs that are gone left behind (see the module): their
/// folders and, where `cgroups` is given, their cgroups. Returns what was
/// removed, in words.
pub fn remove_leftovers(folder: &Path, cgroups: Option<&CgroupRoot>) -> Vec<String> {
    let mut removed = Vec::new();
    if private_folder(folder).is_err() {
        return removed;
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return removed;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".run"))
            .map(str::to_string)
        else {
            continue;
        };
        let Ok(claim) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        // SAFETY: flock on a descriptor we hold.
        if unsafe { libc::flock(claim.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == -1 {
            continue; // a live run's
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            if let Some(left) = line.strip_prefix("folder ") {
                let left = Path::new(left);
                if left.is_absolute() && std::fs::remove_dir_all(left).is_ok() {
                    removed.push(format!("the working folder {}", left.display()));
                }
            }
        }
        if let Some(root) = cgroups {
            let gone = root.remove_where(|name| name.starts_with(&format!("s{id}-")));
            if gone > 0 {
                removed.push(format!("{gone} cgroup folder(s) of run {id}"));
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    if let Some(root) = cgroups {
        let gone = root.remove_where(legacy_and_dead);
        if gone > 0 {
            removed.push(format!(
                "{gone} cgroup folder(s) of earlier socklab versions"
            ));
        }
    }
    removed
}

/// A cgroup named the way socklab named them before claims (`sPID-N`)
/// whose process is gone.
fn legacy_and_dead(name: &str) -> bool {
    let Some((pid, serial)) = name.strip_prefix('s').and_then(|r| r.split_once('-')) else {
        return false;
    };
    pid.bytes().all(|b| b.is_ascii_digit())
        && serial.bytes().all(|b| b.is_ascii_digit())
        && !pid.is_empty()
        && !Path::new("/proc").join(pid).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_runs_folders_are_removed_and_a_live_runs_kept() {
        let dir = tempfile::tempdir().unwrap();
        let claims = dir.path().join("runs");
        let live = RunClaim::take(&claims).unwrap();
        let live_work = dir.path().join("live-work");
        std::fs::create_dir(&live_work).unwrap();
        live.record_folder(&live_work).unwrap();
        // A run that was killed: its claim is there, unlocked.
        let dead_work = dir.path().join("dead-work");
        std::fs::create_dir_all(dead_work.join("student/build")).unwrap();
        std::fs::write(
            claims.join("1.2.run"),
            format!("folder {}\n", dead_work.display()),
        )
        .unwrap();
        let removed = remove_leftovers(&claims, None);
        assert_eq!(
            removed,
            [format!("the working folder {}", dead_work.display())]
        );
        assert!(!dead_work.exists());
        assert!(!claims.join("1.2.run").exists());
        assert!(live_work.exists(), "the live run keeps its folder");
        drop(live);
        assert!(
            std::fs::read_dir(&claims).unwrap().next().is_none(),
            "an ended run's claim is gone"
        );
    }

    #[test]
    fn a_claim_appears_already_locked_and_nothing_else_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let claims = dir.path().join("runs");
        let claim = RunClaim::take(&claims).unwrap();
        let names: Vec<String> = std::fs::read_dir(&claims)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("{}.run", claim.id())]);
        let other = File::open(claims.join(&names[0])).unwrap();
        // SAFETY: flock on a descriptor we hold.
        let locked = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == -1;
        assert!(locked, "another socklab finds the claim locked");
    }

    #[test]
    fn the_run_id_has_the_pid_and_a_start_time() {
        let id = run_id();
        let (pid, start) = id.split_once('.').unwrap();
        assert_eq!(pid, std::process::id().to_string());
        assert!(start.parse::<u64>().unwrap() > 0);
        assert!(legacy_and_dead("s999999999-3"));
        assert!(!legacy_and_dead(&format!("s{}-3", std::process::id())));
        assert!(!legacy_and_dead(&format!("s{id}-3")));
    }
}
