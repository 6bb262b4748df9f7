//! A generation's lease as its holder sees it. The pure part, [`HeldLease`]: how long it is
//! valid by the holder's own clock, and what a renewal's answer means (time is a parameter);
//! then the two store calls the generation actor makes with it, [`renew`] and [`release`].
//!
//! Invariant: the holder treats the lease as held only until `ttl` after it last *asked* for it
//! (acquired or renewed), so it stops no later than the store's expiry, whatever the store's
//! latency; a renewal the store refuses means another node may own the generation now, and the
//! holder must stop before it writes anything more.

use std::time::{Duration, Instant};

use codebegen_schema::generation::GenerationId;

use crate::env::{now_millis, Env};

/// A lease's default lifetime ([`crate::ServiceConfig::lease_ttl`]).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// The default take-over scan interval for a lease lifetime: a quarter of it, at most 2 s.
pub fn takeover_interval_for(lease_ttl: Duration) -> Duration {
    (lease_ttl / 4).min(Duration::from_secs(2))
}

/// How often a holder renews: three times per lifetime, so two renewals may fail (a slow or
/// briefly unavailable store) before the lease lapses.
pub fn renew_every(lease_ttl: Duration) -> Duration {
    (lease_ttl / 3).max(Duration::from_millis(1))
}

/// The lifetime in the store's unit.
pub fn ttl_ms(lease_ttl: Duration) -> u64 {
    u64::try_from(lease_ttl.as_millis()).unwrap_or(u64::MAX)
}

/// What to do after a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Renewed: keep working, renew again in [`renew_every`].
    Held,
    /// The store did not answer, but the lease is still valid by our clock: keep working and
    /// try again.
    Unconfirmed,
    /// Refused: another node holds it (we were paused or cut off). Stop without writing.
    Lost,
    /// The store kept failing until the lease lapsed by our clock: we can no longer prove that
    /// we own the generation. Stop without writing.
    Lapsed,
}

/// The holder's view of its lease.
#[derive(Debug, Clone, Copy)]
pub struct HeldLease {
    ttl: Duration,
    valid_until: Instant,
}

impl HeldLease {
    /// A lease the store granted to a request sent at `asked_at`.
    pub fn granted(ttl: Duration, asked_at: Instant) -> HeldLease {
        HeldLease {
            ttl,
            valid_until: asked_at + ttl,
        }
    }

    /// The instant after which we no longer hold it unless a renewal says otherwise.
    pub fn valid_until(&self) -> Instant {
        self.valid_until
    }

    /// Whether it is still held at `now` by our clock.
    pub fn is_valid(&self, now: Instant) -> bool {
        now < self.valid_until
    }

    /// Applies the answer to a renewal sent at `asked_at` and received at `now`: `Some(true)`
    /// renewed, `Some(false)` refused, `None` the store failed.
    pub fn on_renewal(&mut self, answer: Option<bool>, asked_at: Instant, now: Instant) -> Renewal {
        match answer {
            Some(true) => {
                self.valid_until = self.valid_until.max(asked_at + self.ttl);
                Renewal::Held
            }
            Some(false) => Renewal::Lost,
            None if self.is_valid(now) => Renewal::Unconfirmed,
            None => Renewal::Lapsed,
        }
    }
}

/// Renews `lease` of generation `id` in the store, waiting no longer than the lease lasts, and
/// says what to do next; logs a lost or lapsed lease.
pub(crate) async fn renew(env: &Env, id: GenerationId, lease: &mut HeldLease) -> Renewal {
    let node = env.config.node_name.as_str();
    let asked_at = Instant::now();
    let wait = lease.valid_until().saturating_duration_since(asked_at);
    let ttl = ttl_ms(env.config.lease_ttl);
    let renewal = env.stores.leases.renew_lease(id, node, ttl, now_millis());
    let answer = match tokio::time::timeout(wait, renewal).await {
        Ok(Ok(renewed)) => Some(renewed),
        Ok(Err(err)) => {
            tracing::warn!(generation_id = %id, error = %err, "lease renewal failed; retrying while the lease lasts");
            None
        }
        Err(_) => None,
    };
    let outcome = lease.on_renewal(answer, asked_at, Instant::now());
    match outcome {
        Renewal::Held | Renewal::Unconfirmed => {}
        Renewal::Lost => {
            tracing::warn!(generation_id = %id, node, "another node took the generation over (this node was paused or cut off); stopping without further writes");
        }
        Renewal::Lapsed => {
            tracing::warn!(generation_id = %id, node, "the lease lapsed while the store could not be reached; stopping without further writes");
        }
    }
    outcome
}

/// Gives up this node's lease of generation `id` (after its final status is stored); a
/// failure only costs the time until the lease lapses.
pub(crate) async fn release(env: &Env, id: GenerationId) {
    let node = env.config.node_name.as_str();
    match env.stores.leases.release_lease(id, node).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(generation_id = %id, node, "the lease was no longer ours when the generation ended");
        }
        Err(err) => {
            tracing::warn!(generation_id = %id, error = %err, "could not release the lease; it lapses by itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_millis(900);

    /// Grants at t0, renews with `answer` asked at t0 + `asked_ms` and answered at t0 +
    /// `answered_ms`; checks the outcome and the validity left afterwards (ms after t0).
    fn check(
        answer: Option<bool>,
        asked_ms: u64,
        answered_ms: u64,
        expected: Renewal,
        valid_ms: u64,
    ) {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut lease = HeldLease::granted(TTL, t0);
        assert_eq!(
            lease.on_renewal(answer, at(asked_ms), at(answered_ms)),
            expected
        );
        assert_eq!(lease.valid_until(), at(valid_ms));
    }

    #[test]
    fn a_renewal_extends_from_when_it_was_asked() {
        check(Some(true), 300, 450, Renewal::Held, 1_200);
    }

    #[test]
    fn a_refused_renewal_is_a_lost_lease() {
        check(Some(false), 300, 310, Renewal::Lost, 900);
    }

    #[test]
    fn a_failed_renewal_keeps_going_while_the_lease_is_valid_by_our_clock() {
        check(None, 300, 899, Renewal::Unconfirmed, 900);
    }

    #[test]
    fn a_failed_renewal_after_our_expiry_is_a_lapse() {
        check(None, 600, 900, Renewal::Lapsed, 900);
    }

    #[test]
    fn a_late_answer_to_an_old_renewal_never_shortens_the_lease() {
        let t0 = Instant::now();
        let mut lease = HeldLease::granted(TTL, t0 + Duration::from_millis(500));
        assert_eq!(
            lease.on_renewal(Some(true), t0, t0 + Duration::from_millis(600)),
            Renewal::Held
        );
        assert_eq!(lease.valid_until(), t0 + Duration::from_millis(1_400));
    }

    #[test]
    fn defaults_follow_the_ttl() {
        assert_eq!(renew_every(TTL), Duration::from_millis(300));
        assert_eq!(
            takeover_interval_for(DEFAULT_LEASE_TTL),
            Duration::from_secs(2)
        );
        assert_eq!(
            takeover_interval_for(Duration::from_millis(300)),
            Duration::from_millis(75)
        );
        assert_eq!(ttl_ms(TTL), 900);
    }
}
