//! Where a run's working files live: in memory, where socklab can put them
//! there and each scenario's memory is bounded.
//!
//! A class makes and removes some hundred thousand folders and files
//! (every scenario's folders, fixtures, copies, builds). On ext4 that cost
//! 6.5% of the machine's CPU in the fixture class, most of it in the inode
//! allocator skipping recently freed inodes (`recently_deleted`). On a
//! tmpfs the same work is a few list operations.
//!
//! The tmpfs is mounted over socklab's temporary working folder in a mount
//! namespace of socklab's own (its `/` a slave of the machine's, so the
//! machine's mounts still reach socklab and socklab's reach no one): it
//! goes when socklab goes, even when socklab is killed, and the machine
//! only ever sees an empty folder (which the next run removes, as it
//! removes what killed runs leave). A tmpfs holds memory, so it is used
//! only where each scenario's memory is held by a cgroup: what a program
//! writes there counts towards its scenario's limit, and each scenario's
//! folder is removed when the scenario ends, so a class never holds more
//! than its running scenarios' files. Elsewhere, and with `--work-dir`,
//! the files stay on disk.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Gives socklab a mount namespace of its own (a slave of the machine's),
/// so that what it mounts is its own. Must be called while the process is
/// single-threaded (the kernel refuses otherwise); `false` when it could
/// not (not root, or threads already started), and socklab then mounts
/// nothing of its own.
pub fn own_mount_namespace() -> bool {
    // SAFETY: unshare changes only this (single-threaded) process's mount
    // namespace.
    (unsafe { libc::unshare(libc::CLONE_NEWNS) }) == 0 && root_a_slave()
}

/// Makes `/` in the caller's (new) mount namespace a slave of the one it
/// came from: mounts there still arrive, none made here leave.
fn root_a_slave() -> bool {
    // SAFETY: mount(2) with a valid C string, changing propagation only.
    unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ) == 0
    }
}

/// A tmpfs mounted over a folder; unmounted when dropped (what it held
/// goes with it).
#[derive(Debug)]
pub struct InMemory {
    dir: PathBuf,
}

impl InMemory {
    /// Mounts a tmpfs over `dir` (mode 0755, like the folder it hides).
    /// Only in socklab's own mount namespace ([`own_mount_namespace`]).
    pub fn mount(dir: &Path) -> io::Result<InMemory> {
        let target = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // SAFETY: mount(2) with valid C strings.
        let done = unsafe {
            libc::mount(
                c"socklab".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=0755".as_ptr().cast(),
            )
        };
        if done == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(InMemory {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for InMemory {
    fn drop(&mut self) {
        if let Ok(target) = CString::new(self.dir.as_os_str().as_bytes()) {
            // SAFETY: umount2(2) with a valid C string.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a child process of its own (a test binary has threads): the
    /// mount holds files, the machine's namespace does not see it, and the
    /// files go with the unmount.
    #[test]
    fn a_private_tmpfs_holds_files_and_goes_with_its_unmount() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let child = std::thread::spawn(move || {
            // A thread of its own mount namespace, like socklab's process.
            // SAFETY: as in own_mount_namespace, for this thread only.
            assert_eq!(
                unsafe { libc::unshare(libc::CLONE_FS | libc::CLONE_NEWNS) },
                0
            );
            assert!(root_a_slave());
            let memory = InMemory::mount(&path).unwrap();
            std::fs::write(path.join("file"), b"held").unwrap();
            let mounts = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
            assert!(mounts.contains(&format!(" {} ", path.display())));
            drop(memory);
            assert!(!path.join("file").exists());
        });
        child.join().unwrap();
        // The machine's namespace never saw the mount or the file.
        assert!(!dir.path().join("file").exists());
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(&format!(" {} ", dir.path().display())));
    }
}
