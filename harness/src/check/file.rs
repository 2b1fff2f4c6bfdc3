//! Checks on files a program wrote: it exists (or not), and it is a
//! byte-exact copy of a fixture.

use super::Judgement;
use super::difference::{cut_at_nul, describe_difference, sha256_hex};
use crate::facts::{FileContent, FileFact};

/// `file: { exists: … }`: a regular file is there (or nothing is). What
/// is not a regular file (a FIFO, a link, a directory) is said as such and
/// never counts as the file.
pub fn exists(want: bool, fact: &FileFact) -> Judgement {
    let shown = &fact.shown;
    let is = match &fact.content {
        FileContent::Absent => format!("{shown} does not exist"),
        FileContent::Refused(what) => format!("{shown} is {what}, not a regular file"),
        FileContent::Unreadable(e) => format!("{shown} cannot be looked at: {e}"),
        FileContent::Present | FileContent::Bytes(_) => format!("{shown} exists"),
    };
    let holds = match &fact.content {
        FileContent::Present | FileContent::Bytes(_) => want,
        FileContent::Absent => !want,
        // Something is there, but not a file the program wrote as asked.
        FileContent::Refused(_) | FileContent::Unreadable(_) => false,
    };
    if holds {
        Judgement::pass(is)
    } else {
        Judgement::fail(is).expected(format!(
            "{shown} {}",
            if want {
                "to exist (a regular file)"
            } else {
                "not to exist"
            }
        ))
    }
}

/// `file: { matches: FIXTURE }`: the file holds exactly the fixture's bytes.
pub fn matches(fixture: &str, want: &[u8], fact: &FileFact) -> Judgement {
    let shown = &fact.shown;
    let expected = || format!("a copy of fixture `{fixture}` ({} bytes)", want.len());
    let got = match &fact.content {
        FileContent::Bytes(got) => got,
        FileContent::Absent => {
            return Judgement::fail(format!("{shown} does not exist")).expected(expected());
        }
        FileContent::Refused(what) => {
            return Judgement::fail(format!(
                "{shown} is {what}: socklab reads only regular files inside the program's folder"
            ))
            .expected(expected());
        }
        FileContent::Unreadable(e) => {
            return Judgement::fail(format!("{shown} cannot be read: {e}")).expected(expected());
        }
        FileContent::Present => {
            return Judgement::harness(format!("{shown}: socklab did not read the file"));
        }
    };
    if got == want {
        Judgement::pass(format!(
            "{shown} matches fixture `{fixture}` (sha256 {})",
            &sha256_hex(got)[..16]
        ))
    } else {
        let judgement = Judgement::fail(format!(
            "{shown} is not a byte-exact copy of fixture `{fixture}`"
        ))
        .expected(format!("{} bytes, sha256 {}", want.len(), sha256_hex(want)))
        .observed(describe_difference(want, got));
        match cut_at_nul(want, got) {
            Some(why) => {
                let mut judgement = judgement.hint(why);
                judgement.message.push_str(": its data is cut at NUL bytes");
                judgement
            }
            None => judgement,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(content: FileContent) -> FileFact {
        FileFact {
            shown: "programs/cli/copy.bin".into(),
            path: "/work/programs/cli/copy.bin".into(),
            content,
        }
    }

    #[test]
    fn existence_is_judged_both_ways() {
        assert!(exists(true, &fact(FileContent::Present)).passed());
        let j = exists(false, &fact(FileContent::Present));
        assert_eq!(j.message, "programs/cli/copy.bin exists");
        assert_eq!(
            j.expected.as_deref(),
            Some("programs/cli/copy.bin not to exist")
        );
    }

    #[test]
    fn a_copy_is_compared_byte_for_byte() {
        let ok = matches("src", b"abc", &fact(FileContent::Bytes(b"abc".to_vec())));
        assert!(
            ok.message
                .starts_with("programs/cli/copy.bin matches fixture `src` (sha256 ")
        );
        let short = matches("src", b"abc", &fact(FileContent::Bytes(b"ab".to_vec())));
        assert_eq!(
            short.message,
            "programs/cli/copy.bin is not a byte-exact copy of fixture `src`"
        );
        assert!(short.observed.unwrap().contains("stops 1 bytes early"));
        let missing = matches("src", b"abc", &fact(FileContent::Absent));
        assert_eq!(missing.message, "programs/cli/copy.bin does not exist");
        assert_eq!(
            missing.expected.as_deref(),
            Some("a copy of fixture `src` (3 bytes)")
        );
    }

    #[test]
    fn what_is_not_a_regular_file_is_named_and_never_passes() {
        let fifo = || fact(FileContent::Refused("a FIFO (named pipe)".into()));
        let j = matches("src", b"abc", &fifo());
        assert!(!j.passed());
        assert_eq!(
            j.message,
            "programs/cli/copy.bin is a FIFO (named pipe): socklab reads only regular files inside the program's folder"
        );
        assert!(j.observed.is_none(), "nothing of it is shown");
        let link = fact(FileContent::Refused(
            "a link to outside the program's folder".into(),
        ));
        assert!(!exists(true, &link).passed());
        assert!(!exists(false, &link).passed(), "a link is something");
        assert_eq!(
            exists(true, &link).message,
            "programs/cli/copy.bin is a link to outside the program's folder, not a regular file"
        );
        assert!(exists(false, &fact(FileContent::Absent)).passed());
        assert!(!exists(true, &fact(FileContent::Absent)).passed());
    }
}
