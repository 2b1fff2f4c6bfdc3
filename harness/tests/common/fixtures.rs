//! Fixture submissions as differences from a correct submission.
//!
//! A fixture folder under `tests/fixtures/submissions/NAME/` holds only the
//! files in which it differs from its base (`examples/submissions/good`
//! unless its spec names another) and a `fixture.yaml` spec: the defect in
//! one line, the programs at fault, the scenarios that must fail and those
//! that may fail (each with why), or, for a hostile fixture, what must hold.
//! This module reads and checks the specs ([`FixtureSet::load_all`]) and lays
//! a fixture over its base into a folder as a whole submission
//! ([`FixtureSpec::lay_out`]). Every test that grades fixtures goes through
//! it, and so does the TA's command `cargo run -p socklab --example fixture`.
//!
//! Checks that need the socklab binary (scenario names against the suite)
//! live in the tests' `common` module, which hands the known names to
//! [`FixtureSpec::unknown_scenarios`]; this file depends on std, serde and
//! serde-saphyr only, so the example can include it as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::{Location, Spanned};

/// The spec's file name inside a fixture folder.
pub const SPEC_FILE: &str = "fixture.yaml";

/// The base a fixture is laid over when its spec names none.
pub const DEFAULT_BASE: &str = "good";

/// A base's description of itself, left out of a laid-out fixture.
const BASE_README: &str = "README.md";

/// Where fixtures, the submissions they are laid over and the lab that
/// grades them live. The repository's own is [`FixtureSet::of_repo`]; tests
/// of the spec checks point it at folders of their own.
#[derive(Debug, Clone)]
pub struct FixtureSet {
    /// The folder holding one folder per fixture.
    pub fixtures: PathBuf,
    /// The folder holding the submissions a spec's `base:` may name.
    pub bases: PathBuf,
    /// The lab manifest whose programs and options specs may name.
    pub lab: PathBuf,
}

/// A fixture as its `fixture.yaml` describes it, checked against its folder,
/// its base and the lab's programs and options.
#[derive(Debug, Clone)]
pub struct FixtureSpec {
    /// The fixture's folder name, which is also the student's name when a
    /// test grades it.
    pub name: String,
    /// The fixture's own folder (its changed files and the spec).
    pub folder: PathBuf,
    /// The whole submission the fixture is laid over.
    pub base: PathBuf,
    /// What is wrong, in one line.
    pub defect: String,
    /// The lab programs whose sources the fixture changes or removes.
    pub programs: Vec<String>,
    /// What a user observes when running the programs.
    pub symptom: String,
    /// Files of the base that the fixture does not have.
    pub removed: Vec<String>,
    /// Course options (lab.yaml `options:`) the fixture is graded under;
    /// the lab's defaults for the rest.
    pub options: BTreeMap<String, String>,
    /// Scenarios that must fail (every other graded scenario must pass).
    pub must_fail: Vec<Placed<String>>,
    /// Scenarios that may fail or pass, with why.
    pub may_fail: Vec<MayFail>,
    /// Observe-only scenarios (not scored: the lab does not require the
    /// behaviour) whose report must show the defect: at least one of their
    /// checks did not hold.
    pub must_observe: Vec<Placed<String>>,
    /// For a hostile fixture (it attacks the grader, not the protocol): how
    /// socklab must report it. Hostile fixtures are graded by
    /// `harness/tests/hostile.rs`, not by the must-fail lists.
    pub must_hold: Option<String>,
    /// The spec file and its text, to point at a value in later checks.
    file: PathBuf,
    source: String,
}

/// A scenario that may fail for a fixture, and why its verdict is not
/// fixed (typically timing the scenario does not control).
#[derive(Debug, Clone)]
pub struct MayFail {
    pub scenario: Placed<String>,
    pub why: String,
}

/// A value from a spec and the line and column (1-based) it was written at.
#[derive(Debug, Clone)]
pub struct Placed<T> {
    pub value: T,
    pub line: u64,
    pub column: u64,
}

impl<T> Placed<T> {
    fn from_spanned(spanned: Spanned<T>) -> Placed<T> {
        Placed {
            value: spanned.value,
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        }
    }
}

/// One mistake in a fixture: what, where (file:line:column, with the line),
/// and how to fix it.
#[derive(Debug, Clone)]
pub struct SpecProblem {
    pub file: PathBuf,
    /// 0 when the mistake is not at a place in the file (a missing file).
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub source_line: Option<String>,
    pub help: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let file = shown(&self.file);
        if self.line == 0 {
            writeln!(f, "{file}: {}", self.message)?;
        } else {
            writeln!(f, "{file}:{}:{}: {}", self.line, self.column, self.message)?;
        }
        if let Some(text) = &self.source_line {
            writeln!(f, "  {:>4} | {text}", self.line)?;
        }
        write!(f, "  help: {}", self.help)
    }
}

