//! The `socklab` binary: everything is in the library; this only turns the
//! outcome of [`socklab::cli::run`] into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match socklab::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{}", error.report());
            ExitCode::from(error.exit_code())
        }
    }
}
