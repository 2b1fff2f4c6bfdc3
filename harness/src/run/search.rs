//! Finding what an `expect` waits for in a stream that grows, without
//! rescanning bytes already searched.
//!
//! A program's output arrives in chunks; an `expect` must find its text or
//! regex as soon as a chunk completes it, including a match that straddles
//! two chunks. Rescanning everything kept on every chunk costs O(n²) for a
//! program that prints without end. A [`StreamSearch`] remembers how far
//! it got and looks only at the new bytes:
//!
//! - a text is searched from `len - 1` bytes before the new ones (the
//!   longest look-back a straddling match needs), with `memchr`'s `memmem`;
//! - a regex runs a lazy DFA (`regex-automata`'s `hybrid`) over the new
//!   bytes from the state the old ones left it in: the DFA says exactly
//!   when a match has become possible (no look-back bound to guess, so a
//!   long `[0-9]+` match straddling many chunks is found as surely as a
//!   short one); only then is the regex itself run once over the stream to
//!   get the leftmost match and its named groups.
//!
//! Either way the answer is the one a search of the whole stream would
//! give the first time it held a match (the tests check that against a
//! whole-buffer search, with property tests over random chunkings). Where
//! the lazy DFA cannot be used (a Unicode word boundary meeting a
//! non-ASCII byte, a pathological pattern that exhausts its cache), the
//! search falls back to the whole-stream regex on every growth, as it
//! always did.

use memchr::memmem;
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Input, nfa::thompson, util::syntax};

use crate::check::printed::Needle;

/// Where an `expect` found its pattern, relative to where it began to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The end of the match.
    pub end: usize,
    /// The regex's named groups that matched (name, value), in order.
    pub values: Vec<(String, String)>,
}

/// An incremental search for one needle in one stream (see the module).
pub struct StreamSearch {
    needle: Searcher,
    /// Bytes of the stream already searched without a match.
    scanned: usize,
}

enum Searcher {
    Text(Box<memmem::Finder<'static>>),
    Regex {
        regex: regex::bytes::Regex,
        /// The DFA, its cache and its state after `scanned` bytes; `None`
        /// once it could not be used (then every growth rescans).
        dfa: Option<Box<(DFA, Cache, LazyStateID)>>,
    },
}

impl StreamSearch {
    pub fn new(needle: &Needle) -> StreamSearch {
        let needle = match needle {
            Needle::Text(text) => Searcher::Text(Box::new(memmem::Finder::new(text).into_owned())),
            Needle::Regex(regex) => Searcher::Regex {
                regex: regex.clone(),
                dfa: lazy_dfa(regex).map(Box::new),
            },
        };
        StreamSearch { needle, scanned: 0 }
    }

