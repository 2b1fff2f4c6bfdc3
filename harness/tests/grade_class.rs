//! Grading a class: every kind of entry is graded (broken ones with zero and
//! the reason), shards merge into the same results as one run, unchanged
//! submissions are not graded twice, and `socklab check` gives a student the
//! TA's feedback. Uses a one-program lab (tests/scenarios/minilab) for speed.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

const HELLO: &str =
    "#include <stdio.h>\nint main(void) { printf(\"hello, world\\n\"); return 0; }\n";

fn minilab() -> PathBuf {
    repo().join("tests/scenarios/minilab/lab.yaml")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn zip_with(path: &Path, files: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

fn tar_gz_with(path: &Path, files: &[(&str, &[u8])]) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        // set_path refuses `..`; write the raw name to build a hostile archive.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// A class with one of every kind of entry.
fn make_class(dir: &Path) {
    write(&dir.join("alice/hello.c"), HELLO);
    zip_with(&dir.join("bob.zip"), &[("bob/hello.c", HELLO.as_bytes())]);
    tar_gz_with(&dir.join("carol.tar.gz"), &[("hello.c", HELLO.as_bytes())]);
    write(&dir.join("dave/hello.c"), "int main(void) { return 0 }\n");
    std::fs::create_dir_all(dir.join("erin")).unwrap();
    write(&dir.join("frank.txt"), "not a submission");
    std::fs::write(dir.join("gina.zip"), b"PK\x03\x04 this is not a zip").unwrap();
    tar_gz_with(&dir.join("hank.tgz"), &[("../escaped.c", HELLO.as_bytes())]);
    write(&dir.join("ivan/hello.c"), HELLO);
    write(&dir.join("ivan/Makefile"), "all:\n\tsleep 100\n");
    write(&dir.join("judy/notes.txt"), "forgot the code");
}

fn grade(args: &[&str], class: &Path, out: &Path) -> std::process::Output {
    socklab()
        .arg("grade")
        .arg(minilab())
        .arg("--submissions")
        .arg(class)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

fn csv(out: &Path) -> String {
    std::fs::read_to_string(out.join("grades.csv")).unwrap()
}

fn total_of(csv: &str, student: &str) -> String {
    cell_of(csv, student, "total")
}

/// The cell of `student`'s row in `column` (names here have no commas).
fn cell_of(csv: &str, student: &str, column: &str) -> String {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == column).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{student},")))
        .unwrap_or_else(|| panic!("no row for {student}:\n{csv}"));
    row.split(',').nth(column).unwrap().to_string()
}

/// junit.xml with every `time="…"` attribute blanked (runs take different times).
fn junit_without_times(out: &Path) -> String {
    let text = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let mut normalized = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" time=\"") {
        let (before, after) = rest.split_at(at + " time=\"".len());
        normalized.push_str(before);
        let end = after.find('"').unwrap();
        normalized.push('…');
        rest = &after[end..];
    }
    normalized.push_str(rest);
    normalized
}

fn feedback(out: &Path, student: &str) -> String {
    std::fs::read_to_string(out.join("students").join(student).join("feedback.md")).unwrap()
}

#[test]
fn every_entry_is_graded_and_bad_ones_say_why() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    make_class(&class);
    let graded = grade(&["-j", "4"], &class, &out);
    assert!(
        graded.status.success(),
        "{}",
        String::from_utf8_lossy(&graded.stderr)
    );
    let grades = csv(&out);
    assert_eq!(
        grades.lines().count(),
        12,
        "the header, the maximum, a row per entry:\n{grades}"
    );
    assert_eq!(total_of(&grades, "(max points)"), "10", "{grades}");
    for good in ["alice", "bob", "carol"] {
        assert_eq!(
            total_of(&grades, good).parse::<f64>().unwrap(),
            10.0,
            "{good}:\n{}",
            feedback(&out, good)
        );
    }
    // A file is not a submission: listed, with no grade.
    assert_eq!(cell_of(&grades, "frank.txt", "status"), "not a submission");
    assert_eq!(total_of(&grades, "frank.txt"), "", "{grades}");
    assert!(feedback(&out, "frank.txt").contains("neither a directory nor"));
    assert_eq!(cell_of(&grades, "alice", "status"), "graded");
    assert!(
        cell_of(&grades, "dave", "status").starts_with("build failed: hello (failed)"),
        "{grades}"
    );
    assert!(
        cell_of(&grades, "gina", "status").starts_with("not built: the zip archive cannot be read"),
        "{grades}"
    );
    for (bad, why) in [
        ("dave", "did not compile"),
        ("erin", "empty"),
        ("gina", "cannot be read"),
        ("hank", "unsafe path"),
        ("ivan", "did not finish"),
        ("judy", "hello.c"),
    ] {
        assert_eq!(total_of(&grades, bad).parse::<f64>().unwrap(), 0.0, "{bad}");
        let text = feedback(&out, bad);
        assert!(
            text.contains(why),
            "{bad}'s feedback should say `{why}`:\n{text}"
        );
    }
    assert!(
        !root.path().join("escaped.c").exists(),
        "nothing written outside"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 10, "{junit}");
    let gradescope: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("students/alice/gradescope.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(gradescope["score"], 10.0);
}

#[test]
fn shards_merge_into_the_same_results_and_resume_skips_unchanged() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    make_class(&class);
    std::fs::remove_dir_all(class.join("ivan")).unwrap(); // keep this test fast

    let whole = root.path().join("whole");
    assert!(grade(&[], &class, &whole).status.success());
    let mut shards = Vec::new();
    for k in 1..=3 {
        let out = root.path().join(format!("shard{k}"));
        assert!(
            grade(&["--shard", &format!("{k}/3")], &class, &out)
                .status
                .success()
        );
        shards.push(out);
    }
    let counts: Vec<usize> = shards.iter().map(|s| totals(&csv(s)).len()).collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        9,
        "every student in exactly one shard: {counts:?}"
    );
    let merged = root.path().join("merged");
    let out = socklab()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(csv(&merged), csv(&whole), "merged shards equal one run");
    for page in ["index.html", "mistakes.csv", "summary.txt"] {
        assert_eq!(
            std::fs::read_to_string(merged.join(page)).unwrap(),
            std::fs::read_to_string(whole.join(page)).unwrap(),
            "{page} of the merged shards equals one run's"
        );
    }
    assert_eq!(
        junit_without_times(&merged),
        junit_without_times(&whole),
        "junit.xml of the merged shards equals one run's (times aside)"
    );
    assert_eq!(folders(&merged).len(), 9);
    assert_eq!(
        folder_scores(&merged),
        folder_scores(&whole),
        "the same student folders, each with the same report"
    );

    // A shard graded again after one of its students left the class keeps
    // that student's old folder; the merge leaves it out.
    let gone = totals(&csv(&shards[0]))
        .into_iter()
        .map(|(name, _)| name)
        .find(|name| class.join(name).is_dir())
        .expect("shard 1 has a student folder");
    let reduced = root.path().join("reduced");
    common::fixtures::copy_dir(&class, &reduced).unwrap();
    std::fs::remove_dir_all(reduced.join(&gone)).unwrap();
    assert!(
        grade(&["--shard", "1/3"], &reduced, &shards[0])
            .status
            .success()
    );
    assert!(shards[0].join("students").join(&gone).join("key").is_file());
    let remerged = root.path().join("remerged");
    let out = socklab()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&remerged)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remerged_totals = totals(&csv(&remerged));
    assert_eq!(remerged_totals.len(), 8, "{remerged_totals:?}");
    assert!(
        remerged_totals.iter().all(|(name, _)| *name != gone),
        "{gone} left the class"
    );
    assert!(!remerged.join("students").join(&gone).exists());

    // Shards that overlap are refused, saying which student and where.
    let out = socklab()
        .arg("merge")
        .args([&shards[1], &shards[1]])
        .arg("--out")
        .arg(root.path().join("overlap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is graded in both"), "{said}");

    // Nothing changed: nothing is graded again.
    let again = grade(&["--resume"], &class, &whole);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("(9 unchanged, not re-graded)"), "{said}");
    // A changed submission is graded again, the others are not.
    write(
        &class.join("alice/hello.c"),
        "int main(void) { return 1; }\n",
    );
    let again = grade(&["--resume"], &class, &whole);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("(8 unchanged, not re-graded)"), "{said}");
    assert_eq!(total_of(&csv(&whole), "alice").parse::<f64>().unwrap(), 0.0);
}

