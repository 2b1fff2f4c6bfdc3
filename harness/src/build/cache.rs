//! Compiled programs shared within a class run, by what went into them.
//!
//! The handout has students build the UNP book's daytime and echo programs,
//! and many hand them in unchanged; the course's skeletons spread the same
//! way. The same compiler given the same flags and the same files makes the
//! same program, so a class run compiles each distinct input once: a
//! program is reused when its source, and every file of the submission the
//! compiler read for it, are byte for byte those of a program compiled
//! earlier in the run, and no file of the submission could have been read
//! instead of a system header the earlier compile used.
//!
//! What the compiler read comes from the compiler itself: socklab adds
//! `-MD -MF .socklab-NAME.d` (dependency output, which changes nothing in
//! what is compiled; the report shows the manifest's command). A reuse
//! needs all of:
//! - one source file, a compiler that writes dependencies (`gcc`, `cc`,
//!   `clang`), and only flags that read nothing but that source and the
//!   system's headers and libraries ([`flags_read_only_the_system`]): no
//!   `-I`, `-L`, `@file`, linker or plugin flags;
//! - the same compiler, flags, program name, source name and source bytes
//!   (the key);
//! - the same bytes in every file of the submission the earlier compile
//!   read (its local dependencies, read beneath the submission's folder
//!   without following links), and nothing at any path where a quoted
//!   `#include` would have found a file before the system header it used
//!   (every trailing part of each system header's path, in the folder of
//!   each local dependency).
//!
//! A file that can make the compiler depend on files the list leaves out
//! (`__has_include`, an assembler `.incbin`) is never shared.
//!
//! Compile errors are shared like programs (the same inputs fail the same
//! way); a compile that ran out of time is not, as that depends on the
//! machine's load. Identical compiles that come at once wait for the first
//! (at most [`WAIT_FOR_SAME`]), so a class's copies of one file are
//! compiled once even when its students start together. A student never
//! learns from the report that a program was shared: the compiler's words
//! are the same either way. The cache lives in memory for one run
//! ([`MAX_BYTES`] in all).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use socklab_reference::beneath::{Folder, Refusal};

/// Longest a compile waits for an identical one to finish before it
/// compiles on its own (a Lab 3 program compiles in a tenth of a second).
pub const WAIT_FOR_SAME: Duration = Duration::from_secs(5);
/// Memory the shared programs may take in all; past it, no more are kept.
pub const MAX_BYTES: u64 = 256 << 20;
/// Largest program, source or dependency list considered.
pub const MAX_FILE: u64 = 8 << 20;

/// What a compile gave, as the report needs it.
#[derive(Debug)]
pub struct Compiled {
    pub success: bool,
    /// The compiler's words.
    pub output: String,
    /// The program's bytes, when it was made.
    pub program: Option<Vec<u8>>,
}

/// Files of a submission, relative to its folder, with their SHA-256.
type LocalFiles = Vec<(PathBuf, [u8; 32])>;

/// One remembered compile and the inputs beyond the key that it depended on.
#[derive(Debug)]
struct Entry {
    /// Files of the submission the compiler read, and their digests.
    local: LocalFiles,
    /// Paths in the submission that must not exist.
    absent: Vec<PathBuf>,
    compiled: Arc<Compiled>,
}

/// The compiles with one key.
#[derive(Default)]
pub struct Slot {
    /// Held while one compile with this key runs.
    running: tokio::sync::Mutex<()>,
    entries: Mutex<Vec<Entry>>,
    /// A compile with this key ran out of time: the others do not wait.
    slow: AtomicBool,
}

/// The programs of a run, by key.
#[derive(Default)]
pub struct CompileCache {
    slots: Mutex<HashMap<[u8; 32], Arc<Slot>>>,
    bytes: AtomicU64,
    reused: AtomicU64,
    compiled: AtomicU64,
}

/// A compile socklab may share: its key and where its dependencies go.
pub struct Shareable {
    pub key: [u8; 32],
    /// `-MD -MF FILE` goes before the manifest's flags.
    pub dependency_flags: [String; 3],
    /// The dependency file, relative to the build folder.
    pub dependency_file: PathBuf,
}

