//! Conformance checks for [`ArtifactStore`]: round trips of text, binary, empty and large
//! blobs, overwrites, sorted prefix listings, deletion, invalid keys (always a `Conflict`), and
//! atomic replacement under concurrent writers. Every key lives under a fresh prefix.

use super::{conflict, ok};
use crate::ArtifactStore;
use bytes::Bytes;

/// Runs every [`ArtifactStore`] check.
pub async fn artifact_store(s: &dyn ArtifactStore) {
    let root = format!("conformance-{}", uuid::Uuid::new_v4().simple());
    round_trips(s, &root).await;
    listing(s, &root).await;
    deletion(s, &root).await;
    invalid_keys(s, &root).await;
    concurrent_overwrites(s, &root).await;
}

/// Deterministic bytes that are not text: a xorshift stream.
fn noise(len: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>()
        .into()
}

async fn round_trips(s: &dyn ArtifactStore, root: &str) {
    let text = format!("{root}/gen/README.md");
    ok(
        s.put(&text, Bytes::from_static("# Hello ünïcödé 🚀\n".as_bytes()))
            .await,
        "put (text)",
    );
    assert_eq!(
        ok(s.get(&text).await, "get (text)").as_deref(),
        Some("# Hello ünïcödé 🚀\n".as_bytes()),
        "a text blob must round-trip"
    );

    let every_byte: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let binary = format!("{root}/gen/bytes.bin");
    ok(
        s.put(&binary, Bytes::from(every_byte.clone())).await,
        "put (binary)",
    );
    assert_eq!(
        ok(s.get(&binary).await, "get (binary)").as_deref(),
        Some(&every_byte[..]),
        "every byte value must round-trip"
    );

    let empty = format!("{root}/gen/empty");
    ok(s.put(&empty, Bytes::new()).await, "put (empty)");
    assert_eq!(
        ok(s.get(&empty).await, "get (empty)").as_deref(),
        Some(&[][..]),
        "an empty blob must exist and be empty"
    );

    let large = format!("{root}/gen/project.zip");
    let big = noise(5 * 1024 * 1024 + 7, 42);
    ok(s.put(&large, big.clone()).await, "put (5 MiB)");
    let stored = ok(s.get(&large).await, "get (5 MiB)");
    assert!(
        stored.as_ref() == Some(&big),
        "a 5 MiB blob must round-trip byte for byte (got {:?} bytes)",
        stored.map(|b| b.len())
    );

    let overwritten = noise(1000, 7);
    ok(
        s.put(&large, overwritten.clone()).await,
        "put (overwrite, shorter)",
    );
    assert_eq!(
        ok(s.get(&large).await, "get after overwrite"),
        Some(overwritten),
        "an overwrite must replace the whole blob"
    );

    let unicode = format!("{root}/ünï cødé/file name (1).txt");
    ok(
        s.put(&unicode, Bytes::from_static(b"x")).await,
        "put (unicode key with spaces)",
    );
    assert_eq!(
        ok(s.get(&unicode).await, "get (unicode key)").as_deref(),
        Some(&b"x"[..]),
        "unicode keys must work"
    );
    assert_eq!(
        ok(s.get(&format!("{root}/missing")).await, "get (missing)"),
        None,
        "a missing key must give None"
    );
}

async fn listing(s: &dyn ArtifactStore, root: &str) {
    let base = format!("{root}/list");
    let keys = [
        "b.txt",
        "a/2.py",
        "a/1.py",
        "ab/c.txt",
        "a.txt",
        "z/y/x/deep.bin",
        "A.txt",
    ];
    for key in keys {
        ok(
            s.put(
                &format!("{base}/{key}"),
                Bytes::from(key.as_bytes().to_vec()),
            )
            .await,
            "put",
        );
    }
    ok(
        s.put(
            &format!("{root}/list-sibling/a.txt"),
            Bytes::from_static(b"s"),
        )
        .await,
        "put (sibling prefix)",
    );
    let full = |list: &[&str]| {
        list.iter()
            .map(|k| format!("{base}/{k}"))
            .collect::<Vec<_>>()
    };

    let mut expected = full(&keys);
    expected.sort();
    assert_eq!(
        ok(s.list(&format!("{base}/")).await, "list (directory prefix)"),
        expected,
        "list must return every key under the prefix, sorted"
    );
    assert_eq!(
        ok(
            s.list(&format!("{base}/a")).await,
            "list (partial name prefix)"
        ),
        full(&["a.txt", "a/1.py", "a/2.py", "ab/c.txt"]),
        "a prefix is a plain string prefix, not only a directory"
    );
    assert_eq!(
        ok(s.list(&format!("{base}/a/")).await, "list (sub-directory)"),
        full(&["a/1.py", "a/2.py"]),
        "listing a sub-directory"
    );
    assert_eq!(
        ok(
            s.list(&format!("{base}/z/y/x/deep.bin")).await,
            "list (exact key)"
        ),
        full(&["z/y/x/deep.bin"]),
        "a full key is its own prefix"
    );
    assert_eq!(
        ok(
            s.list(&format!("{base}/nothing/")).await,
            "list (empty prefix)"
        ),
        Vec::<String>::new(),
        "no key, empty list"
    );
    let with_sibling = ok(s.list(&base).await, "list (prefix without slash)");
    assert!(
        with_sibling.contains(&format!("{root}/list-sibling/a.txt")),
        "a prefix without a slash must match sibling names too"
    );
    let everything = ok(s.list("").await, "list (everything)");
    assert!(
        everything.windows(2).all(|w| w[0] < w[1]),
        "list(\"\") must be sorted and without duplicates"
    );
    assert!(
        expected.iter().all(|k| everything.contains(k)),
        "list(\"\") must include every key"
    );
}