#[test]
fn a_student_checks_their_own_folder() {
    let root = tempfile::tempdir().unwrap();
    let mine = root.path().join("my-lab");
    write(&mine.join("hello.c"), HELLO);
    write(
        &mine.join(".socklab.yaml"),
        &format!("lab: {}\n", minilab().display()),
    );
    let out = socklab().arg("check").current_dir(&mine).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PASS") && text.contains("10 / 10"), "{text}");

    write(
        &mine.join("hello.c"),
        "#include <stdio.h>\nint main(void) { printf(\"helo\\n\"); return 0; }\n",
    );
    let out = socklab()
        .args(["check", "--format", "gradescope"])
        .current_dir(&mine)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(results["score"].as_f64().unwrap() < 10.0);
    let prints = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "hello/prints")
        .unwrap();
    assert_eq!(prints["status"], "failed");
    assert!(
        prints["output"].as_str().unwrap().contains("helo"),
        "what came back is shown: {prints:#}"
    );

    std::fs::remove_file(mine.join(".socklab.yaml")).unwrap();
    let out = socklab().arg("check").current_dir(&mine).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--lab"),
        "says how to fix it"
    );
}

#[test]
fn the_gradescope_bundle_runs_on_a_fake_autograder_tree() {
    let out = std::process::Command::new("bash")
        .arg(repo().join("ci/gradescope/test-run-autograder.sh"))
        .env("SOCKLAB_BIN", socklab_path())
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("real socklab score: 100.0 / 100.0"), "{text}");
}

