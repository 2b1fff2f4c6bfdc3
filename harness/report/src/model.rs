//! The results model: what a run found, in a form every reporter reads.
//!
//! The runner produces one [`SubmissionReport`] per submission. Reporters
//! (human text, JSON, JUnit, Gradescope, ...) are functions of these values
//! only, so they can be tested without running anything and applied again to
//! saved JSON (e.g. when merging shards).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use socklab_packets::ladder::Diagram;

/// Everything socklab found about one submission.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubmissionReport {
    /// The student / submission name (directory or archive name).
    pub submission: String,
    /// The lab id from the manifest (`lab3`), or `scenarios` without one.
    pub lab: String,
    /// socklab's version, for reproducibility.
    pub socklab_version: String,
    /// How isolated the programs were, e.g. `namespaces` or `loopback`.
    pub isolation: Isolation,
    /// The lab's course options the suite ran with (`echo_mode: sum`, ...):
    /// they decide which scenario variants ran, so the class page shows them
    /// with the run's settings. Empty for a suite without a lab manifest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Set when the entry in the submissions folder is not a submission at
    /// all (a stray `notes.txt`: neither a folder nor an archive), with the
    /// reason. Such an entry has no grade: gradebooks list it as "not a
    /// submission" and class statistics leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_a_submission: Option<String>,
    /// Set when only some of the suite's scenarios ran (`--only`): the
    /// score is then out of their share of the lab's total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// The build, when socklab built the submission.
    pub build: Option<BuildReport>,
    pub scenarios: Vec<ScenarioReport>,
    /// Points earned, scaled to the manifest's total.
    pub score: f64,
    /// The maximum (the manifest's total, or the sum of scenario points).
    pub max_score: f64,
    /// Wall time of the whole submission, in seconds.
    pub duration_secs: f64,
}

/// Which of the suite's scenarios ran when not all of them did: a score
/// out of a part of the lab must say so.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Selection {
    /// The texts given to `--only`.
    pub only: Vec<String>,
    /// How many scenarios the whole suite has.
    pub of: usize,
}

/// Which isolation level was reached, and what it implies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Isolation {
    pub level: IsolationLevel,
    /// Human-readable notes: what was in force, what was not and why.
    pub notes: Vec<String>,
}

/// How isolated a scenario's programs are (in JSON: `namespaces` or `loopback`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Own network, pid and mount namespaces per scenario, virtual links
    /// between hosts.
    Namespaces,
    /// The fallback: shared loopback, free ports, process groups and a
    /// child subreaper.
    Loopback,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BuildReport {
    /// Whether every program the lab needs was built.
    pub ok: bool,
    /// `make` or the compiler command used per program.
    pub method: String,
    /// Per program: built or not, and why.
    pub programs: Vec<ProgramBuild>,
    /// The compiler's / make's combined output (truncated if huge).
    pub output: String,
    pub duration_secs: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProgramBuild {
    pub name: String,
    pub status: BuildStatus,
    pub detail: Option<String>,
}

/// What building one program gave (in JSON: `built`, `missing`, `failed`,
/// `timeout`, `skipped`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    Built,
    /// No source for it in the submission.
    Missing,
    /// The compiler (or make) failed.
    Failed,
    /// The build did not finish in time.
    Timeout,
    /// Not built: none of the scenarios selected to run (`--only`) starts it.
    Skipped,
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioReport {
    pub name: String,
    pub description: Option<String>,
    /// Where the scenario is written (in JSON: `scenarios/lab3/lottery.yaml:12`).
    pub source: SourceRef,
    pub status: ScenarioStatus,
    /// Points earned (unscaled, out of `points`).
    pub earned: f64,
    pub points: f64,
    /// Observe-only scenarios are reported but never scored.
    pub observe: bool,
    pub checks: Vec<CheckReport>,
    /// Why the scenario was skipped or errored, when it was.
    pub reason: Option<String>,
    /// Program outputs and peer transcripts, for `-v` and feedback pages.
    pub transcripts: Vec<Transcript>,
    pub duration_secs: f64,
    pub tags: Vec<String>,
    /// What socklab captured of the scenario's TCP traffic (none where
    /// capture is unavailable, e.g. the loopback fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets: Option<PacketsReport>,
}

/// A scenario's TCP traffic as the feedback shows it: a ladder per
/// connection and where the capture file is. The packets themselves are
/// in the file (pcapng, for Wireshark), not in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PacketsReport {
    /// The capture file, relative to the report's folder (or to the
    /// current directory for a report on standard output), when it was
    /// kept: `packets/lottery_session.pcapng`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What the capture kept and cut, in a sentence or two.
    pub cap: String,
    /// The connections drawn: those packet checks looked at first, then
    /// the others in order.
    pub connections: Vec<Diagram>,
    /// Connections captured but not drawn (the file has them).
    #[serde(default)]
    pub not_drawn: usize,
}

