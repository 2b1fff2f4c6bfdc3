//! The lab manifest (`lab.yaml`): what a submission must provide and how the
//! suite is scored.
//!
//! One file per lab holds everything a course may want to change in one
//! place: program names and sources, build command and timeout, course
//! options (e.g. the iterative file-transfer convention), resource limits,
//! the scenario files, and the points total the suite is scaled to.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::diagnostic::Reporter;
use crate::model::{BuildSpec, LabManifest, Limits, MakePolicy, ProgramSpec};
use crate::spanned::{S, Text};
use crate::template::Template;

/// A lab manifest as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "socklab lab manifest")]
pub struct RawManifest {
    /// Short id of the lab, e.g. `lab3`.
    pub lab: S<String>,
    /// Human title shown in reports.
    pub title: Option<String>,
    /// The suite's points are scaled so that a perfect submission gets this total.
    pub total: Option<S<f64>>,
    /// How submissions are compiled.
    pub build: Option<RawBuild>,
    /// The programs a submission provides, by executable name.
    pub programs: BTreeMap<String, S<RawProgram>>,
    /// Course options, used in scenarios as `{{options.NAME}}`.
    pub options: Option<BTreeMap<String, Text>>,
    /// Scenario files of the suite, relative to this manifest.
    pub scenarios: Vec<S<String>>,
    /// Resource limits for every submission program.
    pub limits: Option<RawLimits>,
}

/// Build settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    /// Deadline for the whole build, e.g. `60s`.
    pub timeout: Option<S<String>>,
    /// C compiler (default `gcc`).
    pub compiler: Option<String>,
    /// Compiler flags (default `-std=gnu11 -O2 -Wall`).
    pub flags: Option<Vec<String>>,
    /// `auto` (default: make if there is a Makefile), `always` or `never`.
    pub make: Option<S<String>>,
}

/// One program of the lab.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProgram {
    /// C sources (default `NAME.c`).
    pub sources: Option<Vec<String>>,
    /// The command line, for messages, e.g. `LotteryServer PORT`.
    pub usage: Option<String>,
    /// The reference program standing in for it, with leading arguments, e.g. `ft-server --iterative {{options.ft_iterative}}`.
    pub reference: Option<S<String>>,
}

/// Limits per program run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// CPU time, e.g. `10s`.
    pub cpu: Option<S<String>>,
    /// Address space, e.g. `512MiB`.
    pub memory: Option<S<Text>>,
    /// Processes and threads of the program's user, e.g. `64`.
    pub processes: Option<u64>,
    /// Open file descriptors.
    pub open_files: Option<u64>,
    /// Largest file the program may write, e.g. `64MiB`.
    pub file_size: Option<S<Text>>,
    /// Bytes a program may print on stdout and on stderr (all are kept); one
    /// that prints more is stopped at once and its scenario fails.
    pub output: Option<S<Text>>,
    /// CPU time a scenario's programs may use together at full speed (half
    /// a core), e.g. `250ms`; past it they run at a twentieth of a core until
    /// the scenario ends, and the report says so (the default, 250ms, is
    /// three times what the largest correct Lab 3 scenario uses).
    pub slow_down_after: Option<S<String>>,
}