/// Every mistake found, so one run shows them all.
#[derive(Debug, Clone, Default)]
pub struct SpecProblems(pub Vec<SpecProblem>);

impl fmt::Display for SpecProblems {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// The spec as written; `deny_unknown_fields` makes a misspelt key an error
/// at its place instead of a silently ignored line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    base: Option<Spanned<String>>,
    defect: Spanned<String>,
    #[serde(default)]
    programs: Vec<Spanned<String>>,
    symptom: String,
    #[serde(default)]
    removed: Vec<Spanned<String>>,
    #[serde(default)]
    options: BTreeMap<String, Spanned<OptionValue>>,
    #[serde(default)]
    must_fail: Vec<Spanned<String>>,
    #[serde(default)]
    may_fail: Vec<RawMayFail>,
    #[serde(default)]
    must_observe: Vec<Spanned<String>>,
    must_hold: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMayFail {
    scenario: Spanned<String>,
    why: Spanned<String>,
}

/// A course option's value: YAML text, a number or a boolean, kept as the
/// text lab.yaml would hold (`daytime_port: 12345`).
struct OptionValue(String);

impl<'de> Deserialize<'de> for OptionValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = OptionValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an option value (text, a number or a boolean)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The two parts of lab.yaml a spec may name.
#[derive(Deserialize)]
struct LabNames {
    #[serde(default)]
    options: BTreeMap<String, IgnoredAny>,
    programs: BTreeMap<String, IgnoredAny>,
}

impl FixtureSet {
    /// The repository's fixtures, laid over `examples/submissions/`, graded
    /// under `scenarios/lab3/lab.yaml`.
    pub fn of_repo() -> FixtureSet {
        let repo = repo_root();
        FixtureSet {
            fixtures: repo.join("tests/fixtures/submissions"),
            bases: repo.join("examples/submissions"),
            lab: repo.join("scenarios/lab3/lab.yaml"),
        }
    }

    /// The fixture folders' names, sorted.
    pub fn names(&self) -> Result<Vec<String>, SpecProblems> {
        let entries = std::fs::read_dir(&self.fixtures).map_err(|e| {
            SpecProblems(vec![plain_problem(
                &self.fixtures,
                format!("cannot read the fixtures folder: {e}"),
                "run from a checkout of the repository",
            )])
        })?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every fixture's spec, or every mistake in any of them.
    pub fn load_all(&self) -> Result<Vec<FixtureSpec>, SpecProblems> {
        let lab = self.lab_names()?;
        let mut specs = Vec::new();
        let mut problems = Vec::new();
        for name in self.names()? {
            match self.load_with(&name, &lab) {
                Ok(spec) => specs.push(spec),
                Err(found) => problems.extend(found.0),
            }
        }
        if problems.is_empty() {
            Ok(specs)
        } else {
            Err(SpecProblems(problems))
        }
    }

    /// One fixture's spec, or its mistakes.
    pub fn load(&self, name: &str) -> Result<FixtureSpec, SpecProblems> {
        let folder = self.fixtures.join(name);
        if name.is_empty() || name.contains('/') || !folder.is_dir() {
            let known = self.names().unwrap_or_default();
            let help = match closest(name, &known) {
                Some(best) => format!(
                    "did you mean `{best}`? the fixtures are: {}",
                    known.join(", ")
                ),
                None => format!("the fixtures are: {}", known.join(", ")),
            };
            return Err(SpecProblems(vec![plain_problem(
                &folder,
                format!("there is no fixture `{name}`"),
                &help,
            )]));
        }
        let lab = self.lab_names()?;
        self.load_with(name, &lab)
    }

    fn lab_names(&self) -> Result<LabNames, SpecProblems> {
        let text = std::fs::read_to_string(&self.lab).map_err(|e| {
            SpecProblems(vec![plain_problem(
                &self.lab,
                format!("cannot read the lab manifest: {e}"),
                "run from a checkout of the repository",
            )])
        })?;
        serde_saphyr::from_str(&text).map_err(|e| {
            SpecProblems(vec![yaml_problem(
                &self.lab,
                &text,
                &e,
                "check it with `socklab validate`",
            )])
        })
    }

    fn load_with(&self, name: &str, lab: &LabNames) -> Result<FixtureSpec, SpecProblems> {
        let folder = self.fixtures.join(name);
        let file = folder.join(SPEC_FILE);
        let source = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                return Err(SpecProblems(vec![plain_problem(
                    &file,
                    format!("fixture `{name}` has no readable {SPEC_FILE} ({e})"),
                    "every fixture folder holds a fixture.yaml: the defect, the programs at \
                     fault, must_fail and may_fail (see tests/fixtures/submissions/README.md)",
                )]));
            }
        };
        let raw: RawSpec = serde_saphyr::from_str(&source).map_err(|e| {
            SpecProblems(vec![yaml_problem(
                &file,
                &source,
                &e,
                "the keys are base, defect, programs, symptom, removed, options, must_fail, \
                 may_fail (scenario, why), must_observe and must_hold \
                 (tests/fixtures/submissions/README.md)",
            )])
        })?;
        let mut check = SpecCheck {
            file: &file,
            source: &source,
            problems: Vec::new(),
        };