impl PacketsReport {
    /// Ladders a passed scenario with packet checks draws (the capture
    /// file has every connection): the first connections they looked at. A
    /// passed scenario without packet checks draws none.
    pub const PASSED_LADDERS: usize = 1;
    /// Packets drawn per connection of a passed scenario (head and tail).
    pub const PASSED_ROWS: usize = 12;

    /// The shorter drawing a passed scenario keeps: a student who passed
    /// still sees the handshake, the first data and the close, while a
    /// full-marks report stays small. Connections no longer drawn are
    /// counted in `not_drawn`.
    pub fn abridged(mut self, ladders: usize, rows: usize) -> PacketsReport {
        if self.connections.len() > ladders {
            self.not_drawn += self.connections.len() - ladders;
            self.connections.truncate(ladders);
        }
        self.connections = self
            .connections
            .into_iter()
            .map(|diagram| diagram.at_most(rows))
            .collect();
        self
    }

    /// The sentence every rendering ends the drawings with when some
    /// connections are not drawn, e.g. "2 more connections not drawn (the
    /// capture file has them)."
    pub fn not_drawn_note(&self) -> Option<String> {
        let n = self.not_drawn;
        if n == 0 {
            return None;
        }
        let connections = if n == 1 { "connection" } else { "connections" };
        Some(if self.connections.is_empty() {
            let draw = match &self.file {
                Some(file) => {
                    format!("`socklab packets {file}` draws them, or open it in Wireshark")
                }
                None => "the capture file has them".to_string(),
            };
            format!("{n} {connections} not drawn, as the scenario passed: {draw}.")
        } else {
            format!("{n} more {connections} not drawn (the capture file has them).")
        })
    }
}