/// Validates a manifest; `overrides` replace the values of its course
/// options (`socklab grade --option NAME=VALUE`) and must name options it has.
pub(crate) fn validate_manifest(
    raw: &RawManifest,
    path: &Path,
    overrides: &BTreeMap<String, String>,
    r: &mut Reporter,
) -> LabManifest {
    let mut options: BTreeMap<String, String> = raw
        .options
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (name, value) in overrides {
        match options.get_mut(name) {
            Some(slot) => *slot = value.clone(),
            None => {
                let known: Vec<&str> = options.keys().map(String::as_str).collect();
                let help = match crate::diagnostic::closest(name, &known) {
                    Some(best) => format!(
                        "did you mean `{best}`? the course options are: {}",
                        known.join(", ")
                    ),
                    None => format!("the course options are: {}", known.join(", ")),
                };
                r.error(
                    raw.lab.loc(),
                    format!("`--option {name}={value}`: this lab has no course option `{name}`"),
                    Some(help),
                );
            }
        }
    }
    let mut programs = BTreeMap::new();
    for (name, spec) in &raw.programs {
        let reference = spec.value().reference.as_ref().and_then(|line| {
            let mut parts = Vec::new();
            for word in line.value().split_whitespace() {
                match Template::parse(word) {
                    Ok(t) => {
                        for (ns, key) in t.placeholders() {
                            if ns != "options" || !options.contains_key(key) {
                                r.error(line.loc(), format!("`{{{{{ns}.{key}}}}}` in `reference` is not a course option"), Some(format!("reference commands may use `{{{{options.NAME}}}}` with NAME one of: {}", options.keys().cloned().collect::<Vec<_>>().join(", "))));
                            }
                        }
                        parts.push(t);
                    }
                    Err(e) => r.error(line.loc(), e.message, e.help),
                }
            }
            if parts.is_empty() {
                r.error(line.loc(), format!("`reference` of `{name}` is empty"), None);
                return None;
            }
            Some(parts)
        });
        programs.insert(
            name.clone(),
            ProgramSpec {
                name: name.clone(),
                sources: spec
                    .value()
                    .sources
                    .clone()
                    .unwrap_or_else(|| vec![format!("{name}.c")]),
                usage: spec.value().usage.clone(),
                reference,
            },
        );
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut scenario_files = Vec::new();
    for file in &raw.scenarios {
        let full = base.join(file.value());
        if !full.is_file() {
            r.error(
                file.loc(),
                format!("scenario file `{}` does not exist", full.display()),
                Some("paths are relative to the manifest".into()),
            );
        }
        scenario_files.push(full);
    }
    let build = raw.build.as_ref();
    let make = match build.and_then(|b| b.make.as_ref()) {
        None => MakePolicy::Auto,
        Some(m) => match m.value().as_str() {
            "auto" => MakePolicy::Auto,
            "always" => MakePolicy::Always,
            "never" => MakePolicy::Never,
            other => {
                r.error(
                    m.loc(),
                    format!("`make: {other}` is not a make policy"),
                    Some("write `auto`, `always` or `never`".into()),
                );
                MakePolicy::Auto
            }
        },
    };
    let defaults = Limits::default();
    let limits = raw.limits.as_ref().map_or(defaults.clone(), |l| Limits {
        cpu: l
            .cpu
            .as_ref()
            .and_then(|d| crate::syntax::duration(d, r))
            .unwrap_or(defaults.cpu),
        memory: l
            .memory
            .as_ref()
            .and_then(|s| size(s, r))
            .unwrap_or(defaults.memory),
        processes: l.processes.unwrap_or(defaults.processes),
        open_files: l.open_files.unwrap_or(defaults.open_files),
        file_size: l
            .file_size
            .as_ref()
            .and_then(|s| size(s, r))
            .unwrap_or(defaults.file_size),
        output: l
            .output
            .as_ref()
            .and_then(|s| size(s, r))
            .unwrap_or(defaults.output),
        slow_down_after: l
            .slow_down_after
            .as_ref()
            .and_then(|d| crate::syntax::duration(d, r))
            .unwrap_or(defaults.slow_down_after),
    });
    let total = raw.total.as_ref().and_then(|t| {
        if *t.value() > 0.0 && t.value().is_finite() {
            Some(*t.value())
        } else {
            r.error(
                t.loc(),
                format!("total `{}` must be a number > 0", t.value()),
                None,
            );
            None
        }
    });
    LabManifest {
        path: path.to_path_buf(),
        lab: raw.lab.value().clone(),
        title: raw.title.clone().unwrap_or_else(|| raw.lab.value().clone()),
        total,
        build: BuildSpec {
            timeout: build
                .and_then(|b| b.timeout.as_ref())
                .and_then(|d| crate::syntax::duration(d, r))
                .unwrap_or(Duration::from_secs(60)),
            compiler: build
                .and_then(|b| b.compiler.clone())
                .unwrap_or_else(|| "gcc".into()),
            flags: build
                .and_then(|b| b.flags.clone())
                .unwrap_or_else(|| vec!["-std=gnu11".into(), "-O2".into(), "-Wall".into()]),
            make,
        },
        programs,
        options,
        scenario_files,
        limits,
    }
}

/// Parses `512MiB`, `64KiB`, `1GiB`, `1000` (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

fn size(s: &S<Text>, r: &mut Reporter) -> Option<u64> {
    let parsed = parse_size(&s.value().0);
    if parsed.is_none() {
        r.error(
            s.loc(),
            format!("`{}` is not a size", s.value().0),
            Some("write e.g. `512MiB`, `64KiB` or a number of bytes".into()),
        );
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("3 KiB"), Some(3 << 10));
        assert_eq!(parse_size("lots"), None);
    }
}
