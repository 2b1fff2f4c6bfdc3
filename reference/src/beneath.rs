//! Opening files beneath a folder for someone who may not be trusted.
//!
//! A program that opens a path on someone else's behalf — the reference
//! file-transfer server asked for a file by a student's client, the grader
//! looking at the copy a student's client wrote — must not be turned against
//! the machine: a path may be a symbolic link to `/etc/shadow`, a FIFO that
//! blocks `open()` for ever, `/dev/zero` that never ends, or `..` out of the
//! folder. A [`Folder`] opens paths only *beneath* itself, following no
//! links of any kind, never blocking, and hands out regular files only:
//!
//! - `openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//!   RESOLVE_NO_MAGICLINKS` and `O_NOFOLLOW | O_NONBLOCK` (Linux ≥ 5.6);
//! - where `openat2` is missing, the path is walked one component at a time
//!   with `openat(… O_NOFOLLOW)`, each directory opened from the one before;
//! - the path is first opened `O_PATH` (which opens nothing: no FIFO
//!   handshake, no device driver) and `fstat`ed; only a regular file is then
//!   opened for reading, and checked to be the same file.
//!
//! What was refused is a [`Refusal`] that names what the path was ("a FIFO",
//! "a link to outside the folder"), never where a link pointed: a report
//! built from it leaks nothing of what lies outside the folder.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// What a path beneath a folder is, looked at without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file of this many bytes.
    File(u64),
    /// A directory.
    Directory,
    /// A symbolic link.
    Link,
    /// A named pipe.
    Fifo,
    /// A character or block device.
    Device,
    /// A Unix socket.
    Socket,
}

impl Kind {
    /// What `fstat`/`lstat` says a file is.
    pub fn of(stat: &libc::stat) -> Kind {
        match stat.st_mode & libc::S_IFMT {
            libc::S_IFREG => Kind::File(stat.st_size as u64),
            libc::S_IFDIR => Kind::Directory,
            libc::S_IFLNK => Kind::Link,
            libc::S_IFIFO => Kind::Fifo,
            libc::S_IFSOCK => Kind::Socket,
            _ => Kind::Device,
        }
    }

    /// "a FIFO", "a directory", … (for "DST is a FIFO").
    pub fn describe(self) -> &'static str {
        match self {
            Kind::File(_) => "a regular file",
            Kind::Directory => "a directory",
            Kind::Link => "a symbolic link",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::Device => "a device",
            Kind::Socket => "a Unix socket",
        }
    }
}

/// Why a path beneath a folder was not opened.
#[derive(Debug)]
pub enum Refusal {
    /// Nothing is there.
    Absent,
    /// The path leads out of the folder (`..`, or an absolute path elsewhere).
    Outside,
    /// The path goes through a symbolic link; `outside` says whether the
    /// link points out of the folder (where it points is never told).
    Link {
        /// The link's target is outside the folder (or absolute).
        outside: bool,
    },
    /// The path is not a regular file.
    NotRegular(Kind),
    /// The file is larger than the reader accepts.
    TooLarge {
        /// The largest size read.
        limit: u64,
        /// Its size when it was looked at (at least `limit + 1`).
        size: u64,
    },
    /// Any other failure (permissions, I/O).
    Failed(io::Error),
}

impl std::fmt::Display for Refusal {
    /// Words to follow the path: "`copy` is a FIFO (named pipe)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Absent => f.write_str("does not exist"),
            Refusal::Outside => f.write_str("is outside the folder"),
            Refusal::Link { outside: true } => f.write_str("is a link to outside the folder"),
            Refusal::Link { outside: false } => {
                f.write_str("is a symbolic link (links are not followed)")
            }
            Refusal::NotRegular(kind) => write!(f, "is {}, not a regular file", kind.describe()),
            Refusal::TooLarge { limit, size } => {
                write!(f, "is larger than {limit} bytes ({size} bytes)")
            }
            Refusal::Failed(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

impl From<Refusal> for io::Error {
    fn from(refusal: Refusal) -> io::Error {
        let kind = match &refusal {
            Refusal::Absent => io::ErrorKind::NotFound,
            Refusal::Failed(e) => e.kind(),
            _ => io::ErrorKind::PermissionDenied,
        };
        io::Error::new(kind, refusal.to_string())
    }
}

/// A folder that paths are opened beneath.
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
    path: PathBuf,
}

impl Folder {
    /// Opens the folder itself (`path` is trusted: whoever calls this made
    /// it or was given it by a trusted party).
    pub fn open(path: &Path) -> io::Result<Folder> {
        let c = cstring(path.as_os_str())?;
        // SAFETY: open(2) with a valid C string; the descriptor is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Folder {
            // SAFETY: a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The folder's path as given to [`Folder::open`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` relative to the folder: a relative path as it is, an absolute
    /// one inside the folder without the folder's part. `..` anywhere, or an
    /// absolute path elsewhere, is [`Refusal::Outside`].
    pub fn relative(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let rest = if path.is_absolute() {
            path.strip_prefix(&self.path)
                .map_err(|_| Refusal::Outside)?
                .to_path_buf()
        } else {
            path.to_path_buf()
        };
        let mut clean = PathBuf::new();
        for component in rest.components() {
            match component {
                Component::Normal(name) => clean.push(name),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(Refusal::Outside);
                }
            }
        }
        Ok(clean)
    }