impl ScenarioReport {
    /// The transcripts a student's feedback (Markdown, HTML, Gradescope)
    /// shows: none for a passed scenario (nothing there to act on; they stay
    /// in `report.json` and `-v`), all of them otherwise.
    pub fn feedback_transcripts(&self) -> &[Transcript] {
        if self.status == ScenarioStatus::Passed {
            &[]
        } else {
            &self.transcripts
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioStatus {
    /// Every scored check passed.
    Passed,
    /// Some scored check failed.
    Failed,
    /// Observe-only: ran and reported.
    Observed,
    /// Not run, for a stated reason (e.g. needs separate hosts, unavailable here).
    Skipped,
    /// socklab itself could not run it (never the student's fault).
    Error,
}

/// The verdict of one check (one step that observes behaviour).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckReport {
    /// What the check is about, e.g. `LotteryClient prints the reply`.
    pub title: String,
    /// Step path within the scenario (`3`, `5.2` inside a repeat) and source line.
    pub step: String,
    pub line: u32,
    pub status: CheckStatus,
    /// Share of the scenario's points (0 for observe-only).
    pub weight: f64,
    /// One-line summary of what happened.
    pub message: String,
    /// What socklab sent or typed just before, if anything (escaped).
    pub sent: Option<String>,
    /// What was expected.
    pub expected: Option<String>,
    /// What actually came back / was seen (escaped).
    pub observed: Option<String>,
    /// The likely mistake, written for a student.
    pub hint: Option<String>,
    pub duration_secs: f64,
    /// For an observe-only check: whether what it looks for happened
    /// (the behaviour held), so that observations can be compared and
    /// counted without parsing their messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// Observe-only check: what happened is in `message`/`observed`.
    Observed,
    /// An earlier failure ended the scenario before this check.
    NotReached,
    /// socklab failed, not the submission.
    Error,
    /// Not carried out here, for the reason in `message` (a packet check
    /// where nothing can be captured); it weighs nothing.
    Skipped,
}

/// Raw material behind the verdicts: what a program printed, what a
/// connection carried, how a program ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    /// e.g. `program cli (LotteryClient, submission) stdout` or `peer p`.
    pub label: String,
    /// What every report shows, bytes escaped where not printable: the
    /// whole text when it is short, else an excerpt (its head and tail,
    /// see [`crate::excerpt`]) and then `whole` says what it was cut from.
    pub text: String,
    /// Bytes that were produced but not kept (output limit).
    pub truncated_bytes: u64,
    /// When `text` is an excerpt: the whole it was cut from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<Whole>,
}

/// What an excerpt was cut from: its size and digest, and (in
/// `report.json` only, under a cap) the whole text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Whole {
    /// Bytes of the whole (the raw bytes for a program's output, the text
    /// otherwise).
    pub bytes: u64,
    /// Their SHA-256, in hex.
    pub sha256: String,
    /// The whole text, escaped like `text`, when it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Transcript {
    /// A transcript of raw bytes (a program's stdout), `escaped` for a
    /// person: shown as an excerpt when long, with the bytes' size and
    /// digest.
    pub fn of_bytes(
        label: String,
        bytes: &[u8],
        escaped: String,
        truncated_bytes: u64,
    ) -> Transcript {
        let excerpt = crate::excerpt::excerpt(&escaped, crate::excerpt::HEAD, crate::excerpt::TAIL);
        let whole = (excerpt.len() < escaped.len()).then(|| Whole {
            bytes: bytes.len() as u64,
            sha256: crate::excerpt::sha256_hex(bytes),
            text: (escaped.len() <= crate::excerpt::WHOLE_TEXT_LIMIT).then_some(escaped),
        });
        Transcript {
            label,
            text: excerpt,
            truncated_bytes,
            whole,
        }
    }

    /// A transcript of a text (a connection's log, a program's end).
    pub fn of_text(label: String, text: String) -> Transcript {
        let excerpt = crate::excerpt::excerpt(&text, crate::excerpt::HEAD, crate::excerpt::TAIL);
        let whole = (excerpt.len() < text.len()).then(|| Whole {
            bytes: text.len() as u64,
            sha256: crate::excerpt::sha256_hex(text.as_bytes()),
            text: (text.len() <= crate::excerpt::WHOLE_TEXT_LIMIT).then_some(text),
        });
        Transcript {
            label,
            text: excerpt,
            truncated_bytes: 0,
            whole,
        }
    }

    /// "(excerpt of 1048576 bytes, sha256 ab12…)", for a report under the
    /// excerpt; `None` when `text` is whole.
    pub fn excerpt_note(&self) -> Option<String> {
        self.whole.as_ref().map(|whole| {
            format!(
                "excerpt: its head and tail; the whole is {} bytes, sha256 {}",
                whole.bytes, whole.sha256
            )
        })
    }
}

impl SubmissionReport {
    /// Keeps at most `limit` bytes of whole transcript texts in all (the
    /// shortest first); the rest keep their excerpt, size and digest.
    ///
    /// A passed scenario keeps none: its excerpts, sizes and digests say
    /// enough, and a full-marks report stays small.
    pub fn cap_whole_texts(&mut self, limit: usize) {
        for scenario in &mut self.scenarios {
            if scenario.status == ScenarioStatus::Passed {
                for whole in scenario
                    .transcripts
                    .iter_mut()
                    .filter_map(|t| t.whole.as_mut())
                {
                    whole.text = None;
                }
            }
        }
        cap_whole_texts(
            self.scenarios
                .iter_mut()
                .flat_map(|s| s.transcripts.iter_mut()),
            limit,
        );
    }

    /// Scored checks that failed, across scenarios.
    pub fn failed_checks(&self) -> impl Iterator<Item = (&ScenarioReport, &CheckReport)> {
        self.scenarios.iter().flat_map(|s| {
            s.checks
                .iter()
                .filter(|c| c.status == CheckStatus::Failed)
                .map(move |c| (s, c))
        })
    }

