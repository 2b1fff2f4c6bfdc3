//! Checks on files a program wrote: it exists (or not), and it is a
//! byte-exact copy of a fixture.

use super::Judgement;
use super::difference::{cut_at_nul, describe_difference, sha256_hex};
use crate::facts::{FileContent, FileFact};

/// `file: { exists: … }`.
pub fn exists(want: bool, fact: &FileFact) -> Judgement {
    let shown = &fact.shown;
    let exists = fact.content.exists();
    let is = format!(
        "{shown} {}",
        if exists { "exists" } else { "does not exist" }
    );
    if exists == want {
        Judgement::pass(is)
    } else {
        Judgement::fail(is).expected(format!(
            "{shown} {}",
            if want { "to exist" } else { "not to exist" }
        ))
    }
}

/// `file: { matches: FIXTURE }`: the file holds exactly the fixture's bytes.
pub fn matches(fixture: &str, want: &[u8], fact: &FileFact) -> Judgement {
    let shown = &fact.shown;
    let got = match &fact.content {
        FileContent::Bytes(got) => got,
        FileContent::Unreadable(e) => {
            return Judgement::fail(format!("{shown} cannot be read: {e}")).expected(format!(
                "a copy of fixture `{fixture}` ({} bytes)",
                want.len()
            ));
        }
        FileContent::Present | FileContent::Absent => {
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
        let missing = matches(
            "src",
            b"abc",
            &fact(FileContent::Unreadable(
                "No such file or directory (os error 2)".into(),
            )),
        );
        assert_eq!(
            missing.message,
            "programs/cli/copy.bin cannot be read: No such file or directory (os error 2)"
        );
        assert_eq!(
            missing.expected.as_deref(),
            Some("a copy of fixture `src` (3 bytes)")
        );
    }
}