    /// What `path` (see [`Folder::relative`]) is, without following it or
    /// any link on the way; [`Refusal::Absent`] when nothing is there.
    pub fn look(&self, path: &Path) -> Result<Kind, Refusal> {
        let relative = self.relative(path)?;
        let fd = self.open_path(&relative)?;
        Ok(Kind::of(&fstat(fd.as_raw_fd())?))
    }

    /// Opens the regular file at `path` for reading.
    pub fn open_file(&self, path: &Path) -> Result<File, Refusal> {
        let relative = self.relative(path)?;
        let seen = self.probe(&relative)?;
        if !matches!(Kind::of(&seen), Kind::File(_)) {
            return Err(Refusal::NotRegular(Kind::of(&seen)));
        }
        let file = self.open_with(
            &relative,
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )?;
        let opened = fstat(file.as_raw_fd())?;
        // Swapped between the two opens: whatever it is now, it is not
        // the file that was looked at.
        if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino)
            || opened.st_mode & libc::S_IFMT != libc::S_IFREG
        {
            return Err(Refusal::NotRegular(Kind::of(&opened)));
        }
        Ok(File::from(file))
    }

    /// Reads the regular file at `path`, at most `limit` bytes: a larger
    /// file (or one that grows past it while being read) is
    /// [`Refusal::TooLarge`].
    pub fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
        let file = self.open_file(path)?;
        let size = file.metadata().map_err(Refusal::Failed)?.len();
        if size > limit {
            return Err(Refusal::TooLarge { limit, size });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(Refusal::Failed)?;
        if bytes.len() as u64 > limit {
            return Err(Refusal::TooLarge {
                limit,
                size: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Creates (or truncates) the regular file at `path` for writing; an
    /// existing link, FIFO or device there is refused, not written through.
    pub fn create(&self, path: &Path) -> Result<File, Refusal> {
        let relative = self.relative(path)?;
        match self.probe(&relative) {
            Ok(seen) => {
                let kind = Kind::of(&seen);
                if !matches!(kind, Kind::File(_)) {
                    return Err(Refusal::NotRegular(kind));
                }
            }
            Err(Refusal::Absent) => {}
            Err(other) => return Err(other),
        }
        let file = self.open_with(
            &relative,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK | libc::O_NOCTTY,
            0o644,
        )?;
        Ok(File::from(file))
    }

    /// What `relative` is, where the path is one socklab may open: a link
    /// at its end is a [`Refusal::Link`] like one on the way.
    fn probe(&self, relative: &Path) -> Result<libc::stat, Refusal> {
        let fd = self.open_path(relative)?;
        let stat = fstat(fd.as_raw_fd())?;
        if Kind::of(&stat) == Kind::Link {
            let outside = self.first_link(relative).unwrap_or(true);
            return Err(Refusal::Link { outside });
        }
        Ok(stat)
    }

    /// `O_PATH` descriptor of `relative`, following nothing.
    fn open_path(&self, relative: &Path) -> Result<OwnedFd, Refusal> {
        self.open_with(relative, libc::O_PATH, 0)
    }

    /// Opens `relative` beneath the folder with `flags` (plus `O_NOFOLLOW |
    /// O_CLOEXEC`), following no link: `openat2` where the kernel has it,
    /// a component-by-component walk where it does not.
    fn open_with(&self, relative: &Path, flags: i32, mode: u32) -> Result<OwnedFd, Refusal> {
        let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let result = match openat2(self.fd.as_raw_fd(), relative, flags, mode) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                walk_open(self.fd.as_raw_fd(), relative, flags, mode)
            }
            other => other,
        };
        result.map_err(|e| self.refusal(relative, e))
    }

    /// Turns an error of opening `relative` into what the path was.
    fn refusal(&self, relative: &Path, error: io::Error) -> Refusal {
        match error.raw_os_error() {
            Some(libc::ENOENT) => Refusal::Absent,
            // ELOOP: a link on the way (O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
            // EXDEV: the path left the folder (RESOLVE_BENEATH); ENOTDIR:
            // the walk met a link where a directory was expected.
            Some(libc::ELOOP) | Some(libc::EXDEV) | Some(libc::ENOTDIR) => {
                match self.first_link(relative) {
                    Some(outside) => Refusal::Link { outside },
                    None if error.raw_os_error() == Some(libc::EXDEV) => Refusal::Outside,
                    None => Refusal::Failed(error),
                }
            }
            Some(libc::ENXIO) => Refusal::NotRegular(Kind::Fifo),
            _ => Refusal::Failed(error),
        }
    }

    /// Finds the first symbolic link along `relative` and says whether it
    /// points outside the folder (`None`: no link on the way).
    fn first_link(&self, relative: &Path) -> Option<bool> {
        let mut dir = dup(self.fd.as_raw_fd()).ok()?;
        let components: Vec<&OsStr> = relative.iter().collect();
        for (depth, name) in components.iter().enumerate() {
            let here = openat(dir.as_raw_fd(), name, libc::O_PATH | libc::O_NOFOLLOW).ok()?;
            let stat = fstat(here.as_raw_fd()).ok()?;
            match Kind::of(&stat) {
                Kind::Link => {
                    let target = readlinkat(dir.as_raw_fd(), name).ok()?;
                    return Some(self.leads_outside(&target, depth));
                }
                Kind::Directory => dir = here,
                _ => return None,
            }
        }
        None
    }

    /// Whether a link at `depth` folders below the folder, pointing at
    /// `target`, leads outside it (lexically: an absolute target elsewhere,
    /// or more `..` than the depth).
    fn leads_outside(&self, target: &Path, depth: usize) -> bool {
        if target.is_absolute() {
            return !target.starts_with(&self.path);
        }
        let mut level = depth as i64;
        for component in target.components() {
            match component {
                Component::ParentDir => level -= 1,
                Component::Normal(_) => level += 1,
                _ => {}
            }
            if level < 0 {
                return true;
            }
        }
        false
    }
}

fn cstring(text: &OsStr) -> io::Result<CString> {
    CString::new(text.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))
}

fn fstat(fd: RawFd) -> Result<libc::stat, Refusal> {
    // SAFETY: fstat fills a zeroed struct for a descriptor we hold.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) == -1 {
            return Err(Refusal::Failed(io::Error::last_os_error()));
        }
        Ok(stat)
    }
}

fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: duplicating a descriptor we hold; the copy is owned below.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

fn openat(dir: RawFd, name: &OsStr, flags: i32) -> io::Result<OwnedFd> {
    openat_mode(dir, name, flags, 0)
}

fn openat_mode(dir: RawFd, name: &OsStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let c = cstring(name)?;
    // SAFETY: openat(2) with a valid C string; the descriptor is owned below.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn readlinkat(dir: RawFd, name: &OsStr) -> io::Result<PathBuf> {
    let c = cstring(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat writes at most buf.len() bytes into buf.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(OsStr::from_bytes(&buf)))
}

/// `openat2(2)` beneath `dir`, following no link of any kind.
fn openat2(dir: RawFd, relative: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let path = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let c = cstring(path.as_os_str())?;
    // SAFETY: open_how is plain data; zeroed is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.mode = if flags & libc::O_CREAT != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 reads `how` (of the size given) and the C string.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The fallback where `openat2` is missing: each directory on the way is
/// opened from the one before with `O_NOFOLLOW | O_DIRECTORY`, so a link
/// anywhere fails (`ELOOP` or `ENOTDIR`); the last component is opened with
/// `flags` (which carry `O_NOFOLLOW`).
fn walk_open(dir: RawFd, relative: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let components: Vec<&OsStr> = relative.iter().collect();
    let Some((last, on_the_way)) = components.split_last() else {
        return dup(dir).and_then(|d| openat(d.as_raw_fd(), OsStr::new("."), flags));
    };
    let mut here = dup(dir)?;
    for name in on_the_way {
        here = openat(
            here.as_raw_fd(),
            name,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )?;
    }
    openat_mode(here.as_raw_fd(), last, flags, mode)
}

/// Exposes the fallback walk to the tests, which cannot remove `openat2`
/// from the kernel they run on.
#[doc(hidden)]
pub fn open_by_walk_for_tests(folder: &Folder, relative: &Path) -> io::Result<File> {
    walk_open(
        folder.fd.as_raw_fd(),
        relative,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    )
    .map(File::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn folder() -> (tempfile::TempDir, Folder) {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::open(dir.path()).unwrap();
        (dir, folder)
    }

    fn mkfifo(path: &Path) {
        let c = cstring(path.as_os_str()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    #[test]
    fn a_regular_file_is_read_and_a_large_one_refused() {
        let (dir, folder) = folder();
        std::fs::create_dir(dir.path().join("cli")).unwrap();
        std::fs::write(dir.path().join("cli/copy"), b"hello").unwrap();
        assert_eq!(folder.read(Path::new("cli/copy"), 5).unwrap(), b"hello");
        let absolute = dir.path().join("cli/copy");
        assert_eq!(folder.read(&absolute, 5).unwrap(), b"hello");
        assert!(matches!(
            folder.read(Path::new("cli/copy"), 4),
            Err(Refusal::TooLarge { limit: 4, size: 5 })
        ));
        assert!(matches!(
            folder.look(Path::new("cli/none")),
            Err(Refusal::Absent)
        ));
        assert_eq!(folder.look(Path::new("cli")).unwrap(), Kind::Directory);
    }

    #[test]
    fn links_are_never_followed_and_say_where_they_lead() {
        let (dir, folder) = folder();
        std::fs::create_dir(dir.path().join("cli")).unwrap();
        std::fs::write(dir.path().join("cli/real"), b"x").unwrap();
        symlink("/etc/passwd", dir.path().join("cli/abs")).unwrap();
        symlink("../../outside", dir.path().join("cli/up")).unwrap();
        symlink("real", dir.path().join("cli/near")).unwrap();
        symlink("/", dir.path().join("root")).unwrap();
        let refused = |p: &str| folder.read(Path::new(p), 100).unwrap_err();
        assert!(matches!(
            refused("cli/abs"),
            Refusal::Link { outside: true }
        ));
        assert!(matches!(refused("cli/up"), Refusal::Link { outside: true }));
        assert!(matches!(
            refused("cli/near"),
            Refusal::Link { outside: false }
        ));
        // A link on the way, not only at the end.
        assert!(matches!(
            refused("root/etc/passwd"),
            Refusal::Link { outside: true }
        ));
        assert_eq!(folder.look(Path::new("cli/abs")).unwrap(), Kind::Link);
        assert_eq!(
            refused("cli/abs").to_string(),
            "is a link to outside the folder"
        );
        // The fallback walk refuses them too.
        for path in ["cli/abs", "root/etc/passwd"] {
            let e = open_by_walk_for_tests(&folder, Path::new(path)).unwrap_err();
            assert!(
                matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)),
                "{path}: {e}"
            );
        }
        assert!(open_by_walk_for_tests(&folder, Path::new("cli/real")).is_ok());
    }

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let (dir, folder) = folder();
        mkfifo(&dir.path().join("pipe"));
        let started = std::time::Instant::now();
        let refused = folder.read(Path::new("pipe"), 100).unwrap_err();
        assert!(
            matches!(refused, Refusal::NotRegular(Kind::Fifo)),
            "{refused}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            refused.to_string(),
            "is a FIFO (named pipe), not a regular file"
        );
        // A device reached by an absolute path outside the folder.
        assert!(matches!(
            folder.read(Path::new("/dev/zero"), 100),
            Err(Refusal::Outside)
        ));
        let devices = Folder::open(Path::new("/dev")).unwrap();
        assert!(matches!(
            devices.read(Path::new("zero"), 100),
            Err(Refusal::NotRegular(Kind::Device))
        ));
        // Creating over a FIFO does not write into it.
        assert!(matches!(
            folder.create(Path::new("pipe")),
            Err(Refusal::NotRegular(Kind::Fifo))
        ));
    }

    #[test]
    fn paths_out_of_the_folder_are_refused() {
        let (_dir, folder) = folder();
        for path in ["../x", "a/../../x", "/etc/passwd"] {
            assert!(
                matches!(folder.relative(Path::new(path)), Err(Refusal::Outside)),
                "{path}"
            );
        }
    }

    #[test]
    fn create_writes_a_new_file_and_refuses_a_link() {
        let (dir, folder) = folder();
        use std::io::Write;
        folder
            .create(Path::new("new"))
            .unwrap()
            .write_all(b"data")
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join("new")).unwrap(), b"data");
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        symlink(&target, dir.path().join("link")).unwrap();
        assert!(matches!(
            folder.create(Path::new("link")),
            Err(Refusal::Link { outside: false })
        ));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }
}
