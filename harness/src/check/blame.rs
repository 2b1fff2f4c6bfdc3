//! Blame: which student program's behaviour made a check fail, and what it
//! did, in words.
//!
//! A failed check is often about a program that is not at fault: the
//! reference client cannot exit because the student's server never closes,
//! socklab's peer gets no reply because the student's server died of
//! SIGPIPE. The runner gathers a [`Conduct`] fact about the student's
//! program (how it ended, or what the kernel shows it doing, the CPU it
//! burns, what it printed and sent); [`culprit`] turns it into the phrase
//! that names the program and says what it did, with the hint for *that*
//! program. Pure: unit-tested without processes.

use std::time::Duration;

use super::Judgement;
use crate::facts::{Conduct, ProgramFact};

/// What to do about a SIGPIPE, for any program it killed.
pub const SIGPIPE_HINT: &str = "SIGPIPE kills a program that writes to a connection the other side has closed. Check read()'s result first (0 means the other side left: stop writing and close), and check write()'s result; to get an EPIPE error from write() instead of dying, ignore the signal (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL.";

/// What to do about a program that keeps a connection open.
pub const CLOSE_HINT: &str = "The other program waits for yours to close the connection (its read() returns 0 only then): close() the connected socket when you are done with it.";

/// What to do about output without end.
pub const FLOOD_HINT: &str = "A loop that ignores the result of scanf()/fgets()/read() repeats its last action without end once the input ends (they return EOF, NULL or 0): leave the loop then.";

/// A busy program uses at least this share of a CPU while socklab looks.
const BUSY_SHARE: f64 = 0.25;

/// The program at fault and what it did, as a phrase after its label
/// ("was killed by SIGPIPE: it wrote to a connection the other side had
/// closed"), with the hint for it when the facts call for one.
pub fn culprit(conduct: &Conduct) -> (String, Option<&'static str>) {
    let program = &conduct.program;
    if let Some(exit) = program.exit {
        if exit.signal_name() == Some("SIGPIPE") {
            return (
                "was killed by SIGPIPE: it wrote to a connection the other side had closed"
                    .to_string(),
                Some(SIGPIPE_HINT),
            );
        }
        return (program.state(), None);
    }
    let mut did = Vec::new();
    let mut hint = None;
    if let Some((cpu, window)) = conduct.busy
        && !window.is_zero()
        && cpu.as_secs_f64() / window.as_secs_f64() >= BUSY_SHARE
    {
        did.push(format!(
            "keeps running flat out ({} of CPU in {})",
            seconds(cpu),
            seconds(window)
        ));
        hint = Some(super::process::BUSY_LOOP_HINT);
    }
    if conduct.printed_dropped > 0 {
        did.push(format!(
            "printed {} without end (more than the output limit)",
            size(conduct.printed + conduct.printed_dropped)
        ));
        hint = Some(FLOOD_HINT);
    }
    if let Some(sent) = conduct.sent.filter(|n| *n >= 64 * 1024) {
        let what = conduct
            .sent_kind
            .as_deref()
            .map(|k| format!(" of {k}"))
            .unwrap_or_default();
        did.push(format!("sent {}{what}", size(sent)));
    }
    if did.is_empty() {
        let doing = conduct
            .doing
            .clone()
            .unwrap_or_else(|| "is still running".to_string());
        if conduct.holds_connection {
            return (
                format!("kept its connection open: it {doing}"),
                Some(CLOSE_HINT),
            );
        }
        return (doing, None);
    }
    (did.join(", "), hint)
}

/// A failed judgement about `judged` (a reference program, socklab's peer,
/// a file) with the student program at fault named and what it did, and
/// the hint for that program: the one its conduct calls for, else the
/// judgement's, else for a check on socklab's side the step's own
/// (`step_hint`), else which program to look at.
pub fn blame(mut judgement: Judgement, conduct: &Conduct, step_hint: Option<&str>) -> Judgement {
    let (did, hint) = culprit(conduct);
    judgement.message = format!("{}: {} {did}", judgement.message, conduct.program.label);
    // The step's hint fits a check on socklab's own side (a peer, a file);
    // on a reference program it was written for the student's program that
    // a matrix may put there instead.
    let step_hint = step_hint.filter(|_| judgement.program.is_none());
    judgement.hint = hint
        .map(str::to_string)
        .or(judgement.hint)
        .or(step_hint.map(str::to_string));
    if judgement
        .program
        .as_ref()
        .is_none_or(|p| !p.is_submission())
    {
        judgement.hint = Some(judgement.hint.unwrap_or_else(|| look_at(&conduct.program)));
    }
    judgement
}

/// The hint when nothing more precise is known: which program to look at.
fn look_at(program: &ProgramFact) -> String {
    format!(
        "socklab's side of this step is a correct program; the behaviour to look at is that of {}.",
        program.label
    )
}

