//! `fixtures:` of a scenario: files made before it runs, from text, hex,
//! random or zero bytes, or lines of random text, checked and sized here.
//!
//! Layer: below [`crate::validate`]; above raw, model and diagnostics.

use crate::diagnostic::Reporter;
use crate::model::Fixture;
use crate::raw::RawFixture;
use crate::spanned::S;
use crate::syntax;

/// Largest `text`/`hex` fixture made with `times` (bytes are held in memory).
pub const MAX_FIXTURE_BYTES: u64 = 64 * 1024 * 1024;

pub fn validate(name: &str, spec: &S<RawFixture>, r: &mut Reporter) -> Option<Fixture> {
    let f = spec.value();
    let kinds = [
        f.text.is_some(),
        f.hex.is_some(),
        f.random.is_some(),
        f.zeros.is_some(),
        f.lines.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        r.error(
            spec.loc(),
            format!("fixture `{name}` must have exactly one of text, hex, random, zeros, lines"),
            Some("e.g. `big: { random: 1048576, seed: 7 }`".into()),
        );
        return None;
    }
    let seed = f.seed.unwrap_or(0);
    let times = match &f.times {
        None => 1,
        Some(t) if f.text.is_none() && f.hex.is_none() => {
            r.error(
                t.loc(),
                format!("fixture `{name}`: `times` only applies to `text` and `hex`"),
                Some("`random`, `zeros` and `lines` already take a size".into()),
            );
            return None;
        }
        Some(t) if *t.value() == 0 => {
            r.error(
                t.loc(),
                format!("fixture `{name}`: `times: 0` makes an empty file"),
                Some("write 1 or more, or use `text: \"\"` for an empty file".into()),
            );
            return None;
        }
        Some(t) => *t.value(),
    };
    let repeated = |bytes: Vec<u8>, r: &mut Reporter| -> Option<Fixture> {
        let size = (bytes.len() as u64).saturating_mul(times);
        if size > MAX_FIXTURE_BYTES {
            r.error(
                f.times.as_ref().map(|t| t.loc()).unwrap_or(spec.loc()),
                format!("fixture `{name}` would be {size} bytes; at most {MAX_FIXTURE_BYTES}"),
                Some("repeat fewer times".into()),
            );
            return None;
        }
        Some(Fixture::Bytes(bytes.repeat(times as usize)))
    };
    if let Some(text) = &f.text {
        return repeated(text.as_bytes().to_vec(), r);
    }
    if let Some(hex) = &f.hex {
        return match syntax::parse_hex(hex) {
            Ok(bytes) => repeated(bytes, r),
            Err(e) => {
                r.error(
                    spec.loc(),
                    format!("fixture `{name}`: {e}"),
                    Some("hex bytes look like `00 01 ff` or `0001ff`".into()),
                );
                None
            }
        };
    }
    if let Some(size) = &f.random {
        return Some(Fixture::Random {
            size: *size.value(),
            seed,
        });
    }
    if let Some(size) = &f.zeros {
        return Some(Fixture::Zeros(*size.value()));
    }
    let count = *f.lines.as_ref()?.value();
    let width = f.width.as_ref().map(|w| *w.value()).unwrap_or(60);
    if width == 0 {
        r.error(
            spec.loc(),
            format!("fixture `{name}`: width must be at least 1"),
            None,
        );
        return None;
    }
    Some(Fixture::Lines { count, width, seed })
}