    /// Whether every scored scenario passed.
    pub fn passed(&self) -> bool {
        self.scenarios
            .iter()
            .all(|s| matches!(s.status, ScenarioStatus::Passed | ScenarioStatus::Observed))
    }
}

impl SubmissionReport {
    /// Scenarios that count towards the score (everything but observe-only).
    pub fn scored_scenarios(&self) -> impl Iterator<Item = &ScenarioReport> {
        self.scenarios.iter().filter(|s| s.is_scored())
    }

    /// The sum of the unscaled points of the scored scenarios.
    pub fn scored_points(&self) -> f64 {
        self.scored_scenarios().map(|s| s.points).sum()
    }

    /// Whether socklab built the submission and the build failed (never
    /// true for an entry that is not a submission).
    pub fn build_failed(&self) -> bool {
        self.not_a_submission.is_none() && self.build.as_ref().is_some_and(|b| !b.ok)
    }

    /// Whether the entry is a submission with a grade (see
    /// [`SubmissionReport::not_a_submission`]).
    pub fn is_submission(&self) -> bool {
        self.not_a_submission.is_none()
    }

    /// Whether socklab itself failed on every scenario, so the report says
    /// nothing about the submission (never true for a report without scenarios).
    pub fn harness_failed(&self) -> bool {
        !self.scenarios.is_empty()
            && self
                .scenarios
                .iter()
                .all(|s| s.status == ScenarioStatus::Error)
    }
}

impl ScenarioReport {
    /// Whether the scenario counts towards the score.
    pub fn is_scored(&self) -> bool {
        !self.observe
    }

    /// Whether a gradebook should show the scenario as passed: it passed, it
    /// was only observed, or it was skipped without costing any points.
    pub fn counts_as_passed(&self) -> bool {
        match self.status {
            ScenarioStatus::Passed | ScenarioStatus::Observed => true,
            ScenarioStatus::Skipped => !self.is_scored() || self.points <= 0.0,
            ScenarioStatus::Failed | ScenarioStatus::Error => false,
        }
    }

    /// Checks an earlier failure kept from running.
    pub fn not_reached(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::NotReached)
            .count()
    }

    /// The scenario file of [`ScenarioReport::source`].
    pub fn source_file(&self) -> &str {
        &self.source.file
    }

    /// The line of [`ScenarioReport::source`], when it names one.
    pub fn source_line(&self) -> Option<u32> {
        (self.source.line > 0).then_some(self.source.line)
    }

    /// Where a check of this scenario is written, e.g. `scenarios/lab3/x.yaml:12`.
    pub fn check_source(&self, check: &CheckReport) -> SourceRef {
        if check.line == 0 {
            self.source.clone()
        } else {
            SourceRef::new(self.source.file.clone(), check.line)
        }
    }
}

/// A place in a scenario file: the file and a line (0 when unknown). In
/// JSON and in reports it is written `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    pub file: String,
    pub line: u32,
}

impl SourceRef {
    pub fn new(file: impl Into<String>, line: u32) -> SourceRef {
        SourceRef {
            file: file.into(),
            line,
        }
    }

    /// Reads `file:line` (or a bare file name, line 0) back.
    pub fn parse(text: &str) -> SourceRef {
        match text.rsplit_once(':') {
            Some((file, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => {
                SourceRef::new(file, line.parse().unwrap_or(0))
            }
            _ => SourceRef::new(text, 0),
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

impl Serialize for SourceRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(SourceRef::parse(&text))
    }
}

impl IsolationLevel {
    /// The word reports show, e.g. `namespaces`.
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationLevel::Namespaces => "namespaces",
            IsolationLevel::Loopback => "loopback",
        }
    }
}

impl BuildStatus {
    /// The word reports show, e.g. `built`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::Built => "built",
            BuildStatus::Missing => "missing",
            BuildStatus::Failed => "failed",
            BuildStatus::Timeout => "timeout",
            BuildStatus::Skipped => "skipped",
        }
    }

    /// Whether the program should have been built and was not.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            BuildStatus::Missing | BuildStatus::Failed | BuildStatus::Timeout
        )
    }
}

