//! Checks on what the sandbox saw beside a scenario's steps: a fork bomb
//! the process limit contained, programs the kernel killed for memory,
//! files written outside the programs' folders.
//!
//! They are reported with the scenario, weigh nothing and stop nothing; the
//! stray-files one is only observed.

use socklab_reference::beneath::Kind;

use super::Judgement;
use crate::facts::{OutputOverflow, SandboxFact};

/// One thing the sandbox saw that a student should hear about.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxFinding {
    /// The action it is reported under (`limits`, `files`).
    pub keyword: &'static str,
    pub title: &'static str,
    pub judgement: Judgement,
    pub hint: &'static str,
    /// Reported only, never a failure.
    pub observe: bool,
}

/// What the sandbox saw, as findings (none when all was well).
pub fn findings(fact: &SandboxFact) -> Vec<SandboxFinding> {
    let mut found = Vec::new();
    if let Some((max, refused)) = fact.process_limit.filter(|(_, r)| *r > 0) {
        found.push(SandboxFinding {
            keyword: "limits",
            title: "the programs stay within the process limit",
            judgement: Judgement::fail(format!(
                "a fork bomb was contained: the programs tried to run more than {max} processes ({refused} forks refused)"
            ))
            .expected(format!("at most {max} processes")),
            hint: "Call fork() once per accepted connection, never in a loop without accept(); check fork()'s return value.",
            observe: false,
        });
    }
    if let Some((limit, kills)) = fact.memory.filter(|(_, kills)| *kills > 0) {
        found.push(SandboxFinding {
            keyword: "limits",
            title: "the programs stay within the memory limit",
            judgement: Judgement::fail(format!(
                "the kernel killed {kills} program{} for using more than the memory limit of {} MiB (killed by SIGKILL)",
                if kills == 1 { "" } else { "s" },
                limit >> 20
            ))
            .expected(format!("at most {} MiB for all programs together", limit >> 20)),
            hint: "Free what you malloc() (or reuse one buffer), and check malloc()'s return value.",
            observe: false,
        });
    }
    if let Some(used) = fact.cpu_hog {
        found.push(SandboxFinding {
            keyword: "limits",
            title: "the programs use the CPU only when they have work",
            judgement: Judgement::fail(format!(
                "the programs used {} ms of CPU time, all this lab allows a scenario at full speed; socklab slowed them down to a twentieth of a core for the rest of the scenario",
                used.as_millis()
            ))
            .expected("programs that block in read(), accept() or waitpid() while they wait"),
            hint: super::process::BUSY_LOOP_HINT,
            observe: true,
        });
    }
    if let Some(stray) = fact.stray_files.as_ref().filter(|f| !f.is_empty()) {
        let listed: Vec<String> = stray
            .iter()
            .map(|(path, kind)| match kind {
                Kind::File(bytes) => format!("{} ({bytes} bytes)", path.display()),
                Kind::Directory => format!("{} (an empty folder)", path.display()),
                Kind::Link => format!("{} (a symbolic link, not followed)", path.display()),
                other => format!("{} ({})", path.display(), other.describe()),
            })
            .collect();
        found.push(SandboxFinding {
            keyword: "files",
            title: "the programs write only in their own directories",
            judgement: Judgement::fail(format!(
                "a program wrote outside its working directory ({} {})",
                listed.len(),
                if listed.len() == 1 { "entry" } else { "entries" }
            ))
            .expected("files only in the program's own working directory")
            .observed(listed.join("\n")),
            hint: "Write files with paths relative to the working directory, or to the path given on the command line; never to fixed places like /tmp.",
            observe: true,
        });
    }
    found
}

/// A program printed more than the output limit: socklab stopped it, and
/// the scenario ended there (a failure, weighing nothing itself).
pub fn output_limit(overflow: &OutputOverflow) -> SandboxFinding {
    SandboxFinding {
        keyword: "limits",
        title: "the programs stay within the output limit",
        judgement: Judgement::fail(format!(
            "{} printed too much on {}: output limit exceeded ({} bytes); socklab stopped it",
            overflow.label, overflow.stream, overflow.limit
        ))
        .expected(format!(
            "at most {} bytes on {}",
            overflow.limit, overflow.stream
        )),
        hint: "Print only what the lab asks for: no debug output in a loop, and never print in a loop that does not wait for input or a connection.",
        observe: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_sandbox_has_nothing_to_say() {
        let fact = SandboxFact {
            process_limit: Some((64, 0)),
            memory: Some((512 << 20, 0)),
            stray_files: Some(Vec::new()),
            cpu_hog: None,
        };
        assert!(findings(&fact).is_empty());
    }

    #[test]
    fn each_finding_counts_what_happened() {
        let fact = SandboxFact {
            process_limit: Some((64, 1200)),
            memory: Some((512 << 20, 1)),
            stray_files: Some(vec![
                ("/tmp/x".into(), Kind::File(3)),
                ("/tmp/y".into(), Kind::Directory),
                ("/tmp/z".into(), Kind::Link),
            ]),
            cpu_hog: Some(std::time::Duration::from_millis(250)),
        };
        let found = findings(&fact);
        let messages: Vec<&str> = found.iter().map(|f| f.judgement.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "a fork bomb was contained: the programs tried to run more than 64 processes (1200 forks refused)",
                "the kernel killed 1 program for using more than the memory limit of 512 MiB (killed by SIGKILL)",
                "the programs used 250 ms of CPU time, all this lab allows a scenario at full speed; socklab slowed them down to a twentieth of a core for the rest of the scenario",
                "a program wrote outside its working directory (3 entries)",
            ]
        );
        assert_eq!(
            found[3].judgement.observed.as_deref(),
            Some(
                "/tmp/x (3 bytes)\n/tmp/y (an empty folder)\n/tmp/z (a symbolic link, not followed)"
            )
        );
        assert!(found[2].observe && !found[0].observe);
    }

    #[test]
    fn an_output_flood_names_the_program_and_the_limit() {
        let finding = output_limit(&OutputOverflow {
            label: "LotteryServer (submission)".into(),
            stream: "stdout",
            limit: 1 << 20,
        });
        assert_eq!(
            finding.judgement.message,
            "LotteryServer (submission) printed too much on stdout: output limit exceeded (1048576 bytes); socklab stopped it"
        );
        assert!(!finding.observe);
    }
}
