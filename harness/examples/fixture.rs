//! Lays a fixture submission out as a whole submission, so that a TA can
//! grade it by hand:
//!
//! ```sh
//! cargo run -q -p socklab --example fixture -- ft-single-read /tmp/ft-single-read
//! cargo run --release -p socklab -- run scenarios/lab3/lab.yaml --submission /tmp/ft-single-read
//! ```
//!
//! Without arguments it lists the fixtures with their defects. The fixtures
//! keep only the files in which they differ from their base; this is the
//! same lay-out the tests grade (`harness/tests/common/fixtures.rs`).

#[allow(dead_code)]
#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::path::Path;
use std::process::ExitCode;

use fixtures::FixtureSet;

const USAGE: &str = "usage: cargo run -q -p socklab --example fixture -- NAME OUT";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let set = FixtureSet::of_repo();
    match args.as_slice() {
        [] => list(&set),
        [name, out] => lay_out(&set, name, Path::new(out)),
        _ => {
            eprintln!(
                "{USAGE}\n  NAME  a folder of tests/fixtures/submissions\n  OUT   a new folder for the whole submission"
            );
            ExitCode::from(2)
        }
    }
}

fn list(set: &FixtureSet) -> ExitCode {
    match set.load_all() {
        Ok(specs) => {
            println!("{USAGE}\n\nfixtures:");
            for spec in specs {
                println!("  {:<32} {}", spec.name, spec.defect);
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("{problems}");
            ExitCode::from(2)
        }
    }
}

fn lay_out(set: &FixtureSet, name: &str, out: &Path) -> ExitCode {
    let spec = match set.load(name) {
        Ok(spec) => spec,
        Err(problems) => {
            eprint!("{problems}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = spec.lay_out(out) {
        eprintln!("cannot lay out {name}: {e}");
        return ExitCode::from(2);
    }
    println!("{name} laid out in {}", out.display());
    println!("  defect:    {}", spec.defect);
    let must: Vec<String> = spec.must_fail_names().into_iter().collect();
    let may: Vec<String> = spec.may_fail_names().into_iter().collect();
    if let Some(hold) = &spec.must_hold {
        println!("  must hold: {hold}");
    } else if must.is_empty() && may.is_empty() {
        println!("  must fail: nothing (full marks)");
    } else {
        println!("  must fail: {}", must.join(", "));
    }
    if !may.is_empty() {
        println!("  may fail:  {}", may.join(", "));
    }
    if !spec.options.is_empty() {
        let options: Vec<String> = spec
            .options
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        println!(
            "  graded with the course options {} (set them in a copy of lab.yaml)",
            options.join(", ")
        );
    }
    ExitCode::SUCCESS
}