    /// Looks for the needle in `stream` (every byte from where the search
    /// began, the ones searched already first). Returns the match once the
    /// stream holds one; `None` until then.
    pub fn advance(&mut self, stream: &[u8]) -> Option<Found> {
        if stream.len() < self.scanned {
            // Never happens to a stream that only grows; start over.
            self.scanned = 0;
        }
        let found = match &mut self.needle {
            Searcher::Text(finder) => {
                let needle = finder.needle().len();
                if needle == 0 {
                    return Some(Found {
                        end: 0,
                        values: Vec::new(),
                    });
                }
                let from = self.scanned.saturating_sub(needle - 1);
                finder.find(&stream[from..]).map(|at| Found {
                    end: from + at + needle,
                    values: Vec::new(),
                })
            }
            Searcher::Regex { regex, dfa } => {
                let possible = match dfa {
                    Some(lazy) => {
                        let (automaton, cache, state) = &mut **lazy;
                        match step(automaton, cache, state, &stream[self.scanned..]) {
                            Ok(possible) => possible,
                            Err(()) => {
                                *dfa = None;
                                true
                            }
                        }
                    }
                    None => true,
                };
                if possible {
                    search_whole(regex, stream)
                } else {
                    None
                }
            }
        };
        self.scanned = stream.len();
        found
    }
}

/// The leftmost match of `regex` in `stream`, with its named groups.
fn search_whole(regex: &regex::bytes::Regex, stream: &[u8]) -> Option<Found> {
    regex.captures(stream).map(|caps| Found {
        end: caps.get(0).map_or(0, |m| m.end()),
        values: crate::run::state::named_values(regex, &caps),
    })
}

/// A lazy DFA for `regex` with the same syntax as `regex::bytes` (Unicode
/// classes, matching any bytes), at its start state; `None` if it cannot be
/// built.
fn lazy_dfa(regex: &regex::bytes::Regex) -> Option<(DFA, Cache, LazyStateID)> {
    let dfa = DFA::builder()
        .configure(DFA::config().unicode_word_boundary(true))
        .syntax(syntax::Config::new().utf8(false))
        .thompson(thompson::Config::new().utf8(false))
        .build(regex.as_str())
        .ok()?;
    let mut cache = dfa.create_cache();
    let start = dfa.start_state_forward(&mut cache, &Input::new(&[])).ok()?;
    Some((dfa, cache, start))
}

/// Feeds `new` bytes to the DFA; true when a match ends within them or at
/// their end (DFA matches show one byte late, and at the end only through
/// the end-of-input transition, which is looked at but not taken: more
/// bytes may come). `Err` when the DFA gave up (quit byte, cache).
fn step(dfa: &DFA, cache: &mut Cache, state: &mut LazyStateID, new: &[u8]) -> Result<bool, ()> {
    for &byte in new {
        *state = dfa.next_state(cache, *state, byte).map_err(drop)?;
        if state.is_quit() {
            return Err(());
        }
        if state.is_match() {
            return Ok(true);
        }
        if state.is_dead() {
            return Ok(false);
        }
    }
    let end = dfa.next_eoi_state(cache, *state).map_err(drop)?;
    if end.is_quit() {
        return Err(());
    }
    Ok(end.is_match())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `stream` in the given chunk sizes; returns the match and the
    /// number of bytes the stream held when it was found.
    fn chunked(needle: &Needle, stream: &[u8], sizes: &[usize]) -> Option<(Found, usize)> {
        let mut search = StreamSearch::new(needle);
        let mut held = 0;
        let mut sizes = sizes.iter().cycle();
        while held < stream.len() {
            held = (held + sizes.next().copied().unwrap_or(1).max(1)).min(stream.len());
            if let Some(found) = search.advance(&stream[..held]) {
                return Some((found, held));
            }
        }
        None
    }

    /// The same, the slow way: the whole stream searched at every growth.
    fn whole(needle: &Needle, stream: &[u8], sizes: &[usize]) -> Option<(Found, usize)> {
        let mut held = 0;
        let mut sizes = sizes.iter().cycle();
        while held < stream.len() {
            held = (held + sizes.next().copied().unwrap_or(1).max(1)).min(stream.len());
            let hay = &stream[..held];
            let found = match needle {
                Needle::Text(text) => memmem::find(hay, text).map(|at| Found {
                    end: at + text.len(),
                    values: Vec::new(),
                }),
                Needle::Regex(re) => search_whole(re, hay),
            };
            if let Some(found) = found {
                return Some((found, held));
            }
        }
        None
    }

    fn regex(source: &str) -> Needle {
        Needle::Regex(regex::bytes::Regex::new(source).unwrap())
    }

    #[test]
    fn a_match_straddling_chunks_is_found_when_it_completes() {
        let stream = b"debug line\nNew number generated: 1234567\nmore";
        let needle = regex(r"New number generated: (?P<n>[0-9]+)\n");
        let (found, held) = chunked(&needle, stream, &[3]).unwrap();
        assert_eq!(found.values, [("n".to_string(), "1234567".to_string())]);
        assert_eq!(found.end, 41);
        assert_eq!(held, 42, "found with the chunk that held the newline");
        let text = Needle::Text(b"generated".to_vec());
        assert_eq!(chunked(&text, stream, &[1]).unwrap().0.end, 31);
    }

    #[test]
    fn a_long_unbounded_match_is_found_across_many_chunks() {
        let mut stream = b"n=".to_vec();
        stream.extend(std::iter::repeat_n(b'7', 100_000));
        stream.extend(b";");
        let needle = regex(r"n=[0-9]+;");
        let (found, held) = chunked(&needle, &stream, &[4096]).unwrap();
        assert_eq!((found.end, held), (stream.len(), stream.len()));
    }

    #[test]
    fn anchors_hold_at_the_start_of_the_stream_only() {
        let needle = regex(r"^ready");
        assert!(chunked(&needle, b"not ready", &[2]).is_none());
        assert!(chunked(&needle, b"ready", &[2]).is_some());
        let end = regex(r"done$");
        assert_eq!(chunked(&end, b"xx done", &[7]).unwrap().0.end, 7);
    }

    #[test]
    fn searching_a_flood_costs_the_new_bytes_only() {
        // 4 MiB without a match, in 16 KiB chunks: each chunk is looked at
        // once (the old whole-buffer search took minutes here).
        let chunk = b"debug: waiting for a client, round 123456789\n".repeat(372);
        let needle = regex(r"New number generated: (?P<n>[0-9]+)\n");
        let mut search = StreamSearch::new(&needle);
        let mut stream = Vec::new();
        let started = std::time::Instant::now();
        for _ in 0..256 {
            stream.extend_from_slice(&chunk);
            assert!(search.advance(&stream).is_none());
        }
        // A figure, printed; the assertion is only on the outcome.
        eprintln!(
            "searched {} MiB incrementally in {:?}",
            stream.len() >> 20,
            started.elapsed()
        );
    }

    fn alphabet() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'b'),
                Just(b'1'),
                Just(b'\n'),
                Just(b' '),
                Just(0xffu8)
            ],
            0..300,
        )
    }

    proptest! {
        #[test]
        fn text_search_agrees_with_a_whole_buffer_search(
            stream in alphabet(),
            needle in prop::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'\n')], 1..5),
            sizes in prop::collection::vec(1usize..40, 1..8),
        ) {
            let needle = Needle::Text(needle);
            prop_assert_eq!(chunked(&needle, &stream, &sizes), whole(&needle, &stream, &sizes));
        }

        #[test]
        fn regex_search_agrees_with_a_whole_buffer_search(
            stream in alphabet(),
            pattern in prop_oneof![
                Just(r"a+b"), Just(r"(?P<n>1+)\n"), Just(r"^a"), Just(r"b$"),
                Just(r"\bab\b"), Just(r"(?m)^1+$"), Just(r"a.{0,5}b"), Just(r"(?-u:\xff)a"),
                Just(r"a[^\n]*1\n"),
            ],
            sizes in prop::collection::vec(1usize..40, 1..8),
        ) {
            let needle = regex(pattern);
            prop_assert_eq!(chunked(&needle, &stream, &sizes), whole(&needle, &stream, &sizes));
        }
    }
}