impl CompileCache {
    /// Whether compiling `program` from `sources` with `compiler` and
    /// `flags` in `folder` can be shared, and its key.
    pub fn shareable(
        compiler: &str,
        flags: &[String],
        program: &str,
        sources: &[String],
        folder: &Folder,
    ) -> Option<Shareable> {
        let [source] = sources else { return None };
        let tool = Path::new(compiler).file_name()?.to_str()?;
        let writes_dependencies = tool == "cc"
            || tool.strip_prefix("gcc").is_some_and(version_suffix)
            || tool.strip_prefix("clang").is_some_and(version_suffix);
        if !writes_dependencies || !flags_read_only_the_system(flags) {
            return None;
        }
        let bytes = folder.read(Path::new(source), MAX_FILE).ok()?;
        let mut key = Sha256::new();
        key.update(b"socklab compile 1\0");
        for word in [compiler, program, source]
            .into_iter()
            .chain(flags.iter().map(String::as_str))
        {
            key.update((word.len() as u64).to_le_bytes());
            key.update(word.as_bytes());
        }
        key.update(&bytes);
        let dependency_file = PathBuf::from(format!(".socklab-{program}.d"));
        Some(Shareable {
            key: key.finalize().into(),
            dependency_flags: [
                "-MD".into(),
                "-MF".into(),
                dependency_file.display().to_string(),
            ],
            dependency_file,
        })
    }

    /// The slot for `key`, made on first use.
    pub fn slot(&self, key: &[u8; 32]) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(*key).or_default().clone()
    }

    /// Counts a compile that was reused.
    pub fn reused(&self) {
        self.reused.fetch_add(1, Ordering::Relaxed);
    }

    /// How many compiles were reused, and how many ran, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.reused.load(Ordering::Relaxed),
            self.compiled.load(Ordering::Relaxed),
        )
    }

    /// Waits (at most [`WAIT_FOR_SAME`]) until no identical compile runs,
    /// then gives what an earlier one made from the same inputs, if any;
    /// the guard, when held, keeps identical compiles waiting while this
    /// one compiles.
    pub async fn find<'s>(
        &self,
        slot: &'s Slot,
        folder: &Folder,
    ) -> (
        Option<Arc<Compiled>>,
        Option<tokio::sync::MutexGuard<'s, ()>>,
    ) {
        let guard = if slot.slow.load(Ordering::Relaxed) {
            None
        } else {
            tokio::time::timeout(WAIT_FOR_SAME, slot.running.lock())
                .await
                .ok()
        };
        let entries = slot.entries.lock().unwrap_or_else(|e| e.into_inner());
        let found = entries
            .iter()
            .find(|entry| entry.matches(folder))
            .map(|entry| entry.compiled.clone());
        (found, guard)
    }

    /// Remembers a compile that ran in `folder`: `dependencies` is the
    /// dependency file the compiler wrote. A compile that ran out of time,
    /// or whose dependencies reach outside the submission and the system,
    /// is not remembered.
    pub fn remember(
        &self,
        slot: &Slot,
        folder: &Folder,
        dependencies: Option<&[u8]>,
        timed_out: bool,
        compiled: Compiled,
    ) {
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if timed_out {
            slot.slow.store(true, Ordering::Relaxed);
            return;
        }
        let Some((local, absent)) = dependencies.and_then(|d| inputs(folder, d)) else {
            return;
        };
        // Words naming this submission's folder are not another's to read.
        if compiled
            .output
            .contains(&folder.path().display().to_string())
        {
            return;
        }
        let size =
            compiled.program.as_ref().map_or(0, |p| p.len() as u64) + compiled.output.len() as u64;
        if self.bytes.fetch_add(size, Ordering::Relaxed) + size > MAX_BYTES {
            return;
        }
        slot.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Entry {
                local,
                absent,
                compiled: Arc::new(compiled),
            });
    }
}

impl Entry {
    /// Whether `folder` holds the same local dependencies and none of the
    /// paths that must be absent.
    fn matches(&self, folder: &Folder) -> bool {
        self.local.iter().all(|(path, digest)| {
            folder
                .read(path, MAX_FILE)
                .is_ok_and(|bytes| Sha256::digest(&bytes).as_slice() == digest)
        }) && self
            .absent
            .iter()
            .all(|path| matches!(folder.look(path), Err(Refusal::Absent)))
    }
}

