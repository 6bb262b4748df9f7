//! Conformance checks for [`LeaseStore`]: acquiring a free, held, own and lapsed lease,
//! renewing, releasing, listing, and exactly one winner among concurrent acquirers.

use super::{generation_id, ok, T0};
use crate::{Lease, LeaseStore};

/// Runs every [`LeaseStore`] check.
pub async fn lease_store(s: &dyn LeaseStore) {
    acquire_and_expiry(s).await;
    renew(s).await;
    release(s).await;
    list(s).await;
    concurrent_acquires(s).await;
}

/// A fresh owner name (leases are keyed by generation, so names only need to differ here).
fn owner(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

async fn acquire_and_expiry(s: &dyn LeaseStore) {
    let id = generation_id();
    let (a, b) = (owner("node-a"), owner("node-b"));
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease (none)"),
        None,
        "a generation without a lease must have none"
    );
    assert!(
        ok(
            s.acquire_lease(id, &a, 1_000, T0).await,
            "acquire_lease (free)"
        ),
        "a free lease must be granted"
    );
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease"),
        Some(Lease {
            generation_id: id,
            owner: a.clone(),
            expires_at: T0 + 1_000
        }),
        "get_lease must show the holder and the expiry now + ttl"
    );
    assert!(
        !ok(
            s.acquire_lease(id, &b, 1_000, T0 + 500).await,
            "acquire_lease (held by another)"
        ),
        "a lease held by another owner must not be granted"
    );
    assert!(
        ok(
            s.acquire_lease(id, &a, 1_000, T0 + 600).await,
            "acquire_lease (own)"
        ),
        "acquiring one's own lease again must succeed"
    );
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease").map(|l| l.expires_at),
        Some(T0 + 1_600),
        "acquiring one's own lease again must extend it"
    );
    assert!(
        !ok(
            s.acquire_lease(id, &b, 1_000, T0 + 1_599).await,
            "acquire_lease just before expiry"
        ),
        "a lease is held until its expiry"
    );
    assert!(
        ok(
            s.acquire_lease(id, &b, 2_000, T0 + 1_600).await,
            "acquire_lease at expiry"
        ),
        "a lapsed lease must go to the next owner"
    );
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease after takeover"),
        Some(Lease {
            generation_id: id,
            owner: b.clone(),
            expires_at: T0 + 3_600
        }),
        "the new owner must hold the lease"
    );
    let instant = generation_id();
    assert!(
        ok(
            s.acquire_lease(instant, &a, 0, T0).await,
            "acquire_lease with ttl 0"
        ),
        "a zero ttl must be granted"
    );
    assert!(
        ok(
            s.acquire_lease(instant, &b, 1_000, T0).await,
            "acquire_lease after a zero ttl"
        ),
        "a lease with a zero ttl lapses at once"
    );
}

async fn renew(s: &dyn LeaseStore) {
    let id = generation_id();
    let (a, b) = (owner("node-a"), owner("node-b"));
    assert!(
        !ok(s.renew_lease(id, &a, 1_000, T0).await, "renew_lease (none)"),
        "a lease nobody holds cannot be renewed"
    );
    assert!(ok(
        s.acquire_lease(id, &a, 1_000, T0).await,
        "acquire_lease"
    ));
    assert!(
        ok(s.renew_lease(id, &a, 5_000, T0 + 900).await, "renew_lease"),
        "the holder must be able to renew before expiry"
    );
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease after renew").map(|l| l.expires_at),
        Some(T0 + 5_900),
        "renewing must move the expiry to now + ttl"
    );
    assert!(
        !ok(
            s.renew_lease(id, &b, 1_000, T0 + 1_000).await,
            "renew_lease (not the holder)"
        ),
        "only the holder may renew"
    );
    assert!(
        !ok(
            s.renew_lease(id, &a, 1_000, T0 + 5_900).await,
            "renew_lease at expiry"
        ),
        "a lapsed lease cannot be renewed; it must be acquired again"
    );
    assert!(
        ok(
            s.acquire_lease(id, &b, 1_000, T0 + 6_000).await,
            "acquire_lease after lapse"
        ),
        "after a failed renewal another owner can take the lease"
    );
    assert!(
        !ok(
            s.renew_lease(id, &a, 1_000, T0 + 6_001).await,
            "renew_lease by the old holder"
        ),
        "the old holder must not renew a lease taken over"
    );
}

