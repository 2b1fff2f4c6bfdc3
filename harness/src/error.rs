//! Errors socklab reports to the person who ran it, each of a class with its
//! own exit code.
//!
//! The library returns these; only the binary's `main` prints them and
//! exits (ripgrep's `main → run() → ExitCode`). Exit codes: 0 everything
//! passed, 1 some check failed, 2 bad usage or a bad scenario file, 3
//! socklab itself failed, 130 interrupted (SIGINT), 143 terminated
//! (SIGTERM).

use std::fmt;

use socklab_scenario::Diagnostics;

/// Every scored check passed.
pub const EXIT_PASSED: u8 = 0;
/// Some check failed.
pub const EXIT_FAILED: u8 = 1;
/// Bad usage, or a bad scenario file.
pub const EXIT_USAGE: u8 = 2;
/// socklab itself failed.
pub const EXIT_INTERNAL: u8 = 3;
/// 128 + the signal's number, as shells report it: 130 after SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;
/// 143 after SIGTERM.
pub const EXIT_TERMINATED: u8 = 143;

/// What went wrong, for the person who ran socklab.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in scenario files or a lab manifest, each at
    /// file:line:column with the source line and a hint.
    #[error("{0}")]
    Scenario(#[from] Diagnostics),
    /// The command line asks for something that cannot be done, with how
    /// to fix it.
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },
    /// `--isolation namespaces` on a machine that cannot make them (why).
    #[error("{0}")]
    NoNamespaces(String),
    /// socklab itself failed: what it was doing, and the system's words.
    #[error("{doing}: {source}")]
    Internal {
        doing: String,
        source: std::io::Error,
    },
    /// A signal ended the run; `aftermath` says what became of it.
    #[error("interrupted; {aftermath}")]
    Interrupted {
        signal: Interruption,
        aftermath: &'static str,
    },
}

/// Which signal ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Error {
    /// A usage error with a hint at the fix.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// socklab failed while `doing` something.
    pub fn internal(doing: impl Into<String>, source: std::io::Error) -> Error {
        Error::Internal {
            doing: doing.into(),
            source,
        }
    }

    /// The exit code of the error's class.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Scenario(_) | Error::Usage { .. } | Error::NoNamespaces(_) => EXIT_USAGE,
            Error::Internal { .. } => EXIT_INTERNAL,
            Error::Interrupted {
                signal: Interruption::Interrupt,
                ..
            } => EXIT_INTERRUPTED,
            Error::Interrupted {
                signal: Interruption::Terminate,
                ..
            } => EXIT_TERMINATED,
        }
    }

    /// The text for the terminal: scenario problems as they are (each has
    /// its place and hint), an interruption as a note from socklab, the
    /// rest as `error: …` with a `= help:` line where there is one.
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }
}

/// How an [`Error`] is shown on stderr.
pub struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::Scenario(diagnostics) => write!(f, "{diagnostics}"),
            Error::Interrupted { .. } => write!(f, "socklab: {}", self.0),
            Error::Usage {
                message,
                help: Some(help),
            } => write!(f, "error: {message}\n  = help: {help}"),
            other => write!(f, "error: {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_has_its_exit_code_and_words() {
        let usage = Error::usage(
            "the submission `x` is not a directory",
            "give the directory holding the student's programs",
        );
        assert_eq!(usage.exit_code(), EXIT_USAGE);
        assert_eq!(
            usage.report().to_string(),
            "error: the submission `x` is not a directory\n  = help: give the directory holding the student's programs"
        );
        let internal = Error::internal(
            "cannot create a working directory",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(internal.exit_code(), EXIT_INTERNAL);
        assert!(
            internal
                .report()
                .to_string()
                .starts_with("error: cannot create a working directory: ")
        );
        let stopped = Error::Interrupted {
            signal: Interruption::Terminate,
            aftermath: "every program it started has been stopped",
        };
        assert_eq!(stopped.exit_code(), EXIT_TERMINATED);
        assert_eq!(
            stopped.report().to_string(),
            "socklab: interrupted; every program it started has been stopped"
        );
        assert_eq!(
            Error::Scenario(Diagnostics::default()).exit_code(),
            EXIT_USAGE
        );
    }
}
