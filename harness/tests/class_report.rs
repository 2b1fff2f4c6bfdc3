//! The class report of a real class: the fixture submissions (each laid out
//! over the good example with one known defect, see
//! `tests/fixtures/submissions/README.md`), the good example and a stray
//! file, graded with the Lab 3 suite in two shards.
//!
//! - `index.html` and `mistakes.csv` find the groups the defects make, with
//!   the same mistake of different students in one group;
//! - the merge of the two shards writes the same class files as one
//!   `socklab grade` run over the whole class. That run reuses the shards'
//!   results (`--resume`), so both sides rest on the same reports: grading
//!   twice would not do, as two fixtures are timing-dependent by design;
//! - the page's size for this class is printed.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;

/// The class: every fixture submission folder, the good example and
/// `erin.txt` (a file: not a submission). The one place that knows where
/// the fixtures are and how they are laid out.
fn fixture_class(class: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for spec in fixture_specs() {
        lay_out(&spec, class);
        names.push(spec.name.clone());
    }
    copy_dir(&good(), &class.join("good"));
    names.push("good".to_string());
    std::fs::write(class.join("erin.txt"), "my notes, not a submission\n").unwrap();
    names.push("erin.txt".to_string());
    names.sort();
    names
}

/// A strict RFC 4180 reader (CRLF record ends, quoted fields, doubled quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "last record not ended"
    );
    records
}

/// One row of mistakes.csv.
#[derive(Debug)]
struct Group {
    signature: String,
    scenario: String,
    check: String,
    evidence: String,
    count: usize,
    students: BTreeSet<String>,
    hint: String,
}

fn mistake_groups(out: &Path) -> Vec<Group> {
    let rows = parse_csv(&std::fs::read_to_string(out.join("mistakes.csv")).unwrap());
    assert_eq!(
        rows[0],
        [
            "signature",
            "scenario",
            "check",
            "evidence",
            "count",
            "students",
            "hint"
        ]
    );
    rows[1..]
        .iter()
        .map(|r| Group {
            signature: r[0].clone(),
            scenario: r[1].clone(),
            check: r[2].clone(),
            evidence: r[3].clone(),
            count: r[4].parse().unwrap(),
            students: r[5].split("; ").map(str::to_string).collect(),
            hint: r[6].clone(),
        })
        .collect()
}

/// The group with this scenario, check title and evidence; fails with the
/// scenario's groups when there is none.
fn group<'a>(groups: &'a [Group], scenario: &str, check: &str, evidence: &str) -> &'a Group {
    groups
        .iter()
        .find(|g| g.scenario == scenario && g.check == check && g.evidence == evidence)
        .unwrap_or_else(|| {
            let seen: Vec<&Group> = groups.iter().filter(|g| g.scenario == scenario).collect();
            panic!("no group {scenario} › {check} › {evidence}; the scenario's groups: {seen:#?}")
        })
}

fn has(groups: &[Group], group: &Group, students: &[&str]) {
    for student in students {
        let elsewhere: Vec<&str> = groups
            .iter()
            .filter(|g| g.scenario == group.scenario && g.students.contains(*student))
            .map(|g| g.signature.as_str())
            .collect();
        assert!(
            group.students.contains(*student),
            "{student} is not in {}: {:?}; in this scenario it is in {elsewhere:#?}",
            group.signature,
            group.students
        );
    }
}

fn read(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", out.join(file).display()))
}