async fn release(s: &dyn LeaseStore) {
    let id = generation_id();
    let (a, b) = (owner("node-a"), owner("node-b"));
    assert!(
        !ok(s.release_lease(id, &a).await, "release_lease (none)"),
        "releasing a missing lease must return false"
    );
    assert!(ok(
        s.acquire_lease(id, &a, 60_000, T0).await,
        "acquire_lease"
    ));
    assert!(
        !ok(
            s.release_lease(id, &b).await,
            "release_lease (not the holder)"
        ),
        "only the holder may release"
    );
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease").map(|l| l.owner),
        Some(a.clone()),
        "a refused release must keep the lease"
    );
    assert!(
        ok(s.release_lease(id, &a).await, "release_lease"),
        "the holder's release must return true"
    );
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease after release"),
        None,
        "a released lease must be gone"
    );
    assert!(
        ok(
            s.acquire_lease(id, &b, 60_000, T0 + 1).await,
            "acquire_lease after release"
        ),
        "a released lease must be free for anyone"
    );
}

/// The listing shows every stored lease as `get_lease` does, lapsed ones too, and no released
/// one. Other runs' leases may be listed alongside: only this run's ids are looked at.
async fn list(s: &dyn LeaseStore) {
    let (held, lapsed, released) = (generation_id(), generation_id(), generation_id());
    let (a, b) = (owner("node-a"), owner("node-b"));
    assert!(ok(
        s.acquire_lease(held, &a, 60_000, T0).await,
        "acquire_lease"
    ));
    assert!(ok(
        s.acquire_lease(lapsed, &b, 10, T0).await,
        "acquire_lease"
    ));
    assert!(ok(
        s.acquire_lease(released, &a, 60_000, T0).await,
        "acquire_lease"
    ));
    assert!(ok(s.release_lease(released, &a).await, "release_lease"));
    let mut mine: Vec<Lease> = ok(s.list_leases().await, "list_leases")
        .into_iter()
        .filter(|l| [held, lapsed, released].contains(&l.generation_id))
        .collect();
    mine.sort_by_key(|l| l.expires_at);
    assert_eq!(
        mine,
        [
            Lease {
                generation_id: lapsed,
                owner: b,
                expires_at: T0 + 10
            },
            Lease {
                generation_id: held,
                owner: a,
                expires_at: T0 + 60_000
            }
        ],
        "list_leases must show held and lapsed leases with owner and expiry, and no released one"
    );
}

/// Four owners race for one free lease: exactly one wins, and holds it.
async fn concurrent_acquires(s: &dyn LeaseStore) {
    let id = generation_id();
    let owners = [owner("a"), owner("b"), owner("c"), owner("d")];
    let (w, x, y, z) = tokio::join!(
        s.acquire_lease(id, &owners[0], 10_000, T0),
        s.acquire_lease(id, &owners[1], 10_000, T0),
        s.acquire_lease(id, &owners[2], 10_000, T0),
        s.acquire_lease(id, &owners[3], 10_000, T0)
    );
    let granted = [w, x, y, z].map(|r| ok(r, "acquire_lease (concurrent)"));
    assert_eq!(
        granted.iter().filter(|g| **g).count(),
        1,
        "exactly one concurrent acquirer may win: {granted:?}"
    );
    let winner = granted.iter().position(|g| *g).map(|i| owners[i].clone());
    assert_eq!(
        ok(s.get_lease(id).await, "get_lease after the race").map(|l| l.owner),
        winner,
        "the winner must hold the lease"
    );
}
