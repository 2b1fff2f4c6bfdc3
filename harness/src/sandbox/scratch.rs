//! What a scenario's programs left in their private scratch folders
//! (`/tmp`, `/var/tmp`, `/dev/shm`, `/run/lock`), found without trusting
//! them.
//!
//! The programs are still able to change these folders while socklab looks
//! (a daemon, a child that outlived its parent): a folder may be swapped
//! for a link to `/root` between the moment it is listed and the moment it
//! is entered. So the walk never goes by path: each folder is opened from
//! the descriptor of the one above with `O_NOFOLLOW | O_DIRECTORY`, entries
//! are looked at with `fstatat(AT_SYMLINK_NOFOLLOW)`, and a link is listed
//! as a link, never followed. Every name reported is one the walk read from
//! a folder inside the scratch folders; nothing outside them is listed. The
//! walk is bounded in entries found and in depth.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub use socklab_reference::beneath::Kind;

/// A file, folder or link the programs left outside their own folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrayFile {
    pub path: PathBuf,
    /// What it is (a regular file with its size, an empty folder, a link…).
    pub kind: Kind,
}

/// At most this many entries are listed.
const MOST: usize = 20;
/// Folders deeper than this below a scratch folder are not entered (they
/// are listed as folders).
const DEEPEST: usize = 16;

/// Lists what is below each of `roots` (absolute scratch folders, as seen
/// from the calling thread's mount namespace), except socklab's own
/// folders `keep` and the folders made only to hold them.
pub fn stray_files(roots: &[&str], keep: &[PathBuf]) -> Vec<StrayFile> {
    let mut found = Vec::new();
    for root in roots {
        let root = Path::new(root);
        let Ok(fd) = open_dir(libc::AT_FDCWD, root.as_os_str()) else {
            continue;
        };
        walk(fd, root, 0, keep, &mut found);
    }
    found
}

/// Collects what is below the open folder `dir` (whose path is `path`).
fn walk(dir: OwnedFd, path: &Path, depth: usize, keep: &[PathBuf], found: &mut Vec<StrayFile>) {
    let Ok(names) = list(&dir) else {
        return;
    };
    for name in names {
        if found.len() >= MOST {
            return;
        }
        let child = path.join(OsStr::from_bytes(name.as_bytes()));
        if keep.iter().any(|k| k == &child) {
            continue;
        }
        let Ok(stat) = stat_at(dir.as_raw_fd(), &name) else {
            continue;
        };
        let leads_to_kept = keep.iter().any(|k| k.starts_with(&child));
        let kind = Kind::of(&stat);
        if kind != Kind::Directory {
            found.push(StrayFile { path: child, kind });
            continue;
        }
        if depth >= DEEPEST {
            found.push(StrayFile { path: child, kind });
            continue;
        }
        match open_dir(dir.as_raw_fd(), OsStr::from_bytes(name.as_bytes())) {
            Ok(sub) => {
                let before = found.len();
                walk(sub, &child, depth + 1, keep, found);
                if found.len() == before && !leads_to_kept {
                    found.push(StrayFile { path: child, kind });
                }
            }
            // Swapped for a link (or something else) since it was looked
            // at: listed as a link, not entered.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                found.push(StrayFile {
                    path: child,
                    kind: Kind::Link,
                });
            }
            Err(_) => {}
        }
    }
}

/// Opens the folder `name` from `dir`, following no link and never blocking.
fn open_dir(dir: RawFd, name: &OsStr) -> io::Result<OwnedFd> {
    let c = CString::new(name.as_bytes()).map_err(|_| io::Error::other("NUL in a name"))?;
    // SAFETY: openat(2) with a valid C string; the descriptor is owned below.
    let fd = unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_RDONLY
                | libc::O_DIRECTORY
                | libc::O_NOFOLLOW
                | libc::O_NONBLOCK
                | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: fstatat fills a zeroed struct; the name is a valid C string.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstatat(dir, name.as_ptr(), &mut stat, libc::AT_SYMLINK_NOFOLLOW) == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(stat)
    }
}

