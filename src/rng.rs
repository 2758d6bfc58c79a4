//! The only place random streams are derived (MODEL.md §7).
//!
//! A run's key is SHA-256("clustersim/run" ‖ master seed ‖ run index), so runs
//! are independent of each other and of how they are scheduled. Within a run,
//! each purpose gets its own ChaCha8 stream, selected by ChaCha's 64-bit
//! stream number: `purpose (8 bits) ‖ step (24 bits) ‖ site (32 bits)`.
//! Purposes that depend on a step (entry, relocation, the local phases) get a
//! fresh stream every step, so that a scenario that removes more firms in one
//! phase does not shift the draws of the next step's entrants (common random
//! numbers across scenarios, see docs/model.md).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The random generator used everywhere in the model.
pub type Stream = ChaCha8Rng;

/// What a stream is used for; each has its own family of streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Purpose {
    /// The initial world (clusters, residential areas, initial firms).
    Init = 1,
    /// Establish and budget phases (global).
    Global = 2,
    /// Entry of new firms in a step (global).
    Entry = 3,
    /// Cooperation within one site (local).
    Cooperation = 4,
    /// Cross-cluster `SocialNetwork` links (global sub-phase).
    CrossLinks = 5,
    /// Growth, labour and exit within one site (local).
    Growth = 6,
    /// Relocation (global).
    Relocation = 7,
    /// Accounts (global).
    Accounts = 8,
    /// One initial firm's draws and warm-up (MODEL.md §5), site = the firm's
    /// index, so that incumbents can be drawn in parallel.
    SpinUp = 9,
    /// One entrant's choice noise (MODEL.md §4.3), site = the entrant's
    /// position in the step's entrant order.
    Choice = 10,
}

/// The streams of one run: derive any (purpose, step, site) stream from it.
///
/// Keeps the run's generator keyed and unused (stream 0, word 0): a stream
/// is a copy of it with its stream number set, the same generator as one
/// built from the key, without redoing the key's setup each time (a run
/// makes about 22,000 streams).
#[derive(Debug, Clone)]
pub struct RunStreams {
    keyed: ChaCha8Rng,
}

impl RunStreams {
    /// The streams of run `run` under `master_seed`.
    pub fn new(master_seed: u64, run: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"clustersim/run");
        h.update(master_seed.to_le_bytes());
        h.update(run.to_le_bytes());
        Self {
            keyed: ChaCha8Rng::from_seed(h.finalize().into()),
        }
    }

    /// The stream for `purpose` at `step` for `site` (0 for global purposes).
    pub fn stream(&self, purpose: Purpose, step: u32, site: u32) -> Stream {
        let mut rng = self.keyed.clone();
        let id = ((purpose as u64) << 56) | ((u64::from(step) & 0xff_ffff) << 32) | u64::from(site);
        rng.set_stream(id);
        rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_differ_by_every_coordinate_and_repeat_exactly() {
        let a = RunStreams::new(1, 0);
        let draw = |s: &RunStreams, p, t, c| s.stream(p, t, c).random::<u64>();
        let base = draw(&a, Purpose::Growth, 3, 7);
        assert_eq!(base, draw(&RunStreams::new(1, 0), Purpose::Growth, 3, 7));
        assert_ne!(base, draw(&a, Purpose::Growth, 3, 8));
        assert_ne!(base, draw(&a, Purpose::Growth, 4, 7));
        assert_ne!(base, draw(&a, Purpose::Cooperation, 3, 7));
        assert_ne!(base, draw(&RunStreams::new(1, 1), Purpose::Growth, 3, 7));
        assert_ne!(base, draw(&RunStreams::new(2, 0), Purpose::Growth, 3, 7));
    }
}
