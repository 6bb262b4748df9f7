//! Conformance checks for [`UserStore`]: users by id and case-insensitive e-mail, tiers, and
//! refresh-token rotation with reuse detection.

use super::{conflict, ok, user_id, T0};
use crate::{RefreshToken, RefreshUse, UserStore};
use codebegen_schema::generation::{Tier, UserId, UserRecord};

/// Runs every [`UserStore`] check.
pub async fn user_store(s: &dyn UserStore) {
    users(s).await;
    tiers(s).await;
    rotation_and_reuse(s).await;
    expiry(s).await;
    revocation(s).await;
    concurrent_presentations(s).await;
}

fn user(email: &str) -> UserRecord {
    UserRecord {
        id: user_id(),
        email: email.to_string(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_string(),
        tier: Tier::Free,
        is_admin: false,
        created_at: T0,
    }
}

/// A fresh lowercase e-mail.
fn email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn created_user(s: &dyn UserStore) -> UserRecord {
    let record = user(&email());
    ok(s.create_user(&record).await, "create_user");
    record
}

fn token(user: UserId, family_id: uuid::Uuid, expires_at: i64) -> RefreshToken {
    RefreshToken {
        token_hash: format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
        user_id: user,
        family_id,
        expires_at,
        used: false,
        revoked: false,
    }
}

async fn users(s: &dyn UserStore) {
    let mut alice = user(&email());
    alice.is_admin = true;
    alice.tier = Tier::Pro;
    ok(s.create_user(&alice).await, "create_user");
    assert_eq!(
        ok(s.get_user(alice.id).await, "get_user"),
        Some(alice.clone()),
        "get_user must return the record as created"
    );
    assert_eq!(
        ok(s.get_user_by_email(&alice.email).await, "get_user_by_email"),
        Some(alice.clone()),
        "get_user_by_email must find the user by its e-mail"
    );
    let shouted = alice.email.to_uppercase();
    assert_eq!(
        ok(
            s.get_user_by_email(&shouted).await,
            "get_user_by_email (upper case)"
        ),
        Some(alice.clone()),
        "e-mail lookup must ignore case"
    );
    conflict(
        s.create_user(&user(&shouted)).await,
        "create_user with the same e-mail in upper case",
    );
    conflict(
        s.create_user(&UserRecord {
            email: email(),
            ..alice.clone()
        })
        .await,
        "create_user with a taken id",
    );
    conflict(
        s.create_user(&alice).await,
        "create_user twice with the same record",
    );
    assert_eq!(
        ok(s.get_user(user_id()).await, "get_user (unknown)"),
        None,
        "an unknown id must give None"
    );
    assert_eq!(
        ok(
            s.get_user_by_email(&email()).await,
            "get_user_by_email (unknown)"
        ),
        None,
        "an unknown e-mail must give None"
    );
    assert_eq!(
        ok(s.get_user(alice.id).await, "get_user"),
        Some(alice),
        "failed creates must not change the stored user"
    );
}

async fn tiers(s: &dyn UserStore) {
    let bob = created_user(s).await;
    assert!(
        ok(s.set_tier(&bob.email, Tier::Enterprise).await, "set_tier"),
        "set_tier on an existing user must return true"
    );
    let stored = ok(s.get_user(bob.id).await, "get_user after set_tier");
    assert_eq!(
        stored,
        Some(UserRecord {
            tier: Tier::Enterprise,
            ..bob.clone()
        }),
        "set_tier must change only the tier"
    );
    assert!(
        ok(
            s.set_tier(&bob.email.to_uppercase(), Tier::Pro).await,
            "set_tier (upper case)"
        ),
        "set_tier must ignore e-mail case"
    );
    let by_email = ok(
        s.get_user_by_email(&bob.email).await,
        "get_user_by_email after set_tier",
    );
    assert_eq!(
        by_email.map(|u| u.tier),
        Some(Tier::Pro),
        "the tier must be visible through the e-mail lookup too"
    );
    assert!(
        !ok(s.set_tier(&email(), Tier::Pro).await, "set_tier (unknown)"),
        "set_tier on an unknown e-mail must return false"
    );
}

async fn rotation_and_reuse(s: &dyn UserStore) {
    let carol = created_user(s).await;
    let family = uuid::Uuid::new_v4();
    let first = token(carol.id, family, T0 + 3_600_000);
    ok(s.put_refresh_token(&first).await, "put_refresh_token");
    conflict(
        s.put_refresh_token(&first).await,
        "put_refresh_token with a taken hash",
    );

    let rotated = ok(
        s.use_refresh_token(&first.token_hash, T0).await,
        "use_refresh_token (fresh)",
    );
    assert_eq!(
        rotated,
        RefreshUse::Rotated(RefreshToken {
            used: true,
            ..first.clone()
        }),
        "a fresh, unexpired token must rotate and come back marked used"
    );
    let second = token(carol.id, family, T0 + 7_200_000);
    ok(
        s.put_refresh_token(&second).await,
        "put_refresh_token (rotated successor)",
    );

    let reused = ok(
        s.use_refresh_token(&first.token_hash, T0 + 1).await,
        "use_refresh_token (replayed)",
    );
    assert_eq!(
        reused,
        RefreshUse::Reused(RefreshToken {
            used: true,
            revoked: true,
            ..first.clone()
        }),
        "presenting a used token must report reuse and revoke its family"
    );
    assert_eq!(
        ok(
            s.use_refresh_token(&second.token_hash, T0 + 2).await,
            "use_refresh_token (successor after reuse)"
        ),
        RefreshUse::Invalid,
        "after reuse, every token of the family must be invalid, including unused ones"
    );
    assert_eq!(
        ok(
            s.use_refresh_token(&first.token_hash, T0 + 3).await,
            "use_refresh_token (replayed after revocation)"
        ),
        RefreshUse::Invalid,
        "a revoked token must be invalid, not reused again"
    );
    assert_eq!(
        ok(
            s.use_refresh_token("no-such-token-hash", T0).await,
            "use_refresh_token (unknown)"
        ),
        RefreshUse::Invalid,
        "an unknown token must be invalid"
    );
}

async fn expiry(s: &dyn UserStore) {
    let dave = created_user(s).await;
    let expiring = token(dave.id, uuid::Uuid::new_v4(), T0 + 1_000);
    ok(s.put_refresh_token(&expiring).await, "put_refresh_token");
    assert_eq!(
        ok(
            s.use_refresh_token(&expiring.token_hash, T0 + 1_000).await,
            "use_refresh_token at expiry"
        ),
        RefreshUse::Invalid,
        "a token presented at its expiry time must be invalid"
    );
    assert_eq!(
        ok(
            s.use_refresh_token(&expiring.token_hash, T0 + 999).await,
            "use_refresh_token just before expiry"
        ),
        RefreshUse::Rotated(RefreshToken {
            used: true,
            ..expiring
        }),
        "an expired presentation must not consume the token; one before expiry rotates it"
    );
}

async fn revocation(s: &dyn UserStore) {
    let erin = created_user(s).await;
    let (revoked_family, other_family) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let doomed = [
        token(erin.id, revoked_family, T0 + 60_000),
        token(erin.id, revoked_family, T0 + 60_000),
    ];
    let survivor = token(erin.id, other_family, T0 + 60_000);
    for t in doomed.iter().chain([&survivor]) {
        ok(s.put_refresh_token(t).await, "put_refresh_token");
    }
    ok(s.revoke_family(revoked_family).await, "revoke_family");
    ok(
        s.revoke_family(uuid::Uuid::new_v4()).await,
        "revoke_family (unknown family)",
    );
    for t in &doomed {
        assert_eq!(
            ok(
                s.use_refresh_token(&t.token_hash, T0).await,
                "use_refresh_token (revoked family)"
            ),
            RefreshUse::Invalid,
            "tokens of a revoked family must be invalid"
        );
    }
    assert_eq!(
        ok(
            s.use_refresh_token(&survivor.token_hash, T0).await,
            "use_refresh_token (other family)"
        ),
        RefreshUse::Rotated(RefreshToken {
            used: true,
            ..survivor
        }),
        "revoking one family must not touch another"
    );
}

/// The same token presented four times at once: exactly one rotation, one reuse (which revokes
/// the family), and the rest invalid. Anything else means the check-and-mark is not atomic.
async fn concurrent_presentations(s: &dyn UserStore) {
    let frank = created_user(s).await;
    let contested = token(frank.id, uuid::Uuid::new_v4(), T0 + 60_000);
    ok(s.put_refresh_token(&contested).await, "put_refresh_token");
    let hash = contested.token_hash.as_str();
    let (a, b, c, d) = tokio::join!(
        s.use_refresh_token(hash, T0),
        s.use_refresh_token(hash, T0),
        s.use_refresh_token(hash, T0),
        s.use_refresh_token(hash, T0)
    );
    let outcomes = [a, b, c, d].map(|r| ok(r, "use_refresh_token (concurrent)"));
    let count = |f: fn(&RefreshUse) -> bool| outcomes.iter().filter(|o| f(o)).count();
    assert_eq!(
        count(|o| matches!(o, RefreshUse::Rotated(_))),
        1,
        "exactly one concurrent presentation may rotate: {outcomes:?}"
    );
    assert_eq!(
        count(|o| matches!(o, RefreshUse::Reused(_))),
        1,
        "exactly one concurrent presentation must see reuse: {outcomes:?}"
    );
    assert_eq!(
        count(|o| *o == RefreshUse::Invalid),
        2,
        "the others must find the family revoked: {outcomes:?}"
    );
}
