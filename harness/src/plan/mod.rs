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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use socklab_reference::Program;
use socklab_scenario::{Action, LabManifest, Origin, Scenario, ScenarioFile, Template};

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
        } else if self.dir.join(format!("{name}.c")).is_file() {
            Availability::Missing(format!(
                "the submission has no executable `{name}`, only its source {name}.c: socklab builds sources only when it knows the lab (give `--lab path/to/lab.yaml`, or keep the scenario file beside the lab's lab.yaml)"
            ))
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
    pub left_out: Vec<Scenario>,
    /// Set when `--only` kept some of the scenarios.
    pub selection: Option<Selection>,
    /// Whether the suite was narrowed to some scenarios ([`Suite::filter`]):
    /// then only the programs they start are built.
    pub narrowed: bool,
}

/// What `--only` kept of a suite: the score of a selection is out of its
/// scenarios' share of the lab's total, not rescaled to the whole total.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The `--only` texts.
    pub patterns: Vec<String>,
    /// Scenarios in the suite before the selection.
    pub of: usize,
    /// The scored points of the whole suite (as written in the scenario
    /// files), what the lab's total is a scaling of.
    pub suite_points: f64,
}

impl Suite {
    /// The suite of these files under the manifest's course options: a
    /// scenario whose `when:` does not match them is not part of it.
    pub fn new(manifest: Option<LabManifest>, files: Vec<ScenarioFile>) -> Suite {
        let options = manifest.as_ref().map(|m| &m.options);
        let mut left_out = Vec::new();
        let mut kept = Vec::new();
        for mut file in files {
            let (applies, not): (Vec<_>, Vec<_>) = std::mem::take(&mut file.scenarios)
                .into_iter()
                .partition(|s| s.applies_to(options));
            file.scenarios = applies;
            left_out.extend(not);
            kept.push(file);
        }
        Suite {
            manifest,
            files: kept,
            left_out,
            selection: None,
            narrowed: false,
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

    /// The points of the scored scenarios, as written in the files.
    pub fn scored_points(&self) -> f64 {
        self.scenarios()
            .filter(|s| !s.observe)
            .map(|s| s.points)
            .sum::<f64>()
            + 0.0
    }

    /// Keeps only scenarios whose name contains one of `patterns` (or has
    /// one of them as a tag). `Err` names the patterns that match nothing,
    /// each with the name or tag it was probably meant to be; the suite is
    /// then unchanged.
    pub fn filter(&mut self, patterns: &[String]) -> Result<(), Vec<Unmatched>> {
        let unmatched: Vec<Unmatched> = patterns
            .iter()
            .filter(|p| !self.scenarios().any(|s| selects(s, p)))
            .map(|p| Unmatched {
                pattern: p.clone(),
                did_you_mean: self.closest_selector(p),
                only_left_out: self.left_out.iter().any(|s| selects(s, p)),
            })
            .collect();
        if !unmatched.is_empty() {
            return Err(unmatched);
        }
        let selection = Selection {
            patterns: patterns.to_vec(),
            of: self.scenarios().count(),
            suite_points: self.scored_points(),
        };
        for file in &mut self.files {
            file.scenarios
                .retain(|s| patterns.iter().any(|p| selects(s, p)));
        }
        self.selection = Some(selection);
        self.narrowed = true;
        Ok(())
    }

    /// The scenario name, name part (`lottery`, `client-protocol`) or tag
    /// closest to `pattern`, when close enough to be what was meant.
    fn closest_selector(&self, pattern: &str) -> Option<String> {
        let mut candidates: Vec<&str> = Vec::new();
        for s in self.scenarios() {
            candidates.push(&s.name);
            let base = s.name.split('[').next().unwrap_or(&s.name);
            candidates.push(base);
            candidates.extend(base.split('/'));
            candidates.extend(s.tags.iter().map(String::as_str));
        }
        candidates.sort_unstable();
        candidates.dedup();
        socklab_scenario::diagnostic::closest(pattern, &candidates).map(str::to_string)
    }
}

/// Whether `--only pattern` keeps the scenario.
fn selects(scenario: &Scenario, pattern: &str) -> bool {
    scenario.name.contains(pattern) || scenario.tags.iter().any(|t| t == pattern)
}

/// An `--only` text that matches no scenario of the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub pattern: String,
    /// The name, name part or tag it was probably meant to be.
    pub did_you_mean: Option<String>,
    /// It matches scenarios the course options leave out.
    pub only_left_out: bool,
}

impl Suite {
    /// The submission's programs the suite needs built: every program of
    /// the manifest, or, once narrowed, those its scenarios start from the
    /// submission (`None`: all of them; also when a name cannot be worked
    /// out before the run).
    pub fn programs_to_build(
        &self,
        options: &BTreeMap<String, String>,
    ) -> Option<BTreeSet<String>> {
        if !self.narrowed {
            return None;
        }
        let mut needed = BTreeSet::new();
        for scenario in self.scenarios() {
            needed.extend(programs_started(scenario, options)?);
        }
        Some(needed)
    }
}

/// The submission's programs `scenario` starts (`None` when a name cannot
/// be worked out before the run: the scenario then waits for the whole
/// build).
pub fn programs_started(
    scenario: &Scenario,
    options: &BTreeMap<String, String>,
) -> Option<BTreeSet<String>> {
    let mut started = BTreeSet::new();
    for (_, step) in socklab_scenario::path::walk(&scenario.steps) {
        let Action::Start(spec) = &step.action else {
            continue;
        };
        match spec.origin {
            Origin::Reference => continue,
            Origin::Submission => {}
            Origin::Templated(_) => return None,
        }
        let name = spec.program.render(&|namespace, key, _| match namespace {
            "options" => options.get(key).cloned(),
            "matrix" => scenario.matrix.get(key).cloned(),
            _ => None,
        });
        started.insert(name.ok()?);
    }
    Some(started)
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
    /// Whether scenarios capture their packets (where namespaces allow);
    /// `--no-capture` turns it off (packet checks are then skipped).
    pub capture: bool,
    /// Whether each scenario's folder stays when the scenario ends
    /// (`--work-dir`, and library users by default); socklab's own
    /// temporary folders go at once (see `sandbox::workspace`).
    pub keep_scenario_folders: bool,
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
