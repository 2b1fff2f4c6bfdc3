//! A class's submissions: finding them in a directory, unpacking archives
//! safely, and a content key for "already graded".
//!
//! Every subdirectory, `.zip`, `.tar.gz` or `.tgz` is one student, named
//! after it. Anything else is still a student — graded zero with the reason —
//! so a TA sees every entry in the results. Hidden entries (names starting
//! with `.`) are skipped, in the submissions directory and inside a
//! submission (`.git`, `.cargo`: not unpacked, copied, counted or part of the
//! resume key). Archives are unpacked with every
//! path checked: an entry that would land outside the target (`../x`, an
//! absolute path, a link) makes the whole archive unreadable, never a write
//! outside socklab's directory.
//!
//! Each entry also gets a folder name of its own (`slug`, used under
//! `OUT/students/` and in the working directory). Names are sanitized for the
//! filesystem, so `a b` and `a_b` would share a folder; [`list`] detects such
//! clashes and gives the entries whose name was changed a suffix made from a
//! hash of their original name, so every entry keeps its own, stable folder.
//! Two entries with the same student name (`alice/` and `alice.zip`) are told
//! apart by their full entry name (`alice` and `alice.zip`).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// One entry of the submissions directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The student's name: the directory name or the archive name without
    /// extension; the full entry name when another entry has the same name
    /// (`alice/` and `alice.zip` are `alice` and `alice.zip`).
    pub name: String,
    /// The entry's name in the submissions directory, as it is there.
    pub file_name: String,
    /// The entry's folder name, unique in the listing (see [`assign_slugs`]).
    pub slug: String,
    pub path: PathBuf,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    Zip,
    TarGz,
    /// Neither a directory nor a known archive.
    Other,
}

/// Lists the submissions in `dir`, sorted by name.
pub fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let file_name = item.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        let path = item.path();
        let kind_of = item.file_type()?;
        let (name, kind) = if kind_of.is_dir() {
            (file_name.clone(), EntryKind::Directory)
        } else if let Some(stem) = file_name.strip_suffix(".zip") {
            (stem.to_string(), EntryKind::Zip)
        } else if let Some(stem) = file_name
            .strip_suffix(".tar.gz")
            .or_else(|| file_name.strip_suffix(".tgz"))
        {
            (stem.to_string(), EntryKind::TarGz)
        } else {
            (file_name.clone(), EntryKind::Other)
        };
        entries.push(Entry {
            name,
            file_name,
            slug: String::new(),
            path,
            kind,
        });
    }
    assign_slugs(&mut entries);
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Makes every entry's `name` and `slug` unique, deterministically (the
/// result depends only on the entries' own names, not on their order).
///
/// - Entries sharing a student name (`alice/`, `alice.zip`) are named after
///   their full entry name, except the one whose entry name is the name
///   itself (the directory `alice`).
/// - The slug is the sanitized name. Where several names sanitize to the same
///   slug (compared ignoring case, for case-insensitive filesystems), a name
///   that sanitizing left unchanged keeps it and the others get
///   `-` + 8 hex digits of a hash of their entry name (`a b` → `a_b-1c2d3e4f`).
pub fn assign_slugs(entries: &mut [Entry]) {
    use std::collections::{BTreeMap, BTreeSet};
    // Each entry is renamed at most once (to its entry name, which is unique
    // in a directory), so this ends.
    loop {
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for e in entries.iter() {
            *by_name.entry(e.name.clone()).or_default() += 1;
        }
        let mut renamed = false;
        for e in entries.iter_mut() {
            if by_name[&e.name] > 1 && e.file_name != e.name {
                e.name = e.file_name.clone();
                renamed = true;
            }
        }
        if !renamed {
            break;
        }
    }
    let base = |e: &Entry| {
        let s = crate::engine::sanitize(&e.name);
        if s.is_empty() {
            "student".to_string()
        } else {
            s
        }
    };
    let mut by_base: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_base.entry(base(e).to_lowercase()).or_default().push(i);
    }
    for group in by_base.values() {
        let exact: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&i| base(&entries[i]) == entries[i].name)
            .collect();
        for &i in group {
            let b = base(&entries[i]);
            entries[i].slug = if group.len() == 1 || (exact.len() == 1 && exact[0] == i) {
                b
            } else {
                let digest = Sha256::digest(entries[i].file_name.as_bytes());
                format!("{b}-{}", &hex::encode(digest)[..8])
            };
        }
    }
    // A suffixed slug could still meet a real name (a student called
    // `a_b-1c2d3e4f`): number the later ones, in entry-name order.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].file_name.cmp(&entries[b].file_name));
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for i in order {
        let mut slug = entries[i].slug.clone();
        let mut n = 2;
        while !taken.insert(slug.to_lowercase()) {
            slug = format!("{}-{n}", entries[i].slug);
            n += 1;
        }
        entries[i].slug = slug;
    }
}