#[test]
fn hidden_folders_are_not_part_of_a_submission() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    write(&class.join("alice/hello.c"), HELLO);
    // A repository, a cargo home and socklab's own checkout, as in a CI job:
    // far over the size limit (a sparse file: no disk used).
    write(&class.join("alice/.git/HEAD"), "ref: refs/heads/main\n");
    let pack = std::fs::File::create(class.join("alice/.git/pack.pack")).unwrap();
    pack.set_len(200 << 20).unwrap();
    write(&class.join("alice/.cargo-home/registry/x.crate"), "x");
    write(&class.join("alice/src/.hidden.c"), "this is not C");
    zip_with(
        &class.join("bob.zip"),
        &[
            ("bob/hello.c", HELLO.as_bytes()),
            ("bob/.git/objects/big", &vec![0u8; 70 << 20]),
        ],
    );
    let graded = grade(&[], &class, &out);
    assert!(
        graded.status.success(),
        "{}",
        String::from_utf8_lossy(&graded.stderr)
    );
    for student in ["alice", "bob"] {
        assert_eq!(
            total_of(&csv(&out), student).parse::<f64>().unwrap(),
            10.0,
            "{}",
            feedback(&out, student)
        );
    }
    // A new commit does not make the grade stale.
    write(&class.join("alice/.git/HEAD"), "ref: refs/heads/other\n");
    let again = grade(&["--resume"], &class, &out);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("(2 unchanged, not re-graded)"), "{said}");
}

#[test]
fn off_a_terminal_progress_is_one_plain_line_per_student() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    write(&class.join("alice/hello.c"), HELLO);
    write(&class.join("bob/hello.c"), "int main(void) { return 0 }\n");
    std::fs::create_dir_all(class.join("carol")).unwrap();
    // stderr is a pipe here, not a terminal.
    let graded = grade(&["-j", "2"], &class, &out);
    assert!(graded.status.success());
    let said = String::from_utf8_lossy(&graded.stderr);
    assert!(said.lines().any(|l| l == "grading 3 submissions"), "{said}");
    let progress: Vec<&str> = said.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(progress.len(), 3, "a line per student:\n{said}");
    let mut counts: Vec<&str> = progress
        .iter()
        .map(|l| l.split(']').next().unwrap())
        .collect();
    counts.sort();
    assert_eq!(counts, ["[1/3", "[2/3", "[3/3"], "{said}");
    for (student, score) in [
        ("alice", "10.00/10"),
        ("bob", "0.00/10"),
        ("carol", "0.00/10"),
    ] {
        assert!(
            progress
                .iter()
                .any(|l| l.ends_with(&format!("] {student}: {score}"))),
            "{student} at {score}:\n{said}"
        );
    }
    assert!(!said.contains("-0.00"), "no negative zero:\n{said}");
    assert!(
        !said.contains('\r') && !said.contains('\u{1b}') && !said.contains("ETA"),
        "no bar, no cursor control:\n{said:?}"
    );
}