/// The names in the open folder `dir` (not `.` and `..`), at most a few
/// more than the walk can list.
fn list(dir: &OwnedFd) -> io::Result<Vec<CString>> {
    // fdopendir takes the descriptor it is given: give it a copy.
    // SAFETY: duplicating a descriptor we hold.
    let copy = unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let copy = unsafe { OwnedFd::from_raw_fd(copy) };
    // SAFETY: fdopendir takes ownership of the descriptor on success.
    let stream = unsafe { libc::fdopendir(copy.into_raw_fd()) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    let mut names = Vec::new();
    loop {
        // SAFETY: readdir on a stream we opened; the entry is copied at once.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() || names.len() > 4 * MOST {
            break;
        }
        // SAFETY: d_name is a NUL-terminated array inside the entry.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name.to_owned());
        }
    }
    // SAFETY: closing the stream we opened (and with it the copy).
    unsafe { libc::closedir(stream) };
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_listed_never_followed() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path();
        std::fs::write(root.join("note"), b"abc").unwrap();
        std::fs::create_dir_all(root.join("d/e")).unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        let kept = root.join("socklab/work");
        std::fs::create_dir_all(&kept).unwrap();
        std::fs::write(kept.join("mine"), b"x").unwrap();
        let found = stray_files(&[root.to_str().unwrap()], &[kept]);
        let shown: Vec<(String, Kind)> = found
            .iter()
            .map(|f| {
                (
                    f.path.strip_prefix(root).unwrap().display().to_string(),
                    f.kind,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("d/e".to_string(), Kind::Directory),
                ("etc".to_string(), Kind::Link),
                ("note".to_string(), Kind::File(3)),
            ]
        );
    }

    #[test]
    fn a_deep_or_crowded_scratch_folder_is_listed_within_bounds() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path();
        let mut deep = root.to_path_buf();
        for _ in 0..40 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        for i in 0..100 {
            std::fs::write(root.join(format!("f{i:03}")), b"").unwrap();
        }
        let found = stray_files(&[root.to_str().unwrap()], &[]);
        assert_eq!(found.len(), MOST);
        let deepest = found
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().components().count())
            .max()
            .unwrap();
        assert!(deepest <= DEEPEST + 1, "{deepest}");
    }

    /// A program swaps a folder of its `/tmp` with a link to a folder
    /// outside while the walk runs (`renameat2(RENAME_EXCHANGE)`, as tight
    /// a race as there is): nothing outside is ever listed.
    #[test]
    fn a_folder_swapped_for_a_link_during_the_walk_lists_nothing_outside() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("outside-secret-name"), b"s").unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().to_path_buf();
        std::fs::create_dir(root.join("x")).unwrap();
        std::fs::write(root.join("x/inside"), b"i").unwrap();
        symlink(outside.path(), root.join("y")).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let x = CString::new(root.join("x").as_os_str().as_bytes()).unwrap();
            let y = CString::new(root.join("y").as_os_str().as_bytes()).unwrap();
            std::thread::spawn(move || {
                let mut swaps = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // SAFETY: renameat2 with valid C strings.
                    let done = unsafe {
                        libc::renameat2(
                            libc::AT_FDCWD,
                            x.as_ptr(),
                            libc::AT_FDCWD,
                            y.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        )
                    };
                    assert_eq!(done, 0, "{}", io::Error::last_os_error());
                    swaps += 1;
                }
                swaps
            })
        };
        let (mut walks, mut links, mut entered) = (0, 0, 0);
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(1500) {
            for found in stray_files(&[root.to_str().unwrap()], &[]) {
                let shown = found.path.display().to_string();
                assert!(found.path.starts_with(&root), "{shown}");
                assert!(!shown.contains("outside-secret-name"), "{shown}");
                match found.kind {
                    Kind::Link => links += 1,
                    Kind::File(_) => entered += 1,
                    _ => {}
                }
            }
            walks += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        println!("{walks} walks raced {swaps} swaps: {links} links listed, {entered} files inside");
        assert!(walks > 10 && swaps > 10 && links > 0 && entered > 0);
    }
}
