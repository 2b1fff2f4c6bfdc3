//! The README's sample output is what socklab prints: this test runs the
//! README's student command on the fixture it names and compares the
//! output with the sample between the `<!-- sample: … -->` and
//! `<!-- end of sample -->` lines, times masked. `SOCKLAB_BLESS=1` rewrites
//! the sample from the run instead.
//!
//! What depends on the machine is left out of the sample: the isolation
//! notes become one line, and the repository is shown as `~/socklab`.

mod common;

use std::path::Path;

use common::{lay_out_fixture, repo, socklab};

const START: &str = "<!-- sample: ";
const END: &str = "<!-- end of sample -->";
const COMMAND: &str =
    "$ socklab check --lab ~/socklab/scenarios/lab3 --only echo/two-clients-at-once";
const NOTES: &str = "  note: … (what isolation and limits were in force on this machine)";

/// The sample as the README shows it: the command, then socklab's output
/// with the isolation notes folded into one line and the repository shown
/// as checked out in `~/socklab`.
fn sample(stdout: &str, root: &Path) -> String {
    let root = format!("{}/", root.display());
    let mut lines = vec![COMMAND.to_string()];
    for line in stdout.lines() {
        if line.starts_with("  note: ") {
            if lines.last().map(String::as_str) != Some(NOTES) {
                lines.push(NOTES.to_string());
            }
            continue;
        }
        lines.push(line.replace(&root, "~/socklab/").trim_end().to_string());
    }
    lines.join("\n") + "\n"
}

/// Times (`2.14 s`) and the isolation level reached, which differ from
/// run to run and machine to machine.
fn masked(text: &str) -> String {
    let times = regex::Regex::new(r"\d+(\.\d+)? s\b").unwrap();
    let level = regex::Regex::new(r"(?m)^isolation: \w+$").unwrap();
    let text = times.replace_all(text, "N s");
    level.replace_all(&text, "isolation: LEVEL").into_owned()
}

/// The README's sample block: the text between its fence lines, and where
/// it starts and ends in the file.
fn readme_sample(readme: &str) -> (String, usize, usize) {
    let marker = readme
        .find(START)
        .expect("the README has a `<!-- sample: ` line");
    let open = marker + readme[marker..].find("```text\n").expect("a ```text fence") + 8;
    let close = open
        + readme[open..]
            .find("```\n".to_string().as_str())
            .expect("the fence closes");
    assert!(
        readme[close..].starts_with(&format!("```\n{END}")),
        "the sample's fence is followed by `{END}`"
    );
    (readme[open..close].to_string(), open, close)
}

#[test]
fn the_readme_sample_is_what_socklab_prints() {
    let dir = tempfile::tempdir().unwrap();
    let submission = lay_out_fixture("echo-iterative", dir.path());
    let out = socklab()
        .args(["check", "--only", "echo/two-clients-at-once", "--lab"])
        .arg(repo().join("scenarios/lab3"))
        .current_dir(&submission)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the fixture fails the scenario:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = sample(&String::from_utf8_lossy(&out.stdout), &repo());
    let readme_path = repo().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (shown, open, close) = readme_sample(&readme);
    if std::env::var_os("SOCKLAB_BLESS").is_some_and(|v| v == "1") {
        let blessed = format!("{}{printed}{}", &readme[..open], &readme[close..]);
        std::fs::write(&readme_path, blessed).unwrap();
        eprintln!("README.md: sample rewritten from this run");
        return;
    }
    assert_eq!(
        masked(&shown),
        masked(&printed),
        "README.md's sample differs from what socklab prints (times masked); \
         if the change is intended, rewrite it with \
         `SOCKLAB_BLESS=1 cargo test -p socklab --test readme`.\n--- printed:\n{printed}"
    );
}

#[test]
fn masking_hides_times_and_the_isolation_level_only() {
    assert_eq!(
        masked(
            "isolation: loopback\nbuild: ok (gcc, 2.14 s)\nscore: 1.12 / 3.35   (0 of 1, 12 s)\n"
        ),
        "isolation: LEVEL\nbuild: ok (gcc, N s)\nscore: 1.12 / 3.35   (0 of 1, N s)\n"
    );
}

#[test]
fn ci_readme_names_every_report_format_check_takes() {
    let text = std::fs::read_to_string(repo().join("ci/README.md")).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("socklab check [") && l.contains("--format "))
        .expect("ci/README.md shows `socklab check`'s synopsis");
    let names = line
        .split("--format ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap();
    let listed: Vec<&str> = names.split('|').collect();
    let formats: Vec<&str> = socklab_report::Format::ALL
        .iter()
        .map(|f| f.name())
        .collect();
    assert_eq!(listed, formats, "{line}");
}