impl ScenarioStatus {
    /// The word a report shows for the status, e.g. `passed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioStatus::Passed => "passed",
            ScenarioStatus::Failed => "failed",
            ScenarioStatus::Observed => "observed",
            ScenarioStatus::Skipped => "skipped",
            ScenarioStatus::Error => "error",
        }
    }
}

impl CheckStatus {
    /// The word a report shows for the status, e.g. `not reached`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
            CheckStatus::Observed => "observed",
            CheckStatus::NotReached => "not reached",
            CheckStatus::Error => "error",
            CheckStatus::Skipped => "skipped",
        }
    }
}

/// Keeps at most `limit` bytes of the `transcripts`' whole texts, the
/// shortest first.
fn cap_whole_texts<'a>(transcripts: impl Iterator<Item = &'a mut Transcript>, limit: usize) {
    let mut wholes: Vec<&mut Whole> = transcripts
        .filter_map(|t| t.whole.as_mut())
        .filter(|w| w.text.is_some())
        .collect();
    wholes.sort_by_key(|w| w.text.as_ref().map_or(0, String::len));
    let mut kept = 0;
    for whole in wholes {
        let len = whole.text.as_ref().map_or(0, String::len);
        if kept + len > limit {
            whole.text = None;
        } else {
            kept += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_keep_their_json_words() {
        let source = SourceRef::new("scenarios/lab3/lottery.yaml", 12);
        assert_eq!(
            serde_json::to_string(&source).unwrap(),
            "\"scenarios/lab3/lottery.yaml:12\""
        );
        let back: SourceRef = serde_json::from_str("\"scenarios/lab3/lottery.yaml:12\"").unwrap();
        assert_eq!(back, source);
        assert_eq!(
            SourceRef::parse("c:/x.yaml"),
            SourceRef::new("c:/x.yaml", 0)
        );
        assert_eq!(
            serde_json::to_string(&IsolationLevel::Namespaces).unwrap(),
            "\"namespaces\""
        );
        assert_eq!(
            serde_json::to_string(&BuildStatus::Timeout).unwrap(),
            "\"timeout\""
        );
        let program: ProgramBuild =
            serde_json::from_str(r#"{"name":"a","status":"missing","detail":null}"#).unwrap();
        assert_eq!(program.status, BuildStatus::Missing);
    }

    #[test]
    fn a_long_transcript_is_an_excerpt_with_its_size_and_digest() {
        let bytes = vec![b'x'; 100_000];
        let text = String::from_utf8(bytes.clone()).unwrap();
        let t = Transcript::of_bytes("out".into(), &bytes, text.clone(), 7);
        assert!(t.text.len() < 2_000, "{}", t.text.len());
        let whole = t
            .whole
            .as_ref()
            .expect("an excerpt says what it was cut from");
        assert_eq!(whole.bytes, 100_000);
        assert_eq!(whole.sha256, crate::excerpt::sha256_hex(&bytes));
        // Longer than one transcript may keep whole in report.json.
        assert_eq!(whole.text, None);
        assert!(t.excerpt_note().unwrap().contains("100000 bytes"));
        let short = Transcript::of_text("end".into(), "exit 0".into());
        assert_eq!((short.text.as_str(), short.whole), ("exit 0", None));
    }

    #[test]
    fn whole_texts_are_capped_per_report_shortest_first() {
        let of = |n: usize| Transcript::of_text("t".into(), "y".repeat(n));
        let kept = |ts: &[Transcript]| -> Vec<bool> {
            ts.iter()
                .map(|t| t.whole.as_ref().unwrap().text.is_some())
                .collect()
        };
        let mut transcripts = vec![of(5_000), of(12_000), of(3_000)];
        assert_eq!(kept(&transcripts), [true, true, true]);
        cap_whole_texts(transcripts.iter_mut(), 10_000);
        assert_eq!(kept(&transcripts), [true, false, true]);
        // Size and digest stay when the whole text goes.
        assert_eq!(transcripts[1].whole.as_ref().unwrap().bytes, 12_000);
    }
}
