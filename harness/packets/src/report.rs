//! `socklab packets FILE [--lab PROTOCOL]`: a student's own capture read,
//! drawn and judged, as one [`Report`] and its terminal text.
//!
//! The CLI calls [`judge_capture_file`] and prints [`render_text`]; the
//! exit status follows [`Report::passed`] (a read error is a usage error).
//! The report is serde-serialisable for `--format json`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checks::{Outcome, Verdict};
use crate::conversation::Conversation;
use crate::error::ReadError;
use crate::file::{self, FileFormat};
use crate::judge::{self, Judgment, Protocol};
use crate::ladder::Ladder;
use crate::link::LinkType;
use crate::segment::{self, Skipped};
use crate::show;

/// How many connections the text report draws when no protocol is given.
const MAX_LADDERS: usize = 10;

/// What a capture file holds and, when asked, whether it shows a session.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub path: PathBuf,
    pub format: FileFormat,
    pub link_types: Vec<LinkType>,
    /// Frames in the file.
    pub frames: usize,
    /// Frames holding a TCP segment.
    pub tcp_segments: usize,
    /// Frames without one, by reason.
    pub skipped: Skipped,
    pub conversation: Conversation,
    pub judgment: Option<Judgment>,
}

impl Report {
    /// Whether the capture shows what was asked: a whole session when a
    /// protocol was given; always true otherwise.
    pub fn passed(&self) -> bool {
        self.judgment.as_ref().is_none_or(|j| j.complete)
    }

    /// Every verdict of the judgment.
    pub fn verdicts(&self) -> impl Iterator<Item = &Verdict> {
        self.judgment
            .iter()
            .flat_map(|j| j.sessions.iter())
            .flat_map(|s| s.steps.iter())
    }
}

/// Read a pcap or pcapng file, build its conversation and, with a
/// protocol, judge it.
pub fn judge_capture_file(path: &Path, protocol: Option<Protocol>) -> Result<Report, ReadError> {
    let capture = file::read(path)?;
    let (segments, skipped) = segment::extract(&capture);
    let tcp_segments = segments.len();
    let conversation = Conversation::from_segments(segments);
    let judgment = protocol.map(|p| judge::judge(&conversation, p));
    Ok(Report {
        path: path.to_path_buf(),
        format: capture.format,
        link_types: capture.link_types(),
        frames: capture.frames.len(),
        tcp_segments,
        skipped,
        conversation,
        judgment,
    })
}

/// The report as terminal text: what the file holds, a ladder per
/// connection (the judged ones when a protocol was given), the verdicts.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let links: Vec<String> = report.link_types.iter().map(|l| l.name()).collect();
    let _ = writeln!(
        out,
        "{}: {}, link type {}, {}, {} in {}",
        report.path.display(),
        report.format.name(),
        links.join(" + "),
        show::count(report.frames, "frame"),
        show::count(report.tcp_segments, "TCP segment"),
        show::count(report.conversation.connections.len(), "connection")
    );
    let skipped = &report.skipped;
    if skipped.total() > 0 {
        let _ = writeln!(
            out,
            "  not TCP: {} frames ({} other IP protocols, {} not IP, {} IP fragments, {} malformed)",
            skipped.total(),
            skipped.other_protocol,
            skipped.not_ip,
            skipped.fragments,
            skipped.malformed
        );
    }
    if report.conversation.duplicates_removed > 0 {
        let _ = writeln!(
            out,
            "  {} duplicate packets removed (the same packet captured twice)",
            report.conversation.duplicates_removed
        );
    }
    let verdicts: Vec<&Verdict> = report.verdicts().collect();
    let drawn: Vec<usize> = match &report.judgment {
        Some(judgment) => judgment.sessions.iter().map(|s| s.connection).collect(),
        None => report
            .conversation
            .connections
            .iter()
            .take(MAX_LADDERS)
            .map(|c| c.id)
            .collect(),
    };
    for id in &drawn {
        let Some(connection) = report.conversation.connection(*id) else {
            continue;
        };
        let _ = writeln!(
            out,
            "\nconnection {}: client {} → server {} ({} packets over {} s)",
            connection.id,
            connection.client,
            connection.server,
            connection.events.len(),
            show::seconds(connection.duration())
        );
        if !connection.syn_seen {
            let _ = writeln!(
                out,
                "  (no SYN captured: client and server are guessed from the ports)"
            );
        }
        out.push_str(
            &Ladder::new(connection)
                .mark_failures(verdicts.iter().copied())
                .text(),
        );
    }
    let not_drawn = report.conversation.connections.len() - drawn.len();
    if not_drawn > 0 {
        let _ = writeln!(out, "\n({not_drawn} more connections not drawn)");
    }
    if let Some(judgment) = &report.judgment {
        out.push('\n');
        out.push_str(&render_judgment(judgment));
    }
    out
}

/// A judgment as text: the summary, then each judged connection's steps.
pub fn render_judgment(judgment: &Judgment) -> String {
    let mut out = String::new();
    let verdict_word = if judgment.complete {
        "COMPLETE"
    } else {
        "INCOMPLETE"
    };
    let _ = writeln!(out, "{} session: {verdict_word}", judgment.protocol);
    let _ = writeln!(out, "  {}", judgment.summary);
    for session in &judgment.sessions {
        let _ = writeln!(out, "\n  connection {}:", session.connection);
        for step in &session.steps {
            out.push_str(&render_verdict(step, "    "));
        }
    }
    if !judgment.other_connections.is_empty() {
        let ids: Vec<String> = judgment
            .other_connections
            .iter()
            .map(|i| i.to_string())
            .collect();
        let _ = writeln!(
            out,
            "\n  not judged (they do not look like {}): connections {}",
            judgment.protocol,
            ids.join(", ")
        );
    }
    out
}

/// One verdict: a mark and the title, then for a failure what was
/// expected, what the capture shows and the hint.
pub fn render_verdict(verdict: &Verdict, indent: &str) -> String {
    let mut out = String::new();
    let mark = match verdict.outcome {
        Outcome::Passed => "✓",
        Outcome::Failed => "✗",
        Outcome::Inconclusive => "?",
    };
    let _ = writeln!(out, "{indent}{mark} {}", verdict.title);
    match verdict.outcome {
        Outcome::Passed => {
            let _ = writeln!(out, "{indent}    {}", verdict.observed);
        }
        Outcome::Failed | Outcome::Inconclusive => {
            let _ = writeln!(out, "{indent}    expected:      {}", verdict.expected);
            let _ = writeln!(out, "{indent}    capture shows: {}", verdict.observed);
            if let Some(hint) = &verdict.hint {
                let _ = writeln!(out, "{indent}    hint:          {hint}");
            }
        }
    }
    out
}