/// Why a submission could not be made into a folder to grade; the text
/// goes into the student's feedback.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("`{}` is neither a directory nor a .zip/.tar.gz/.tgz archive", .0.display())]
    NotASubmission(PathBuf),
    #[error("the archive contains the unsafe path `{}` (outside its own folder); it was not unpacked", .0.display())]
    UnsafePath(PathBuf),
    #[error("the archive contains a link `{0}`; it was not unpacked")]
    Link(String),
    /// The archive is damaged, or too large once unpacked.
    #[error("the {kind} archive cannot be read: {why}")]
    Unreadable { kind: &'static str, why: String },
    /// Writing the unpacked files failed.
    #[error("{0}")]
    Write(#[from] std::io::Error),
}

/// Makes the submission available as a directory under `work`; returns it.
/// The folder of a student's working folder that an archive is unpacked
/// into.
pub const UNPACKED: &str = "unpacked";

pub fn materialize(entry: &Entry, work: &Path) -> Result<PathBuf, UnpackError> {
    let target = work.join(UNPACKED);
    match entry.kind {
        EntryKind::Directory => Ok(entry.path.clone()),
        EntryKind::Other => Err(UnpackError::NotASubmission(entry.path.clone())),
        EntryKind::Zip => {
            unzip(&entry.path, &target)?;
            Ok(single_root(&target))
        }
        EntryKind::TarGz => {
            untar(&entry.path, &target)?;
            Ok(single_root(&target))
        }
    }
}

/// If an archive holds one top-level directory (`alice/…`), use it.
fn single_root(dir: &Path) -> PathBuf {
    let items: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(Result::ok).collect())
        .unwrap_or_default();
    match items.as_slice() {
        [only] if only.file_type().is_ok_and(|t| t.is_dir()) => only.path(),
        _ => dir.to_path_buf(),
    }
}

/// Total bytes an archive may unpack to.
const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

fn safe_relative(path: &Path) -> Result<PathBuf, UnpackError> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return Err(UnpackError::UnsafePath(path.to_path_buf())),
        }
    }
    Ok(clean)
}

/// Whether a (safe, relative) archive path is or is inside a hidden entry
/// (`.git/…`): such members are not part of the submission, not unpacked and
/// not counted against [`MAX_UNPACKED`].
fn is_hidden(relative: &Path) -> bool {
    relative
        .components()
        .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
}

/// Writes one archive member to `out`, keeping the archive's running total
/// of unpacked bytes under [`MAX_UNPACKED`].
/// An archive member could not be unpacked: the words after "the archive
/// cannot be read: ".
fn write_capped(item: &mut impl Read, out: &Path, total: &mut u64) -> Result<(), String> {
    let mut data = Vec::new();
    item.take(MAX_UNPACKED + 1 - *total)
        .read_to_end(&mut data)
        .map_err(|e| e.to_string())?;
    *total += data.len() as u64;
    if *total > MAX_UNPACKED {
        return Err(format!(
            "it unpacks to more than {} MiB",
            MAX_UNPACKED >> 20
        ));
    }
    std::fs::write(out, &data).map_err(|e| e.to_string())
}

fn unzip(archive: &Path, target: &Path) -> Result<(), UnpackError> {
    let unreadable = |e: &dyn std::fmt::Display| UnpackError::Unreadable {
        kind: "zip",
        why: e.to_string(),
    };
    let file = std::fs::File::open(archive).map_err(|e| unreadable(&e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| unreadable(&e))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut item = zip.by_index(i).map_err(|e| unreadable(&e))?;
        let relative = safe_relative(Path::new(item.name()))?;
        if is_hidden(&relative) {
            continue;
        }
        if item.is_symlink() {
            return Err(UnpackError::Link(item.name().to_string()));
        }
        let out = target.join(&relative);
        if item.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_capped(&mut item, &out, &mut total).map_err(|e| unreadable(&e))?;
    }
    Ok(())
}

fn untar(archive: &Path, target: &Path) -> Result<(), UnpackError> {
    let unreadable = |e: &dyn std::fmt::Display| UnpackError::Unreadable {
        kind: "tar.gz",
        why: e.to_string(),
    };
    let file = std::fs::File::open(archive).map_err(|e| unreadable(&e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut total = 0u64;
    for item in tar.entries().map_err(|e| unreadable(&e))? {
        let mut item = item.map_err(|e| unreadable(&e))?;
        let path = item.path().map_err(|e| unreadable(&e))?.into_owned();
        let relative = safe_relative(&path)?;
        if is_hidden(&relative) {
            continue;
        }
        let kind = item.header().entry_type();
        let out = target.join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&out)?;
        } else if kind.is_file() {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_capped(&mut item, &out, &mut total).map_err(|e| unreadable(&e))?;
        } else if kind.is_symlink() || kind.is_hard_link() {
            return Err(UnpackError::Link(path.display().to_string()));
        }
    }
    Ok(())
}