/// What the last bytes a program sent look like, when that says something
/// about the defect: file segments whose `len` is -1 (a failed `read()`'s
/// result sent as a length), or NUL bytes only.
pub fn kind_of(bytes: &[u8]) -> Option<String> {
    const SEGMENT: usize = 260;
    if bytes.len() >= SEGMENT && bytes.len().is_multiple_of(SEGMENT) {
        let negative = bytes
            .chunks(SEGMENT)
            .filter(|s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]) < 0)
            .count();
        if negative == bytes.len() / SEGMENT {
            return Some("260-byte segments with len = -1".to_string());
        }
    }
    (!bytes.is_empty() && bytes.iter().all(|b| *b == 0)).then(|| "NUL bytes".to_string())
}

/// "1.2 s", or "40 ms" under a second (a short look at a program's CPU use
/// is a tenth of a second).
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// "3.1 MB", "40 KB", "120 bytes".
pub fn size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else if bytes >= 1_000 {
        format!("{} KB", bytes / 1_000)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ExitInfo, ProgramOrigin};

    fn student(exit: Option<ExitInfo>) -> Conduct {
        Conduct {
            program: ProgramFact {
                name: "srv".into(),
                label: "daytimetcpsrv (submission)".into(),
                origin: ProgramOrigin::Submission,
                exit,
                details: None,
            },
            doing: Some("is asleep in accept() on fd 3".into()),
            busy: Some((Duration::ZERO, Duration::from_millis(200))),
            holds_connection: true,
            sent: Some(26),
            sent_kind: None,
            printed: 0,
            printed_dropped: 0,
        }
    }

    #[test]
    fn a_server_that_never_closes_is_named_with_the_close_hint() {
        let conduct = student(None);
        let (did, hint) = culprit(&conduct);
        assert_eq!(
            did,
            "kept its connection open: it is asleep in accept() on fd 3"
        );
        assert_eq!(hint, Some(CLOSE_HINT));
        let failed = Judgement::fail("daytime-client (reference) did not exit in time");
        let blamed = blame(failed, &conduct, Some("the step's hint"));
        assert_eq!(
            blamed.message,
            "daytime-client (reference) did not exit in time: daytimetcpsrv (submission) kept its connection open: it is asleep in accept() on fd 3"
        );
        assert_eq!(blamed.hint.as_deref(), Some(CLOSE_HINT));
    }

    #[test]
    fn sigpipe_is_named_and_explained() {
        let killed = student(Some(ExitInfo {
            code: None,
            signal: Some(libc::SIGPIPE),
            core_dumped: false,
            output_limit: None,
        }));
        let (did, hint) = culprit(&killed);
        assert_eq!(
            did,
            "was killed by SIGPIPE: it wrote to a connection the other side had closed"
        );
        assert!(hint.unwrap().contains("MSG_NOSIGNAL"));
    }

    #[test]
    fn a_spinning_flooding_program_says_how_much() {
        let mut busy = student(None);
        busy.busy = Some((Duration::from_millis(190), Duration::from_millis(200)));
        busy.printed = 1 << 20;
        busy.printed_dropped = 2_000_000;
        busy.sent = Some(3_120_000);
        busy.sent_kind = kind_of(&[0u8; 520]);
        let (did, hint) = culprit(&busy);
        assert_eq!(
            did,
            "keeps running flat out (190 ms of CPU in 200 ms), printed 3.0 MB without end (more than the output limit), sent 3.1 MB of NUL bytes"
        );
        assert_eq!(hint, Some(FLOOD_HINT));
    }

    #[test]
    fn segments_of_a_failed_read_are_recognised() {
        let mut segment = vec![0u8; 260];
        segment[..4].copy_from_slice(&(-1i32).to_ne_bytes());
        let two = [segment.clone(), segment].concat();
        assert_eq!(
            kind_of(&two).as_deref(),
            Some("260-byte segments with len = -1")
        );
        assert_eq!(kind_of(b"hello"), None);
    }

    #[test]
    fn a_reference_judged_without_facts_points_at_the_student() {
        let mut asleep = student(None);
        asleep.holds_connection = false;
        let failed = Judgement::fail("ft-client (reference) exited with code 1");
        let blamed = blame(failed.clone(), &asleep, None);
        assert!(
            blamed
                .hint
                .unwrap()
                .ends_with("that of daytimetcpsrv (submission).")
        );
        // A hint the step wrote for this check says more than "look at".
        let blamed = blame(failed, &asleep, Some("Read all 4 bytes of a command."));
        assert_eq!(
            blamed.hint.as_deref(),
            Some("Read all 4 bytes of a command.")
        );
    }
}