        let base_name = raw
            .base
            .as_ref()
            .map(|b| b.value.clone())
            .unwrap_or_else(|| DEFAULT_BASE.to_string());
        let base = self.bases.join(&base_name);
        if let Some(spanned) = &raw.base
            && (base_name.is_empty() || base_name.contains('/') || !base.is_dir())
        {
            let known = folder_names(&self.bases);
            check.at(
                spanned.referenced,
                format!(
                    "base `{base_name}` is not a submission under {}",
                    shown(&self.bases)
                ),
                format!(
                    "name one of: {} (or leave `base:` out for `{DEFAULT_BASE}`)",
                    known.join(", ")
                ),
            );
        }

        if raw.defect.value.trim().is_empty() || raw.defect.value.trim().contains('\n') {
            check.at(
                raw.defect.referenced,
                "`defect` must be one line".to_string(),
                "say what is wrong in one line; put what a user observes in `symptom`".to_string(),
            );
        }

        let lab_programs: Vec<String> = lab.programs.keys().cloned().collect();
        for program in &raw.programs {
            if !lab.programs.contains_key(&program.value) {
                check.at(
                    program.referenced,
                    format!(
                        "`{}` is not a program of {}",
                        program.value,
                        shown(&self.lab)
                    ),
                    suggestion(&program.value, &lab_programs, "the programs are"),
                );
            }
        }

        for (option, value) in &raw.options {
            if !lab.options.contains_key(option) {
                let known: Vec<String> = lab.options.keys().cloned().collect();
                check.at(
                    value.referenced,
                    format!("`{option}` is not a course option of {}", shown(&self.lab)),
                    suggestion(option, &known, "the options are"),
                );
            }
            if value.value.0.trim().is_empty() {
                check.at(
                    value.referenced,
                    format!("option `{option}` has no value"),
                    "give the value the fixture is graded under".to_string(),
                );
            }
        }

        let mut named = BTreeSet::new();
        for scenario in raw
            .must_fail
            .iter()
            .chain(raw.may_fail.iter().map(|m| &m.scenario))
            .chain(raw.must_observe.iter())
        {
            if !named.insert(scenario.value.clone()) {
                check.at(
                    scenario.referenced,
                    format!("`{}` is listed twice", scenario.value),
                    "name each scenario once, under must_fail, may_fail or must_observe"
                        .to_string(),
                );
            }
        }
        for may in &raw.may_fail {
            if may.why.value.trim().is_empty() {
                check.at(
                    may.why.referenced,
                    format!("may_fail `{}` does not say why", may.scenario.value),
                    "say why its verdict may go either way (e.g. the timing it depends on)"
                        .to_string(),
                );
            }
        }
        if let Some(hold) = &raw.must_hold {
            if let Some(first) = raw
                .must_fail
                .first()
                .or(raw.may_fail.first().map(|m| &m.scenario))
                .or(raw.must_observe.first())
            {
                check.at(
                    first.referenced,
                    "a hostile fixture (one with `must_hold`) has no must_fail, may_fail or \
                     must_observe"
                        .to_string(),
                    "harness/tests/hostile.rs grades hostile fixtures and asserts what \
                     `must_hold` says; lists here would be checked by nobody"
                        .to_string(),
                );
            }
            if hold.value.trim().is_empty() {
                check.at(
                    hold.referenced,
                    "`must_hold` is empty".to_string(),
                    "say how socklab must report this fixture".to_string(),
                );
            }
        }

        check.files(&folder, &base, &raw, &lab_programs);

