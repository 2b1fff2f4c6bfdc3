//! Draw the ladder of a capture file's connections, marking what a
//! protocol judgment found wrong:
//!
//! ```sh
//! cargo run -p socklab-packets --example ladder -- FILE [--lab lottery] [--svg|--markdown]
//! ```
//!
//! Text (the default) is what `socklab packets FILE` prints; `--svg` writes
//! the SVG of each judged connection (the first one without `--lab`).

use std::path::PathBuf;
use std::process::ExitCode;

use socklab_packets::{Ladder, Protocol, judge_capture_file, render_text};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut protocol = None;
    let mut form = "text";
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lab" => match args.next().map(|p| p.parse::<Protocol>()) {
                Some(Ok(p)) => protocol = Some(p),
                Some(Err(message)) => return usage(&message),
                None => return usage("--lab needs a protocol"),
            },
            "--svg" => form = "svg",
            "--markdown" => form = "markdown",
            other if file.is_none() => file = Some(PathBuf::from(other)),
            other => return usage(&format!("unexpected argument `{other}`")),
        }
    }
    let Some(file) = file else {
        return usage("give a capture file");
    };
    let report = match judge_capture_file(&file, protocol) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("ladder: {error}");
            return ExitCode::from(2);
        }
    };
    let ids: Vec<usize> = match &report.judgment {
        Some(judgment) => judgment
            .sessions
            .iter()
            .map(|s| s.connection)
            .take(1)
            .collect(),
        None => report
            .conversation
            .connections
            .iter()
            .map(|c| c.id)
            .take(1)
            .collect(),
    };
    for id in ids {
        let connection = report
            .conversation
            .connection(id)
            .expect("judged connections exist");
        let ladder = Ladder::new(connection).mark_failures(report.verdicts());
        match form {
            "svg" => print!("{}", ladder.svg()),
            "markdown" => print!("{}", ladder.markdown()),
            _ => print!("{}", render_text(&report)),
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!(
        "ladder: {message}\nusage: ladder FILE [--lab lottery|daytime|echo|ft] [--svg|--markdown]"
    );
    ExitCode::from(2)
}
