//! Plans: scenarios resolved against a submission and this machine.
//!
//! The second stage (scenario → **plan** → run → …). A plan knows which
//! executable stands behind each program name (the student's build, or a
//! reference program), which isolation level this machine reached, which
//! ports each scenario gets, and which scenarios must be skipped and why.
//!
//! This module holds what a whole run shares ([`Suite`], [`Submission`],
//! [`RunSettings`]); [`scenario`] plans one scenario ([`ScenarioPlan`]).

pub mod scenario;

pub use scenario::{Disposition, PortTurns, ProgramPlan, RunPlan, ScenarioPlan};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use socklab_reference::Program;
use socklab_scenario::{LabManifest, Scenario, ScenarioFile, Template};

use crate::limits::ProcessLimits;
use crate::sandbox::Capabilities;

/// Whether a submission's program can be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Ready(PathBuf),
    /// No such program in the submission (with what was looked for).
    Missing(String),
    /// It did not compile (with the compiler's words).
    BuildFailed(String),
}

/// A submission ready to run: its name and programs.
#[derive(Debug, Clone)]
pub struct Submission {
    pub name: String,
    /// Where the runnable programs are (the build directory, or the
    /// submission itself when nothing was built).
    pub dir: PathBuf,
    pub programs: BTreeMap<String, Availability>,
    /// Who its programs run as (a uid of its own when socklab is root).
    pub student: Option<crate::sandbox::RunAs>,
    /// Who socklab's reference programs run as when they run in processes
    /// beside its programs.
    pub peers: Option<crate::sandbox::RunAs>,
}

impl Submission {
    /// The program by name: as built, or an executable of that name in the
    /// submission directory (for scenario files used without a manifest).
    pub fn program(&self, name: &str) -> Availability {
        if let Some(known) = self.programs.get(name) {
            return known.clone();
        }
        let path = self.dir.join(name);
        if is_executable(&path) {
            Availability::Ready(path)
        } else {
            Availability::Missing(format!(
                "the submission has no executable `{name}` (looked for {})",
                path.display()
            ))
        }
    }
}

/// Where a scenario is written, for its report.
pub fn source_of(scenario: &Scenario) -> socklab_report::SourceRef {
    socklab_report::SourceRef::new(scenario.file.display().to_string(), scenario.loc.line)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The suite: scenarios to run, with the lab manifest when there is one.
#[derive(Debug, Clone)]
pub struct Suite {
    pub manifest: Option<LabManifest>,
    pub files: Vec<ScenarioFile>,
    /// Scenarios left out because their `when:` does not match the course
    /// options (they are not run, scored or reported).
    pub left_out: Vec<String>,
}

impl Suite {
    /// The suite of these files under the manifest's course options: a
    /// scenario whose `when:` does not match them is not part of it.
    pub fn new(manifest: Option<LabManifest>, mut files: Vec<ScenarioFile>) -> Suite {
        let options = manifest.as_ref().map(|m| &m.options);
        let mut left_out = Vec::new();
        for file in &mut files {
            file.scenarios.retain(|s| {
                let applies = s.applies_to(options);
                if !applies {
                    left_out.push(s.name.clone());
                }
                applies
            });
        }
        Suite {
            manifest,
            files,
            left_out,
        }
    }

    pub fn scenarios(&self) -> impl Iterator<Item = &Scenario> {
        self.files.iter().flat_map(|f| f.scenarios.iter())
    }

    pub fn lab_name(&self) -> String {
        self.manifest
            .as_ref()
            .map(|m| m.lab.clone())
            .unwrap_or_else(|| "scenarios".to_string())
    }

    /// Keeps only scenarios whose name contains one of `patterns` (or has
    /// one of them as a tag).
    pub fn filter(&mut self, patterns: &[String]) {
        for file in &mut self.files {
            file.scenarios.retain(|s| {
                patterns
                    .iter()
                    .any(|p| s.name.contains(p.as_str()) || s.tags.contains(p))
            });
        }
    }
}

/// Settings shared by every scenario of a run.
#[derive(Clone)]
pub struct RunSettings {
    /// The socklab executable (reference programs run as `socklab reference NAME`).
    pub self_exe: PathBuf,
    pub capabilities: Capabilities,
    pub limits: Option<ProcessLimits>,
    pub output_limit: usize,
    pub options: BTreeMap<String, String>,
    /// Reference stand-ins from the manifest: program name → command words.
    pub references: BTreeMap<String, Vec<Template>>,
    /// Turns on fixed ports, shared by every scenario of the run.
    pub port_turns: PortTurns,
}

/// Why no reference program can stand in for a program name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// A placeholder of the lab's reference command has no value.
    #[error("{0}")]
    Template(String),
    #[error("empty reference command")]
    Empty,
    #[error("`{name}` is not a reference program (known: {})", known.join(", "))]
    Unknown {
        name: String,
        known: Vec<&'static str>,
    },
}

impl RunSettings {
    /// The reference program standing in for `name`, with its leading arguments.
    pub fn reference_for(&self, name: &str) -> Result<(Program, Vec<String>), ReferenceError> {
        let words: Vec<String> = match self.references.get(name) {
            Some(templates) => {
                let mut words = Vec::new();
                for t in templates {
                    let word = t.render(&|ns, key, _| {
                        (ns == "options")
                            .then(|| self.options.get(key).cloned())
                            .flatten()
                    });
                    words.push(word.map_err(ReferenceError::Template)?);
                }
                words
            }
            None => vec![name.to_string()],
        };
        let (first, rest) = words.split_first().ok_or(ReferenceError::Empty)?;
        let program = Program::from_name(first).ok_or_else(|| ReferenceError::Unknown {
            name: first.clone(),
            known: Program::ALL.iter().map(|p| p.name()).collect(),
        })?;
        Ok((program, rest.to_vec()))
    }
}
