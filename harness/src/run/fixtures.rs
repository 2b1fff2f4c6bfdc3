//! Fixture files: deterministic bytes made from a scenario's `fixtures:`.
//!
//! The same seed gives the same bytes on every machine, so a failure can be
//! reproduced and a digest compared.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use socklab_scenario::Fixture;

pub fn bytes(fixture: &Fixture) -> Vec<u8> {
    match fixture {
        Fixture::Bytes(b) => b.clone(),
        Fixture::Zeros(n) => vec![0; *n as usize],
        Fixture::Random { size, seed } => {
            let mut out = vec![0; *size as usize];
            ChaCha8Rng::seed_from_u64(*seed).fill_bytes(&mut out);
            out
        }
        Fixture::Lines { count, width, seed } => {
            const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 ";
            let mut rng = ChaCha8Rng::seed_from_u64(*seed);
            let mut out = Vec::with_capacity((*count * (*width + 1)) as usize);
            for _ in 0..*count {
                for _ in 0..*width {
                    out.push(ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()]);
                }
                out.push(b'\n');
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_fixtures_are_reproducible() {
        let f = Fixture::Random {
            size: 1000,
            seed: 7,
        };
        assert_eq!(bytes(&f), bytes(&f));
        assert_ne!(
            bytes(&f),
            bytes(&Fixture::Random {
                size: 1000,
                seed: 8
            })
        );
        let lines = bytes(&Fixture::Lines {
            count: 3,
            width: 4,
            seed: 1,
        });
        assert_eq!(lines.len(), 15);
        assert_eq!(lines.iter().filter(|b| **b == b'\n').count(), 3);
    }
}
