//! The pure tier window of one user: generations created in the rolling hour and those running
//! now. The user actor feeds it; it decides admissions.

use std::collections::{BTreeSet, VecDeque};

use codebegen_schema::generation::{GenerationId, Tier, UnixMillis};

/// One hour in milliseconds.
pub const HOUR_MS: UnixMillis = 3_600_000;

/// Why a generation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Seconds until the request would be admitted.
    pub retry_after_s: u64,
    /// Which limit.
    pub message: String,
}

/// Creation times in the last hour and the running set.
#[derive(Debug, Clone, Default)]
pub struct TierWindow {
    created: VecDeque<UnixMillis>,
    running: BTreeSet<GenerationId>,
}

impl TierWindow {
    /// A window loaded from the store.
    pub fn new(
        mut created: Vec<UnixMillis>,
        running: impl IntoIterator<Item = GenerationId>,
    ) -> TierWindow {
        created.sort_unstable();
        TierWindow {
            created: created.into(),
            running: running.into_iter().collect(),
        }
    }

    fn expire(&mut self, now: UnixMillis) {
        while self.created.front().is_some_and(|t| *t <= now - HOUR_MS) {
            self.created.pop_front();
        }
    }

    /// Admits generation `id` at `now` under `tier`, or says when to retry.
    pub fn admit(&mut self, id: GenerationId, tier: Tier, now: UnixMillis) -> Result<(), Refusal> {
        self.expire(now);
        if self.running.len() >= tier.concurrent() as usize {
            return Err(Refusal {
                retry_after_s: 5,
                message: format!(
                    "the {} tier runs {} generation(s) at a time; wait for one to finish",
                    tier.as_str(),
                    tier.concurrent()
                ),
            });
        }
        if self.created.len() >= tier.per_hour() as usize {
            let oldest = self.created.front().copied().unwrap_or(now);
            let wait_ms = (oldest + HOUR_MS - now).max(1000);
            return Err(Refusal {
                retry_after_s: u64::try_from((wait_ms + 999) / 1000).unwrap_or(3600),
                message: format!(
                    "the {} tier allows {} generations per hour",
                    tier.as_str(),
                    tier.per_hour()
                ),
            });
        }
        self.created.push_back(now);
        self.running.insert(id);
        Ok(())
    }

    /// A generation reached a final status.
    pub fn finished(&mut self, id: GenerationId) {
        self.running.remove(&id);
    }

    /// Whether nothing is running (the actor may stop when idle).
    pub fn is_idle(&self) -> bool {
        self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u128) -> GenerationId {
        GenerationId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn free_tier_allows_one_at_a_time_and_five_per_hour() {
        let mut w = TierWindow::default();
        assert!(w.admit(id(1), Tier::Free, 0).is_ok());
        assert_eq!(
            w.admit(id(2), Tier::Free, 10).map_err(|r| r.retry_after_s),
            Err(5)
        );
        w.finished(id(1));
        for n in 2..=5 {
            assert!(w.admit(id(n), Tier::Free, n as i64 * 1000).is_ok());
            w.finished(id(n));
        }
        let refusal = w
            .admit(id(6), Tier::Free, 10_000)
            .expect_err("sixth in the hour");
        assert_eq!(refusal.retry_after_s, 3590);
        assert!(
            w.admit(id(6), Tier::Free, HOUR_MS + 1).is_ok(),
            "the oldest left the window"
        );
    }

    proptest! {
        /// Whatever the sequence, admitted generations never exceed either limit.
        #[test]
        fn limits_always_hold(steps in proptest::collection::vec((0u8..3, 0i64..400_000), 1..300)) {
            let mut w = TierWindow::default();
            let mut now = 0;
            let mut admitted: Vec<(GenerationId, i64)> = Vec::new();
            let mut running: Vec<GenerationId> = Vec::new();
            for (i, (op, dt)) in steps.into_iter().enumerate() {
                now += dt;
                if op == 0 && !running.is_empty() {
                    let g = running.remove(0);
                    w.finished(g);
                } else {
                    let g = id(i as u128);
                    if w.admit(g, Tier::Pro, now).is_ok() {
                        admitted.push((g, now));
                        running.push(g);
                    }
                }
                prop_assert!(running.len() <= Tier::Pro.concurrent() as usize);
                let in_hour = admitted.iter().filter(|(_, t)| *t > now - HOUR_MS).count();
                prop_assert!(in_hour <= Tier::Pro.per_hour() as usize);
            }
        }
    }
}