const HELO: &str = "#include <stdio.h>\nint main(void) { printf(\"helo\\n\"); return 0; }\n";

/// The student folders under `out/students` (those with a complete result).
fn folders(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join("students"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("key").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every student folder's name with the submission and score of its report.json.
fn folder_scores(out: &Path) -> Vec<(String, String, f64)> {
    folders(out)
        .into_iter()
        .map(|folder| {
            let report: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(out.join("students").join(&folder).join("report.json"))
                    .unwrap(),
            )
            .unwrap();
            let name = report["submission"].as_str().unwrap().to_string();
            (folder, name, report["score"].as_f64().unwrap())
        })
        .collect()
}

/// Rows of grades.csv as (student, total), the header and the row of
/// maxima left out (names here have no commas).
fn totals(csv: &str) -> Vec<(String, f64)> {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "total").unwrap();
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .filter(|cells| cells[1] != "max points")
        .map(|cells| (cells[0].to_string(), cells[column].parse().unwrap_or(0.0)))
        .collect()
}

#[test]
fn students_whose_names_clash_keep_their_own_results() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    // `a b` and `a_b` sanitize to the same folder name; `alice/` and
    // `alice.zip` have the same student name. Each scores differently.
    write(&class.join("a b/hello.c"), HELLO);
    write(&class.join("a_b/hello.c"), HELO);
    write(
        &class.join("alice/hello.c"),
        "int main(void) { return 0 }\n",
    );
    zip_with(&class.join("alice.zip"), &[("hello.c", HELLO.as_bytes())]);
    let graded = grade(&["-j", "2"], &class, &out);
    assert!(
        graded.status.success(),
        "{}",
        String::from_utf8_lossy(&graded.stderr)
    );
    let grades = csv(&out);
    let rows = totals(&grades);
    assert_eq!(rows.len(), 4, "a row per entry:\n{grades}");
    let total = |name: &str| {
        rows.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no row for {name}:\n{grades}"))
            .1
    };
    assert_eq!(total("a b"), 10.0, "{grades}");
    assert_eq!(total("alice.zip"), 10.0, "{grades}");
    assert_eq!(total("alice"), 0.0, "did not compile:\n{grades}");
    let helo = total("a_b");
    assert!(
        helo > 0.0 && helo < 10.0,
        "exits 0 but prints the wrong text: {helo}"
    );

    let stored = folder_scores(&out);
    assert_eq!(stored.len(), 4, "a folder per entry: {stored:?}");
    for (folder, name, score) in &stored {
        assert_eq!(*score, total(name), "{folder}/report.json is {name}'s");
    }
    let folder_of = |name: &str| {
        stored
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(f, _, _)| f.clone())
            .unwrap()
    };
    assert_eq!(
        folder_of("a_b"),
        "a_b",
        "an unchanged name keeps its folder"
    );
    assert_eq!(folder_of("alice"), "alice");
    assert!(folder_of("a b").starts_with("a_b-"), "{stored:?}");
    assert!(
        feedback(&out, &folder_of("alice")).contains("did not compile"),
        "alice's feedback is alice's"
    );

    // The folders are stable: grading again reuses every one of them.
    let again = grade(&["--resume", "-j", "2"], &class, &out);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("(4 unchanged, not re-graded)"), "{said}");
    assert_eq!(folder_scores(&out), stored);
}