async fn deletion(s: &dyn ArtifactStore, root: &str) {
    let key = format!("{root}/del/one.txt");
    let neighbour = format!("{root}/del/two.txt");
    ok(s.put(&key, Bytes::from_static(b"1")).await, "put");
    ok(s.put(&neighbour, Bytes::from_static(b"2")).await, "put");
    assert!(
        ok(s.delete(&key).await, "delete"),
        "deleting an existing blob must return true"
    );
    assert_eq!(
        ok(s.get(&key).await, "get after delete"),
        None,
        "a deleted blob must be gone"
    );
    assert!(
        !ok(s.delete(&key).await, "delete again"),
        "deleting a missing blob must return false"
    );
    assert_eq!(
        ok(s.list(&format!("{root}/del/")).await, "list after delete"),
        vec![neighbour.clone()],
        "only the deleted key may leave the listing"
    );
    assert!(
        ok(
            s.delete(&neighbour).await,
            "delete the last key under a prefix"
        ),
        "delete must return true"
    );
    assert_eq!(
        ok(
            s.list(&format!("{root}/del/")).await,
            "list after deleting all"
        ),
        Vec::<String>::new(),
        "an emptied prefix must list nothing"
    );
    ok(
        s.put(&key, Bytes::from_static(b"again")).await,
        "put after delete",
    );
    assert_eq!(
        ok(s.get(&key).await, "get after re-put").as_deref(),
        Some(&b"again"[..]),
        "a deleted key can be written again"
    );
}

async fn invalid_keys(s: &dyn ArtifactStore, root: &str) {
    let invalid = [
        String::new(),
        "/etc/passwd".to_string(),
        "..".to_string(),
        "../escape".to_string(),
        format!("{root}/../escape"),
        format!("{root}/./x"),
        format!("{root}//x"),
        format!("{root}/x/"),
        format!("{root}\\x"),
        format!("{root}/nul\0byte"),
        format!("{root}/new\nline"),
        format!("{root}/{}", "x".repeat(1100)),
    ];
    for key in &invalid {
        conflict(
            s.put(key, Bytes::from_static(b"no")).await,
            &format!("put with invalid key {key:?}"),
        );
        conflict(s.get(key).await, &format!("get with invalid key {key:?}"));
        conflict(
            s.delete(key).await,
            &format!("delete with invalid key {key:?}"),
        );
    }
    for prefix in ["../", "/", "a/../"] {
        conflict(
            s.list(prefix).await,
            &format!("list with invalid prefix {prefix:?}"),
        );
    }
}

/// Two writers replace one key many times at once; every read must see one whole version.
async fn concurrent_overwrites(s: &dyn ArtifactStore, root: &str) {
    let key = format!("{root}/race/blob");
    let (first, second) = (noise(256 * 1024, 1), noise(256 * 1024, 2));
    ok(s.put(&key, first.clone()).await, "put");
    let writer = |data: Bytes| {
        let key = key.clone();
        async move {
            for _ in 0..8 {
                ok(s.put(&key, data.clone()).await, "put (concurrent)");
            }
        }
    };
    let reader = async {
        for _ in 0..16 {
            let seen = ok(s.get(&key).await, "get (concurrent)");
            assert!(
                seen.as_ref() == Some(&first) || seen.as_ref() == Some(&second),
                "a read during overwrites must see one whole version"
            );
        }
    };
    tokio::join!(writer(first.clone()), writer(second.clone()), reader);
    let last = ok(s.get(&key).await, "get after concurrent overwrites");
    assert!(
        last.as_ref() == Some(&first) || last.as_ref() == Some(&second),
        "after concurrent overwrites one whole version must remain"
    );
}
