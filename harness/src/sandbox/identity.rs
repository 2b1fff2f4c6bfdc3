//! A uid and gid of its own for each submission, from a reserved range.
//!
//! When every student's code runs as the same user (`nobody`), one
//! student's program may signal, `ptrace` or read `/proc/PID/root` of
//! another's, and rewrite the other's binaries: same uid, same rights. So,
//! as isolate does per box, socklab (when it is root) gives each submission
//! two identities of its own while it is graded:
//!
//! - the **student** identity: its build, its programs, and the folders
//!   they work in (owned by it, mode 0700);
//! - the **peers** identity: socklab's reference programs that run as
//!   processes beside the student's (a reference server a student's client
//!   talks to), so that the student's programs cannot signal, trace or
//!   stand in for them, and they cannot be made to open what the student
//!   could not.
//!
//! uid = gid, from [`FIRST_UID`] up, [`SLOTS`] of them (two per submission
//! graded at the same time). A uid is **claimed** by holding an exclusive
//! `flock` on `/run/socklab/uids/UID.lock` (the folder is root's, mode
//! 0700) for as long as the submission is graded. Concurrent socklab runs
//! on one machine therefore never share a uid, and a killed run gives its
//! uids back at once (the kernel drops a dead process's locks). Whatever
//! still runs under a uid when it is claimed was left by a killed run and
//! is killed before the uid is handed out.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::RunAs;

/// The first uid (and gid) socklab gives student code: 2 000 000 000, in
/// the block systemd leaves unassigned between its container ranges
/// (524288–1879048191) and its foreign-uid range (from 2147352576), far
/// above any login user and below 2³¹ (some tools mishandle larger uids).
pub const FIRST_UID: u32 = 2_000_000_000;
/// How many uids the range holds: two per submission graded at once.
pub const SLOTS: u32 = 4096;
/// Where claims are kept (a tmpfs emptied at boot on every systemd system).
pub const CLAIMS: &str = "/run/socklab/uids";

/// The uid of `nobody`, which student code runs as when no uid of the
/// range can be claimed (all of it shares it then; the report says so).
pub const NOBODY: u32 = 65534;

/// Where a run takes identities from: the range and the claims folder
/// (socklab is root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identities {
    pub first_uid: u32,
    pub slots: u32,
    /// `None`: no claim can be made here (the folder could not be made):
    /// everyone is `nobody`.
    pub claims: Option<PathBuf>,
    /// Programs keep `CAP_NET_BIND_SERVICE` (the loopback fallback, where
    /// daytime's port 13 is the machine's).
    pub keep_bind_service: bool,
    /// Reference programs run as the peers identity; false when that
    /// identity could not execute socklab's own binary (a folder on its
    /// path is closed to other users): they then run as the student's.
    pub separate_peers: bool,
}

impl Identities {
    /// The reserved range, claims in [`CLAIMS`] if they can be made there;
    /// `exe` is socklab's binary, which reference programs are run from.
    pub fn reserved(keep_bind_service: bool, exe: &Path) -> (Identities, Option<String>) {
        let mut identities = Identities {
            first_uid: FIRST_UID,
            slots: SLOTS,
            claims: Some(PathBuf::from(CLAIMS)),
            keep_bind_service,
            separate_peers: anyone_can_execute(exe),
        };
        let why_not = identities.claim_one(None).map(drop).err();
        let note = why_not.map(|e| {
            identities.claims = None;
            format!("cannot claim uids in {CLAIMS} ({e})")
        });
        (identities, note)
    }

    /// Claims a student and a peers identity for one submission; they are
    /// given back when the returned value is dropped.
    pub fn claim(&self) -> io::Result<SubmissionIdentity> {
        let user = |uid| RunAs {
            uid,
            gid: uid,
            keep_bind_service: self.keep_bind_service,
        };
        if self.claims.is_none() {
            return Ok(SubmissionIdentity {
                student: user(NOBODY),
                peers: user(NOBODY),
                _claims: Vec::new(),
            });
        }
        let student = self.claim_one(None)?;
        let (peers, claims) = if self.separate_peers {
            let peers = self.claim_one(Some(student.uid))?;
            (peers.uid, vec![student, peers])
        } else {
            (student.uid, vec![student])
        };
        kill_processes_of(&claims.iter().map(|c| c.uid).collect::<Vec<_>>());
        Ok(SubmissionIdentity {
            student: user(claims[0].uid),
            peers: user(peers),
            _claims: claims,
        })
    }