#[test]
fn the_class_files_hold_this_runs_students_only() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    write(&class.join("alice/hello.c"), HELLO);
    write(&class.join("bob/hello.c"), HELLO);
    write(&class.join("carol/hello.c"), HELO);
    assert!(grade(&[], &class, &out).status.success());
    assert_eq!(totals(&csv(&out)).len(), 3);

    // bob leaves the class: his folder stays, his row goes, and socklab says so.
    std::fs::remove_dir_all(class.join("bob")).unwrap();
    for args in [&[][..], &["--resume"][..]] {
        let again = grade(args, &class, &out);
        assert!(again.status.success());
        let said = String::from_utf8_lossy(&again.stderr);
        let note: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("not in this run"))
            .collect();
        assert_eq!(note.len(), 1, "one line about bob ({args:?}):\n{said}");
        assert!(
            note[0].contains("1 student(s)") && note[0].contains("bob"),
            "{said}"
        );
        let names: Vec<String> = totals(&csv(&out)).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["alice", "carol"], "{args:?}");
        let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
        assert_eq!(junit.matches("<testsuite ").count(), 2, "{junit}");
        assert!(!junit.contains("bob"), "{junit}");
        let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
        assert!(!summary.contains("bob"), "{summary}");
        assert!(
            out.join("students/bob/report.json").is_file(),
            "bob's results are kept"
        );
    }
    // Nothing stale: no note.
    let fresh = grade(&[], &class, &root.path().join("fresh"));
    assert!(!String::from_utf8_lossy(&fresh.stderr).contains("not in this run"));
}

/// A subscriber that checks, as each student finishes, that the class files
/// on disk list no one who has not finished, and list the first student at
/// once (later ones join at the next rewrite, every few seconds at most,
/// and all of them at the end: `grade/files.rs` tests the timing).
struct ChecksClassFiles {
    out: PathBuf,
    seen: std::sync::Mutex<Vec<String>>,
}

impl socklab::events::Subscriber for ChecksClassFiles {
    fn on_event(
        &self,
        event: &socklab::events::Event,
    ) -> Result<(), socklab::events::SubscriberError> {
        let socklab::events::Event::SubmissionFinished { report, .. } = event else {
            return Ok(());
        };
        let mut seen = self.seen.lock().unwrap();
        seen.push(report.submission.clone());
        let grades = std::fs::read_to_string(self.out.join("grades.csv"))
            .expect("grades.csv is written before the first student is reported");
        let rows: Vec<String> = totals(&grades).into_iter().map(|(n, _)| n).collect();
        assert!(
            rows.iter().all(|r| seen.contains(r)),
            "grades.csv lists only students who finished: {rows:?}, finished {seen:?}"
        );
        assert!(
            rows.contains(&seen[0]),
            "the first to finish is listed at once"
        );
        let junit = std::fs::read_to_string(self.out.join("junit.xml")).unwrap();
        assert_eq!(junit.matches("<testsuite ").count(), rows.len(), "{junit}");
        let page = std::fs::read_to_string(self.out.join("index.html"))
            .expect("index.html is written with the other class files");
        for name in rows.iter() {
            assert!(
                page.contains(&format!(
                    "<a href=\"students/{name}/feedback.html\">{name}</a>"
                )),
                "index.html lists {name} with grades.csv"
            );
        }
        assert!(self.out.join("mistakes.csv").is_file());
        Ok(())
    }
}

#[test]
fn class_files_are_written_as_students_finish() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    for name in ["alice", "bob", "carol"] {
        write(&class.join(name).join("hello.c"), HELLO);
    }
    let suite = socklab::cli::load_suite(&[minilab()], None, &[]).unwrap();
    let settings = socklab::cli::settings_for(
        &suite,
        socklab::sandbox::IsolationRequest::Loopback,
        &socklab::sandbox::userns::UserNamespace::default(),
    )
    .unwrap();
    let job = socklab::grade::GradeJob {
        suite: std::sync::Arc::new(suite),
        settings: std::sync::Arc::new(settings),
        submissions: &class,
        out: &out,
        jobs: 2,
        shard: None,
        resume: false,
        work: &work,
        shared_builds: true,
    };
    let progress = std::sync::Arc::new(ChecksClassFiles {
        out: out.clone(),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let events = socklab::events::Events::none().with(progress.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let summary = runtime
        .block_on(socklab::grade::grade_class(&job, &events))
        .unwrap();
    assert_eq!(summary.graded, 3);
    assert_eq!(progress.seen.lock().unwrap().len(), 3);
    assert_eq!(totals(&csv(&out)).len(), 3, "everyone at the end");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    for name in ["alice", "bob", "carol"] {
        assert!(
            page.contains(&format!("students/{name}/feedback.html")),
            "{name}"
        );
    }
}

#[test]
fn a_result_is_reused_only_under_the_same_isolation() {
    if !namespaces_available() {
        eprintln!("skipped: this machine gives socklab no namespaces");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let out = root.path().join("out");
    write(&class.join("alice/hello.c"), HELLO);
    write(&class.join("bob/hello.c"), HELO);
    assert!(
        grade(&["--isolation", "loopback"], &class, &out)
            .status
            .success()
    );
    let level = |out: &Path| -> String {
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("students/alice/report.json")).unwrap(),
        )
        .unwrap();
        report["isolation"]["level"].as_str().unwrap().to_string()
    };
    assert_eq!(level(&out), "loopback");
    let again = grade(&["--resume", "--isolation", "namespaces"], &class, &out);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("(0 unchanged, not re-graded)"), "{said}");
    assert_eq!(level(&out), "namespaces", "graded again, at the new level");
    let again = grade(&["--resume", "--isolation", "namespaces"], &class, &out);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("(2 unchanged, not re-graded)"), "{said}");
}