/// A digest of every file under `path` (names and contents, in order), or of
/// the archive file itself. Hidden entries inside a directory are left out,
/// as they are when the submission is copied for its build
/// (`build::copy_submission`): a new commit in `.git` does not change a grade.
pub fn content_digest(path: &Path, hasher: &mut Sha256) {
    if path.is_file() {
        hasher.update(
            path.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        if let Ok(data) = std::fs::read(path) {
            hasher.update((data.len() as u64).to_le_bytes());
            hasher.update(&data);
        }
        return;
    }
    let mut children: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    children.sort();
    for child in children {
        let hidden = child
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
        if child.is_symlink() || hidden {
            continue;
        }
        hasher.update(b"/");
        content_digest(&child, hasher);
    }
}

/// The key under which a grade stays valid: submission content, suite files,
/// socklab's version and `settings` (what in the run's settings changes
/// results: isolation level, limits, options; see `grade::settings_key`).
pub fn grading_key(submission: &Path, suite_files: &[PathBuf], settings: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(b"|settings|");
    hasher.update((settings.len() as u64).to_le_bytes());
    hasher.update(settings.as_bytes());
    for file in suite_files {
        content_digest(file, &mut hasher);
    }
    hasher.update(b"|submission|");
    content_digest(submission, &mut hasher);
    hex::encode(hasher.finalize())
}

/// Whether `name` belongs to shard `k` of `n` (1-based): a stable hash of the
/// name, so a student stays in the same shard whatever else is in the class.
pub fn in_shard(name: &str, k: usize, n: usize) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % n as u64) as usize == k - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_class() {
        let names: Vec<String> = (0..200).map(|i| format!("student{i}")).collect();
        for n in [1, 2, 3, 7] {
            let mut counted = 0;
            for k in 1..=n {
                counted += names.iter().filter(|s| in_shard(s, k, n)).count();
            }
            assert_eq!(
                counted,
                names.len(),
                "every student in exactly one of {n} shards"
            );
        }
    }

    fn entry(file_name: &str) -> Entry {
        let (name, kind) = match file_name.strip_suffix(".zip") {
            Some(stem) => (stem.to_string(), EntryKind::Zip),
            None => (file_name.to_string(), EntryKind::Directory),
        };
        Entry {
            name,
            file_name: file_name.to_string(),
            slug: String::new(),
            path: PathBuf::from(file_name),
            kind,
        }
    }

    fn slugs(names: &[&str]) -> Vec<(String, String)> {
        let mut entries: Vec<Entry> = names.iter().map(|n| entry(n)).collect();
        assign_slugs(&mut entries);
        let mut out: Vec<(String, String)> =
            entries.into_iter().map(|e| (e.name, e.slug)).collect();
        out.sort();
        out
    }

    #[test]
    fn clashing_names_get_their_own_folders() {
        let got = slugs(&["a b", "a_b", "alice", "alice.zip", "bob"]);
        let folders: std::collections::BTreeSet<&str> =
            got.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(folders.len(), 5, "a folder each: {got:?}");
        let names: std::collections::BTreeSet<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["a b", "a_b", "alice", "alice.zip", "bob"].into(),
            "names stay the entries' own"
        );
        let slug_of = |name: &str| got.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(slug_of("a_b"), "a_b", "an unchanged name keeps its folder");
        assert!(
            slug_of("a b").starts_with("a_b-") && slug_of("a b").len() == "a_b-".len() + 8,
            "{got:?}"
        );
        assert_eq!(slug_of("alice"), "alice");
        assert_eq!(slug_of("bob"), "bob");
    }

    #[test]
    fn folders_do_not_depend_on_order_or_classmates() {
        let forward = slugs(&["a b", "a+b", "A_B", "x"]);
        let backward = slugs(&["x", "A_B", "a+b", "a b"]);
        assert_eq!(forward, backward);
        let lower: std::collections::BTreeSet<String> =
            forward.iter().map(|(_, s)| s.to_lowercase()).collect();
        assert_eq!(lower.len(), 4, "unique ignoring case too: {forward:?}");
        // The same entry gets the same suffix in another class.
        let alone = slugs(&["a b", "a_b"]);
        let slug = |v: &[(String, String)]| v.iter().find(|(n, _)| n == "a b").unwrap().1.clone();
        assert_eq!(slug(&alone), slug(&forward));
        assert_eq!(
            slugs(&["..."]),
            vec![("...".to_string(), "student".to_string())]
        );
    }

    #[test]
    fn traversal_is_refused() {
        assert!(safe_relative(Path::new("../etc/passwd")).is_err());
        assert!(safe_relative(Path::new("/etc/passwd")).is_err());
        assert_eq!(
            safe_relative(Path::new("./a/b.c")).unwrap(),
            PathBuf::from("a/b.c")
        );
    }
}