        if !check.problems.is_empty() {
            let mut problems = check.problems;
            problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            return Err(SpecProblems(problems));
        }
        Ok(FixtureSpec {
            name: name.to_string(),
            folder,
            base,
            defect: raw.defect.value.trim().to_string(),
            programs: raw.programs.into_iter().map(|p| p.value).collect(),
            symptom: raw.symptom.trim().to_string(),
            removed: raw.removed.into_iter().map(|r| r.value).collect(),
            options: raw
                .options
                .into_iter()
                .map(|(k, v)| (k, v.value.0))
                .collect(),
            must_fail: raw
                .must_fail
                .into_iter()
                .map(Placed::from_spanned)
                .collect(),
            may_fail: raw
                .may_fail
                .into_iter()
                .map(|m| MayFail {
                    scenario: Placed::from_spanned(m.scenario),
                    why: m.why.value.trim().to_string(),
                })
                .collect(),
            must_observe: raw
                .must_observe
                .into_iter()
                .map(Placed::from_spanned)
                .collect(),
            must_hold: raw.must_hold.map(|h| h.value.trim().to_string()),
            file,
            source,
        })
    }
}

impl FixtureSpec {
    /// Whether the fixture attacks the grader (graded by hostile.rs).
    pub fn is_hostile(&self) -> bool {
        self.must_hold.is_some()
    }

    /// The scenarios that must fail, by name.
    pub fn must_fail_names(&self) -> BTreeSet<String> {
        self.must_fail.iter().map(|s| s.value.clone()).collect()
    }

    /// The scenarios that may fail, by name.
    pub fn may_fail_names(&self) -> BTreeSet<String> {
        self.may_fail
            .iter()
            .map(|m| m.scenario.value.clone())
            .collect()
    }

    /// The files the fixture lays over its base (relative paths, sorted).
    pub fn own_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        collect_files(&self.folder, Path::new(""), &mut files);
        files.retain(|f| f != Path::new(SPEC_FILE));
        files.sort();
        files
    }

    /// Lays the fixture out as a whole submission in `dest`: the base's
    /// files (but its README, which describes the base and would be wrong
    /// about the fixture), then the fixture's own files over them, then the
    /// removed ones deleted. `dest` must not exist yet or be empty.
    pub fn lay_out(&self, dest: &Path) -> std::io::Result<()> {
        if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not empty: lay the fixture out into a new folder",
                    dest.display()
                ),
            ));
        }
        copy_dir(&self.base, dest)?;
        let base_readme = dest.join(BASE_README);
        if base_readme.is_file() && !self.folder.join(BASE_README).is_file() {
            std::fs::remove_file(base_readme)?;
        }
        for file in self.own_files() {
            let target = dest.join(&file);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(self.folder.join(&file), target)?;
        }
        for file in &self.removed {
            std::fs::remove_file(dest.join(file))?;
        }
        Ok(())
    }

    /// must_fail, may_fail and must_observe names that are not among `known` (the
    /// scenario names of the lab under this fixture's options), each with
    /// its place in the spec and the closest known name.
    pub fn unknown_scenarios(&self, known: &BTreeSet<String>, lab: &Path) -> Vec<SpecProblem> {
        let known_list: Vec<String> = known.iter().cloned().collect();
        let options = if self.options.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self
                .options
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!(" under the options {{{}}}", list.join(", "))
        };
        self.must_fail
            .iter()
            .chain(self.may_fail.iter().map(|m| &m.scenario))
            .chain(self.must_observe.iter())
            .filter(|s| !known.contains(&s.value))
            .map(|s| {
                let help = match closest(&s.value, &known_list) {
                    Some(best) => format!(
                        "did you mean `{best}`? `socklab list {}` lists the scenarios",
                        shown(lab)
                    ),
                    None => format!("`socklab list {}` lists the scenarios", shown(lab)),
                };
                SpecProblem {
                    file: self.file.clone(),
                    line: s.line,
                    column: s.column,
                    message: format!("`{}` is not a scenario of {}{options}", s.value, shown(lab)),
                    source_line: source_line(&self.source, s.line),
                    help,
                }
            })
            .collect()
    }
}

/// Collects the problems of one spec, each pointing into its file.
struct SpecCheck<'a> {
    file: &'a Path,
    source: &'a str,
    problems: Vec<SpecProblem>,
}