/// Remembers the kind of every event it hears, in order.
#[derive(Default)]
struct Recorder {
    heard: std::sync::Mutex<Vec<socklab::events::Event>>,
}

impl socklab::events::Subscriber for Recorder {
    fn on_event(
        &self,
        event: &socklab::events::Event,
    ) -> Result<(), socklab::events::SubscriberError> {
        self.heard.lock().unwrap().push(event.clone());
        Ok(())
    }
}

#[test]
fn grading_tells_subscribers_each_build_scenario_step_and_verdict() {
    use socklab::events::Event;
    let root = tempfile::tempdir().unwrap();
    let student = root.path().join("alice");
    write(&student.join("hello.c"), HELLO);
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let suite = socklab::cli::load_suite(&[minilab()], None, &[]).unwrap();
    let settings = socklab::cli::settings_for(
        &suite,
        socklab::sandbox::IsolationRequest::Loopback,
        &socklab::sandbox::userns::UserNamespace::default(),
    )
    .unwrap();
    let recorder = std::sync::Arc::new(Recorder::default());
    let grading = socklab::engine::Grading {
        suite: std::sync::Arc::new(suite),
        settings: std::sync::Arc::new(settings),
        work: &work,
        jobs: 1,
        limit: None,
        events: socklab::events::Events::none().with(recorder.clone()),
        packets_folder: None,
        compiled: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(grading.grade("alice", &student));
    let heard = recorder.heard.lock().unwrap();
    let kinds: Vec<&str> = heard
        .iter()
        .map(|e| match e {
            Event::SubmissionStarted { .. } => "submission",
            Event::BuildStarted { .. } => "build",
            Event::BuildFinished { .. } => "built",
            Event::ScenarioStarted { .. } => "scenario",
            Event::StepStarted { .. } => "step",
            Event::StepFinished { .. } => "stepped",
            Event::CheckVerdict { .. } => "verdict",
            Event::ScenarioFinished { .. } => "scenario done",
            Event::SubmissionFinished { .. } => "submission done",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds[..2], ["submission", "build"], "{kinds:?}");
    // A scenario starts once its own programs are built, which may be
    // before the build as a whole is over.
    assert_eq!(
        kinds.iter().filter(|k| **k == "built").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"submission done"));
    let scenarios = report.scenarios.len();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(count("scenario"), scenarios);
    assert_eq!(count("scenario done"), scenarios);
    assert_eq!(count("step"), count("stepped"));
    assert!(count("step") >= scenarios, "{kinds:?}");
    let checks: usize = report.scenarios.iter().map(|s| s.checks.len()).sum();
    assert_eq!(count("verdict"), checks);
    // Within a scenario: started, its steps, its verdicts, finished.
    let first_step = kinds.iter().position(|k| *k == "step").unwrap();
    let first_scenario = kinds.iter().position(|k| *k == "scenario").unwrap();
    assert!(first_scenario < first_step);
    let Some(Event::SubmissionFinished {
        report: told,
        reused,
    }) = heard.last()
    else {
        panic!("no end");
    };
    assert!(!reused);
    assert_eq!(**told, report);
}