    /// The first free uid of the range (not `except`), claimed; what a
    /// killed run left running under it is for the caller to kill.
    fn claim_one(&self, except: Option<u32>) -> io::Result<Claim> {
        let claims = self
            .claims
            .as_ref()
            .ok_or_else(|| io::Error::other("no claims folder"))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(claims)?;
        for uid in (self.first_uid..self.first_uid.saturating_add(self.slots))
            .filter(|uid| Some(*uid) != except)
        {
            let lock = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(claims.join(format!("{uid}.lock")))?;
            // SAFETY: flock on a descriptor we hold.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(Claim { uid, _lock: lock });
            }
        }
        Err(io::Error::other(format!(
            "every uid from {} to {} is in use by other socklab runs (claims in {})",
            self.first_uid,
            self.first_uid.saturating_add(self.slots - 1),
            claims.display()
        )))
    }
}

/// One claimed uid: the claim lasts as long as the lock file is open.
#[derive(Debug)]
struct Claim {
    uid: u32,
    _lock: File,
}

/// The identities of one submission while it is graded.
#[derive(Debug)]
pub struct SubmissionIdentity {
    /// Its build and its programs.
    pub student: RunAs,
    /// socklab's reference programs running beside them in processes.
    pub peers: RunAs,
    _claims: Vec<Claim>,
}

/// Whether any user may execute `exe`: it is executable by others and
/// every folder above it may be searched by others.
fn anyone_can_execute(exe: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let others_may =
        |path: &Path| std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
    others_may(exe) && exe.ancestors().skip(1).all(others_may)
}

/// Kills every process whose real uid is one of `uids`: leftovers of a run
/// that was killed while it held them (at the loopback level nothing else
/// would end them). One walk of `/proc` for all of them: it reads every
/// process's `status`, the largest part of claiming.
fn kill_processes_of(uids: &[u32]) {
    for _ in 0..3 {
        let found: Vec<i32> = processes_of(uids);
        if found.is_empty() {
            return;
        }
        for pid in found {
            // SAFETY: signalling a process of a uid that belongs to no one.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn processes_of(uids: &[u32]) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            real_uid(Path::new(&format!("/proc/{pid}/status"))).is_some_and(|u| uids.contains(&u))
        })
        .collect()
}

fn real_uid(status: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(status).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(dir: &Path) -> Identities {
        Identities {
            first_uid: 3_000_000_000,
            slots: 4,
            claims: Some(dir.join("uids")),
            keep_bind_service: false,
            separate_peers: true,
        }
    }

    #[test]
    fn claims_are_exclusive_and_given_back_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let identities = range(dir.path());
        let first = identities.claim().unwrap();
        let second = identities.claim().unwrap();
        let uids = [
            first.student.uid,
            first.peers.uid,
            second.student.uid,
            second.peers.uid,
        ];
        let distinct: std::collections::BTreeSet<u32> = uids.into_iter().collect();
        assert_eq!(distinct.len(), 4, "{uids:?}");
        let full = identities.claim().unwrap_err();
        assert!(
            full.to_string().contains("in use by other socklab runs"),
            "{full}"
        );
        drop(first);
        let again = identities.claim().unwrap();
        assert_eq!(again.student.uid, 3_000_000_000);
        assert_eq!(again.student.gid, again.student.uid);
    }

    #[test]
    fn a_claim_is_seen_by_another_process() {
        // The lock is the kernel's: another process (here a forked child)
        // cannot take a uid this one holds.
        let dir = tempfile::tempdir().unwrap();
        let identities = range(dir.path());
        let held = identities.claim().unwrap();
        let lock = identities
            .claims
            .as_ref()
            .unwrap()
            .join(format!("{}.lock", held.student.uid));
        let status = std::process::Command::new("flock")
            .args(["--nonblock", "--exclusive"])
            .arg(&lock)
            .arg("true")
            .status();
        if let Ok(status) = status {
            assert!(!status.success(), "another process took a held uid");
        }
    }
}