impl SpecCheck<'_> {
    fn at(&mut self, location: Location, message: String, help: String) {
        self.problems.push(SpecProblem {
            file: self.file.to_path_buf(),
            line: location.line(),
            column: location.column(),
            message,
            source_line: source_line(self.source, location.line()),
            help,
        });
    }

    /// The fixture's files agree with its spec: each differs from the
    /// base, removed ones are in the base and not in the fixture, and the
    /// programs at fault are exactly those whose sources it changes or removes.
    fn files(&mut self, folder: &Path, base: &Path, raw: &RawSpec, lab_programs: &[String]) {
        let mut own = Vec::new();
        collect_files(folder, Path::new(""), &mut own);
        own.retain(|f| f != Path::new(SPEC_FILE));
        let mut touched = BTreeSet::new();
        for file in &own {
            let in_base = base.join(file);
            if in_base.is_file()
                && std::fs::read(folder.join(file)).ok() == std::fs::read(&in_base).ok()
            {
                self.problems.push(plain_problem(
                    &folder.join(file),
                    format!("is identical to {}", shown(&in_base)),
                    "delete it: a fixture keeps only the files it changes",
                ));
            }
            touched.extend(program_of(file, lab_programs));
        }
        for removed in &raw.removed {
            let path = Path::new(&removed.value);
            if !base.join(path).is_file() {
                self.at(
                    removed.referenced,
                    format!("removed file `{}` is not in {}", removed.value, shown(base)),
                    "name a file of the base, relative to it (e.g. FTServerIter.c)".to_string(),
                );
            }
            if own.iter().any(|f| f == path) {
                self.at(
                    removed.referenced,
                    format!(
                        "`{}` is both removed and in the fixture's folder",
                        removed.value
                    ),
                    "delete the file from the fixture's folder, or drop it from `removed`"
                        .to_string(),
                );
            }
            touched.extend(program_of(path, lab_programs));
        }
        let listed: BTreeSet<String> = raw.programs.iter().map(|p| p.value.clone()).collect();
        for program in &raw.programs {
            if lab_programs.contains(&program.value) && !touched.contains(&program.value) {
                self.at(
                    program.referenced,
                    format!(
                        "`{}` is named at fault but the fixture neither changes nor removes {}.c",
                        program.value, program.value
                    ),
                    "list only the programs whose sources the fixture changes".to_string(),
                );
            }
        }
        for program in touched.difference(&listed) {
            let at = raw
                .programs
                .first()
                .map_or(raw.defect.referenced, |p| p.referenced);
            self.at(
                at,
                format!("the fixture changes or removes {program}.c but `programs` does not name `{program}`"),
                format!("add `{program}` to `programs` (the programs at fault)"),
            );
        }
    }
}

/// The lab program a source file belongs to (`tcpserv.c` → `tcpserv`).
fn program_of(file: &Path, lab_programs: &[String]) -> Option<String> {
    if file.extension()? != "c" || file.parent() != Some(Path::new("")) {
        return None;
    }
    let stem = file.file_stem()?.to_string_lossy().into_owned();
    lab_programs.contains(&stem).then_some(stem)
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Regular files below `dir`, as paths relative to it.
fn collect_files(dir: &Path, relative: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = relative.join(entry.file_name());
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(dir, &path, found),
            Ok(_) => found.push(path),
            Err(_) => {}
        }
    }
}

fn folder_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn plain_problem(file: &Path, message: String, help: &str) -> SpecProblem {
    SpecProblem {
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        message,
        source_line: None,
        help: help.to_string(),
    }
}

/// A YAML or shape error from serde-saphyr, at its place.
fn yaml_problem(file: &Path, source: &str, error: &serde_saphyr::Error, help: &str) -> SpecProblem {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let rendered = error.without_snippet().to_string();
    // serde-saphyr starts with "line L column C: "; the place is shown apart.
    let message = match rendered.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest,
        _ => rendered.as_str(),
    };
    SpecProblem {
        file: file.to_path_buf(),
        line,
        column,
        message: message.lines().next().unwrap_or_default().to_string(),
        source_line: source_line(source, line),
        help: help.to_string(),
    }
}

fn source_line(source: &str, line: u64) -> Option<String> {
    if line == 0 {
        return None;
    }
    source
        .lines()
        .nth(line as usize - 1)
        .map(|l| l.trim_end().to_string())
}

fn suggestion(given: &str, known: &[String], what: &str) -> String {
    match closest(given, known) {
        Some(best) => format!("did you mean `{best}`? {what}: {}", known.join(", ")),
        None => format!("{what}: {}", known.join(", ")),
    }
}

/// The known name nearest to `given`, if it is near enough to be a typo.
fn closest(given: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(given, k), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The repository's root folder (the parent of the `socklab` package).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the socklab package is a folder of the repository")
        .to_path_buf()
}

/// A path as shown in messages: relative to the repository when inside it.
fn shown(path: &Path) -> String {
    let root = repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