/// `gcc`, `gcc-12`, `clang-16`: nothing, or a dash and a version.
fn version_suffix(rest: &str) -> bool {
    rest.is_empty()
        || rest
            .strip_prefix('-')
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Whether the flags make the compiler read only the source and the
/// system's own headers and libraries: language, optimisation, warning,
/// debugging, code-generation and macro flags, and `-l` of a system
/// library (no `-L` may point elsewhere). Anything else (`-I`, `-include`,
/// `@file`, `-Wl,`, `-B`, `--sysroot`, plugins, profiles) is not shared.
pub fn flags_read_only_the_system(flags: &[String]) -> bool {
    const READS_ELSEWHERE: [&str; 7] = [
        "-Wl,",
        "-Wa,",
        "-Wp,",
        "-fplugin",
        "-fprofile",
        "-fauto-profile",
        "-fcoverage",
    ];
    const PREFIXES: [&str; 10] = [
        "-std=",
        "-O",
        "-g",
        "-D",
        "-U",
        "-m",
        "-pedantic",
        "-l",
        "-W",
        "-f",
    ];
    const WORDS: [&str; 4] = ["-ansi", "-pthread", "-pipe", "-w"];
    flags.iter().all(|flag| {
        !READS_ELSEWHERE.iter().any(|p| flag.starts_with(p))
            && (PREFIXES.iter().any(|p| flag.starts_with(p)) || WORDS.contains(&flag.as_str()))
    })
}

/// From a dependency file: the submission's files the compiler read (with
/// their digests), and the paths that must stay absent; `None` when a
/// dependency lies outside both the submission and `/usr`, or cannot be
/// read.
fn inputs(folder: &Folder, dependencies: &[u8]) -> Option<(LocalFiles, Vec<PathBuf>)> {
    let text = std::str::from_utf8(dependencies).ok()?;
    let (_, listed) = text.split_once(": ")?;
    let mut local = Vec::new();
    let mut system = Vec::new();
    for path in dependency_paths(listed) {
        let path = PathBuf::from(path);
        if path.is_absolute() && !path.starts_with(folder.path()) {
            if !path.starts_with("/usr/") {
                return None;
            }
            system.push(path);
            continue;
        }
        let relative = folder.relative(&path).ok()?;
        let bytes = folder.read(&relative, MAX_FILE).ok()?;
        if reads_unlisted(&bytes) {
            return None;
        }
        local.push((relative, Sha256::digest(&bytes).into()));
    }
    local.sort();
    local.dedup();
    let mut dirs: Vec<PathBuf> = local
        .iter()
        .map(|(path, _)| path.parent().map(Path::to_path_buf).unwrap_or_default())
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut absent = Vec::new();
    for header in &system {
        let parts: Vec<_> = header.components().skip(1).collect();
        for start in 0..parts.len() {
            let tail: PathBuf = parts[start..].iter().collect();
            for dir in &dirs {
                absent.push(dir.join(&tail));
            }
        }
    }
    absent.sort();
    absent.dedup();
    Some((local, absent))
}

/// Whether a file of the submission can make the compiler depend on files
/// the dependency list leaves out: `__has_include` asks whether a file
/// exists without reading it, and the assembler's `.incbin` reads a file
/// the preprocessor never sees.
fn reads_unlisted(bytes: &[u8]) -> bool {
    [&b"__has_include"[..], b"incbin"]
        .iter()
        .any(|word| bytes.windows(word.len()).any(|w| w == *word))
}

/// The paths of a make-style dependency list: words split at blanks and
/// line continuations, `\ ` an escaped blank.
fn dependency_paths(listed: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut word = String::new();
    let mut chars = listed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(' ')) => {
                word.push(' ');
                chars.next();
            }
            '\\' if matches!(chars.peek(), Some('\n')) => {
                chars.next();
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    paths.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        paths.push(word);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles `prog.c` in `dir` with gcc as the build does, with the
    /// dependency flags, and remembers it; or finds it. Real gcc, real
    /// dependency files.
    async fn compile_or_find(cache: &CompileCache, dir: &Path, flags: &[&str]) -> Option<bool> {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let folder = Folder::open(dir).unwrap();
        let share = CompileCache::shareable("gcc", &flags, "prog", &["prog.c".into()], &folder)?;
        let slot = cache.slot(&share.key);
        let (found, _running) = cache.find(&slot, &folder).await;
        if found.is_some() {
            return Some(true);
        }
        let out = std::process::Command::new("gcc")
            .args(&share.dependency_flags)
            .args(&flags)
            .args(["-o", "prog", "prog.c"])
            .current_dir(dir)
            .output()
            .expect("gcc runs");
        let dependencies = folder.read(&share.dependency_file, 1 << 20).ok();
        assert!(dependencies.is_some(), "gcc wrote no dependency file");
        cache.remember(
            &slot,
            &folder,
            dependencies.as_deref(),
            false,
            Compiled {
                success: out.status.success(),
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
                program: folder.read(Path::new("prog"), 64 << 20).ok(),
            },
        );
        Some(false)
    }

    const SHARED: bool = true;
    const COMPILED: bool = false;

    /// Compiles or finds `prog.c` in `dir`, and says which it expected.
    async fn expect(cache: &CompileCache, dir: &Path, flags: &[&str], shared: bool) {
        assert_eq!(
            compile_or_find(cache, dir, flags).await,
            Some(shared),
            "{} with {flags:?}",
            dir.display()
        );
    }

    fn folder_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const MAIN: &str =
        "#include <stdio.h>\n#include \"defs.h\"\nint main(void) { puts(WORD); return 0; }\n";

    #[tokio::test]
    async fn the_same_inputs_are_compiled_once() {
        let cache = CompileCache::default();
        let a = folder_with(&[
            ("prog.c", MAIN),
            ("defs.h", "#define WORD \"a\"\n"),
            ("README", "mine"),
        ]);
        let b = folder_with(&[
            ("prog.c", MAIN),
            ("defs.h", "#define WORD \"a\"\n"),
            ("notes.txt", "x"),
        ]);
        expect(&cache, a.path(), &["-O2", "-Wall"], COMPILED).await;
        expect(&cache, b.path(), &["-O2", "-Wall"], SHARED).await;
        // Other flags, another key.
        expect(&cache, b.path(), &["-O0"], COMPILED).await;
    }

    #[tokio::test]
    async fn a_different_header_of_the_submission_is_compiled_again() {
        let cache = CompileCache::default();
        let a = folder_with(&[("prog.c", MAIN), ("defs.h", "#define WORD \"a\"\n")]);
        let b = folder_with(&[("prog.c", MAIN), ("defs.h", "#define WORD \"b\"\n")]);
        expect(&cache, a.path(), &["-O2"], COMPILED).await;
        expect(&cache, b.path(), &["-O2"], COMPILED).await;
        let b_again = folder_with(&[("prog.c", MAIN), ("defs.h", "#define WORD \"b\"\n")]);
        expect(&cache, b_again.path(), &["-O2"], SHARED).await;
    }

    /// `#include "stdio.h"` finds the system's header in one submission;
    /// another with its own `stdio.h` must get its own compile.
    #[tokio::test]
    async fn a_file_that_would_hide_a_system_header_is_compiled_again() {
        let quoted = "#include \"stdio.h\"\nint main(void) { puts(\"x\"); return 0; }\n";
        let cache = CompileCache::default();
        let a = folder_with(&[("prog.c", quoted)]);
        let b = folder_with(&[("prog.c", quoted), ("stdio.h", "int puts(const char *);\n")]);
        expect(&cache, a.path(), &["-O2"], COMPILED).await;
        expect(&cache, b.path(), &["-O2"], COMPILED).await;
    }

    #[test]
    fn only_compilers_and_flags_that_read_nothing_else_are_shared() {
        let dir = folder_with(&[("prog.c", MAIN)]);
        let folder = Folder::open(dir.path()).unwrap();
        let shareable = |compiler: &str, flags: &[&str], sources: &[&str]| {
            let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
            let sources: Vec<String> = sources.iter().map(|f| f.to_string()).collect();
            CompileCache::shareable(compiler, &flags, "prog", &sources, &folder).is_some()
        };
        assert!(shareable(
            "gcc",
            &["-std=gnu11", "-O2", "-Wall", "-lm"],
            &["prog.c"]
        ));
        assert!(shareable(
            "/usr/bin/gcc-12",
            &["-g", "-DN=3", "-pthread"],
            &["prog.c"]
        ));
        assert!(shareable("clang", &[], &["prog.c"]));
        assert!(!shareable("tcc", &[], &["prog.c"]));
        assert!(!shareable("gcc", &["-I."], &["prog.c"]));
        assert!(!shareable("gcc", &["-L.", "-lfoo"], &["prog.c"]));
        assert!(!shareable("gcc", &["-Wl,-rpath,."], &["prog.c"]));
        assert!(!shareable("gcc", &["@flags"], &["prog.c"]));
        assert!(!shareable("gcc", &["-include", "x.h"], &["prog.c"]));
        assert!(!shareable("gcc", &[], &["prog.c", "other.c"]));
        assert!(!shareable("gcc", &[], &["missing.c"]));
    }

    #[test]
    fn dependency_lists_split_at_blanks_and_continuations() {
        assert_eq!(
            dependency_paths(" prog.c my\\ defs.h \\\n /usr/include/stdio.h\n"),
            ["prog.c", "my defs.h", "/usr/include/stdio.h"]
        );
    }

    /// A dependency outside the submission and `/usr` (an absolute
    /// include of someone else's file) is never shared.
    #[test]
    fn a_dependency_elsewhere_is_not_remembered() {
        let dir = folder_with(&[("prog.c", MAIN), ("defs.h", "")]);
        let folder = Folder::open(dir.path()).unwrap();
        assert!(inputs(&folder, b"prog: prog.c defs.h /usr/include/stdio.h\n").is_some());
        assert!(inputs(&folder, b"prog: prog.c /tmp/other/defs.h\n").is_none());
        assert!(inputs(&folder, b"prog: prog.c ../defs.h\n").is_none());
    }

    /// What the dependency list cannot show keeps a compile to itself.
    #[test]
    fn a_file_that_reads_what_the_list_leaves_out_is_not_remembered() {
        for text in [
            "#if __has_include(\"config.h\")\n#include \"config.h\"\n#endif\n",
            "asm(\".incbin \\\"data.bin\\\"\");\n",
        ] {
            let dir = folder_with(&[("prog.c", text)]);
            let folder = Folder::open(dir.path()).unwrap();
            assert!(inputs(&folder, b"prog: prog.c\n").is_none(), "{text}");
        }
    }
}