#[test]
fn the_fixture_class_report_finds_the_known_mistakes_and_merges_like_one_run() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    let names = fixture_class(&class);

    let shards: Vec<PathBuf> = (1..=2)
        .map(|k| {
            let out = root.path().join(format!("shard{k}"));
            grade_class(
                &lab3(),
                &class,
                &out,
                &["-j", "4", "--shard", &format!("{k}/2")],
                &[],
            );
            out
        })
        .collect();
    let merged = root.path().join("merged");
    let merge = socklab()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(
        merge.status.success(),
        "{}",
        String::from_utf8_lossy(&merge.stderr)
    );

    // One run over the whole class, on the shards' results.
    let whole = root.path().join("whole");
    for shard in &shards {
        copy_dir(&shard.join("students"), &whole.join("students"));
    }
    let again = socklab()
        .arg("grade")
        .arg(lab3())
        .arg("--submissions")
        .arg(&class)
        .arg("--out")
        .arg(&whole)
        .arg("--resume")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains(&format!("({} unchanged, not re-graded)", names.len())),
        "every student reused: {said}"
    );
    for file in ["index.html", "mistakes.csv", "grades.csv", "summary.txt"] {
        assert!(
            read(&merged, file) == read(&whole, file),
            "{file}: the merged shards differ from one run"
        );
    }

    let page = read(&merged, "index.html");
    eprintln!(
        "class report of the fixture class ({} entries): index.html {} bytes, mistakes.csv {} bytes",
        names.len(),
        page.len(),
        read(&merged, "mistakes.csv").len()
    );

    let groups = mistake_groups(&merged);
    // Zombies, whatever their number, are one mistake.
    let zombies = group(
        &groups,
        "echo/children-are-reaped",
        "no zombie children remain after five clients leave together",
        "tcpserv: N children, N of them zombies (exited but never waited for)",
    );
    has(&groups, zombies, &["sigchld-no-handler"]);
    assert!(zombies.hint.contains("waitpid"), "{zombies:?}");
    // No child at all is another one, and a fork bomb's children, none of
    // them serving a connection, one more.
    for (children, student) in [("0", "echo-iterative"), ("N", "hostile-forkbomb")] {
        let evidence = format!(
            "tcpserv: {children} children, 0 of them zombies (exited but never waited for), 0 holding a TCP connection"
        );
        let one_each = group(
            &groups,
            "echo/children-are-reaped",
            "the server has one child per connection",
            &evidence,
        );
        has(&groups, one_each, &[student]);
    }
    // A server bound to 127.0.0.1 and a client dialling 127.0.0.1 both
    // fail on the other host, and socklab tells them apart (run/reach.rs):
    // a group each, whatever the program, with the hint for that cause.
    for (scenario, check, failed) in [
        (
            "twohosts/lottery",
            "the client on another host connects and prompts",
            "LotteryClient closed its output without printing the expected text (exited with code N)",
        ),
        (
            "twohosts/file-transfer",
            "`cli` exits with code 0",
            "FTClient exited with code N",
        ),
    ] {
        let server = if scenario == "twohosts/lottery" {
            "LotteryServer"
        } else {
            "FTServer"
        };
        // (FTClient's evidence goes on with its stderr.)
        let bound_evidence =
            format!("{failed}; {server} listens on ADDR only, which no other host reaches");
        let bound = groups
            .iter()
            .find(|g| {
                g.scenario == scenario
                    && g.check == check
                    && g.evidence.starts_with(&bound_evidence)
            })
            .unwrap_or_else(|| panic!("no group {bound_evidence} in {scenario}: {groups:#?}"));
        has(&groups, bound, &["bind-loopback"]);
        assert!(bound.hint.contains("INADDR_ANY"), "{bound:?}");
        let dialled = groups
            .iter()
            .find(|g| {
                g.scenario == scenario
                    && g.check == check
                    && g.evidence.starts_with(&format!(
                        "{failed}; the capture shows a connection attempt to ADDR"
                    ))
            })
            .unwrap_or_else(|| {
                panic!("no group of a client dialling 127.0.0.1 in {scenario}: {groups:#?}")
            });
        has(&groups, dialled, &["client-ignores-address"]);
        assert!(dialled.hint.contains("argv[1]"), "{dialled:?}");
    }
    // Text where a 4-byte int belongs.
    let text = group(
        &groups,
        "lottery/client-protocol",
        "GEN is sent as a 4-byte int (00 00 00 00)",
        "received N of N expected bytes: nothing more arrived — got text",
    );
    has(&groups, text, &["lottery-text-commands"]);
    assert!(!text.hint.is_empty());
    has(
        &groups,
        group(
            &groups,
            "lottery/second-server-same-port",
            "the second server exits with an error",
            "LotteryServer did not exit in time",
        ),
        &["bind-error-ignored"],
    );
    has(
        &groups,
        group(
            &groups,
            "lottery/server-generates-six-distinct",
            "the six numbers are different and within 1..45",
            "`N` appears more than once",
        ),
        &["lottery-repeats"],
    );
    // A mistake seen in two variants of a scenario is one row, the student once.
    let keeps_running: Vec<&Group> = groups
        .iter()
        .filter(|g| {
            g.scenario == "lottery/session" && g.students.contains("lottery-server-keeps-running")
        })
        .collect();
    assert_eq!(keeps_running.len(), 1, "{keeps_running:#?}");
    assert_eq!(keeps_running[0].check, "`srv` exits with code 0");
    for g in &groups {
        assert_eq!(g.count, g.students.len(), "{g:?}");
        assert!(!g.students.contains("erin.txt"), "not a submission: {g:?}");
        // Stable across runs and machines: no address, temp path or port.
        assert!(
            !g.signature.contains("127.0.0.1") && !g.signature.contains("/tmp/"),
            "{}",
            g.signature
        );
        assert!(
            !g.signature
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|word| word.len() >= 4 && word.bytes().all(|b| b.is_ascii_digit())),
            "a port or a count in {}",
            g.signature
        );
    }
    let counts: Vec<usize> = groups.iter().map(|g| g.count).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {counts:?}"
    );

    // Build failures by first error, on the page; statuses in grades.csv.
    assert!(
        page.contains("error: expected &#39;;&#39; before &#39;if&#39;"),
        "build-error's group"
    );
    assert!(
        page.contains("missing source file `FILE`"),
        "missing-program's group"
    );
    let grades = parse_csv(&read(&merged, "grades.csv"));
    let status = |student: &str| {
        grades
            .iter()
            .find(|r| r[0] == student)
            .unwrap_or_else(|| panic!("no row for {student}"))[1]
            .clone()
    };
    assert_eq!(status("build-error"), "build failed: FTClientIter (failed)");
    assert_eq!(
        status("missing-program"),
        "build failed: FTServerIter (missing)"
    );
    assert_eq!(status("erin.txt"), "not a submission");
    assert_eq!(status("echo-iterative"), "graded");
    assert_eq!(grades[1][0], "(max points)");
    assert!(page.contains("Not submissions") && page.contains(">erin.txt</a>"));

    // Every student's feedback page the class page links to exists.
    let mut linked = 0;
    for link in page.split("href=\"").skip(1) {
        let target = &link[..link.find('"').unwrap()];
        if let Some(folder) = target.strip_prefix("students/") {
            linked += 1;
            assert!(
                merged.join("students").join(folder).is_file(),
                "{target} exists"
            );
        }
    }
    assert!(linked >= names.len(), "{linked} links");

    let summary = read(&merged, "summary.txt");
    assert!(
        summary.contains("not a submission: 1 (erin.txt)"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "common mistakes (5 largest of {} groups; all in index.html and mistakes.csv):",
            groups.len()
        )),
        "{summary}"
    );
}
