//! What the documents show is what socklab does.
//!
//! The README's sample output is what socklab prints: a test runs the
//! README's student command on the fixture it names and compares the
//! output with the sample between the `<!-- sample: … -->` and
//! `<!-- end of sample -->` lines, times masked. `SOCKLAB_BLESS=1` rewrites
//! the sample from the run instead. Other tests hold ci/README.md's list of
//! formats to the `Format` list, and docs/lab3.md (the wire formats
//! students read, which socklab's feedback cites) to the lab's options and
//! the reference programs' bytes.
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

/// Times (`2.14 s`), ephemeral ports and the isolation level reached,
/// which differ from run to run and machine to machine.
fn masked(text: &str) -> String {
    let times = regex::Regex::new(r"\d+(\.\d+)? s\b").unwrap();
    let level = regex::Regex::new(r"(?m)^isolation: \w+$").unwrap();
    // Ephemeral ports (a client's end of a connection) change every run.
    let ephemeral = regex::Regex::new(r"(\d+\.\d+\.\d+\.\d+):[1-6]\d{4}\b").unwrap();
    let text = ephemeral.replace_all(text, "$1:PORT");
    let text = times.replace_all(&text, "N s");
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

/// The section of a Markdown page from its heading to the next `## `.
fn section<'t>(text: &'t str, heading: &str) -> &'t str {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no `{heading}`"));
    let rest = &text[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn docs_lab3_names_every_course_option_with_its_default() {
    let doc = std::fs::read_to_string(repo().join("docs/lab3.md")).unwrap();
    let manifest = socklab_scenario::read_manifest(&repo().join("scenarios/lab3/lab.yaml"))
        .unwrap_or_else(|d| panic!("{d}"));
    // Rows `| `name` | `default` | section |` of the options table.
    let documented: std::collections::BTreeMap<String, String> = section(&doc, "## Course options")
        .lines()
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", name, default, _, ""] if name.starts_with('`') => Some((
                    name.trim_matches('`').to_string(),
                    default.trim_matches('`').to_string(),
                )),
                _ => None,
            }
        })
        .collect();
    assert_eq!(
        documented, manifest.options,
        "docs/lab3.md's table of course options and scenarios/lab3/lab.yaml's `options:`"
    );
}

#[test]
fn docs_lab3_shows_the_reference_programs_bytes() {
    use socklab_reference::wire::{ByteOrder, daytime, filetransfer, lottery};
    let doc = std::fs::read_to_string(repo().join("docs/lab3.md")).unwrap();
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let time = daytime::CivilTime {
        year: 2017,
        month: 9,
        day: 5,
        hour: 11,
        minute: 4,
        second: 47,
        weekday: 2,
    }
    .to_reply();
    let generated = lottery::Reply::Generated(17).to_bytes();
    let mut shown = vec![
        format!("`{}`", lottery::PROMPT),
        format!("`{}`", socklab_reference::programs::filetransfer::PROMPT),
        format!("`{}`", lottery::Reply::Numbers([0; 6])),
        format!("`{}`", lottery::Reply::Full),
        hex(time.as_bytes()),
        hex(&generated),
        format!("({})", String::from_utf8(generated).unwrap()),
    ];
    for (command, name) in [
        (lottery::Command::Gen, "GEN"),
        (lottery::Command::List, "LIST"),
        (lottery::Command::End, "END"),
    ] {
        shown.push(format!(
            "| {name} | {} | `{}` |",
            command.to_i32(),
            hex(&command.encode(ByteOrder::Little))
        ));
    }
    let full = filetransfer::Segment::with_data(&[7; 256]).unwrap();
    shown.push(format!(
        "{}  + 256 bytes",
        hex(&full.encode(ByteOrder::Little)[..4])
    ));
    for text in shown {
        assert!(doc.contains(&text), "docs/lab3.md shows {text:?}");
    }
}

#[test]
fn feedback_cites_docs_lab3_not_a_file_outside_the_repository() {
    for entry in std::fs::read_dir(repo().join("scenarios/lab3")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            // Comments may quote the course's own documents; what a student
            // reads (descriptions, titles, hints) may not send them there.
            let code = line.split(" #").next().unwrap_or_default();
            assert!(
                code.trim_start().starts_with('#') || !code.contains("PROTOCOLS.md"),
                "{}:{}: feedback cites PROTOCOLS.md, which is not in the repository; cite docs/lab3.md",
                path.display(),
                i + 1
            );
        }
    }
}
