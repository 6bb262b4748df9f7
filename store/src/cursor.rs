//! Opaque page cursors shared by the implementations: the `(created_at, id)` of the last item
//! of a page, hex-encoded. Listings are ordered newest first by `(created_at, id)`, and the next
//! page holds the items strictly after the cursor in that order, so inserts between pages never
//! shift, duplicate or drop items.

use crate::{Page, StoreError, StoreResult};
use codebegen_schema::generation::UnixMillis;
use uuid::Uuid;

/// Where a page ended: the sort key of its last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CursorKey {
    /// Creation time of the last item.
    pub created_at: UnixMillis,
    /// Id of the last item (the tie-breaker).
    pub id: Uuid,
}

impl CursorKey {
    /// The opaque text form: 16 hex digits of the time (big-endian two's complement) and 32 of
    /// the id.
    pub fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.created_at.to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        hex::encode(bytes)
    }

    /// Parses [`CursorKey::encode`]'s output; `Conflict` for anything else (the request is at
    /// odds with what this store hands out).
    pub fn decode(text: &str) -> StoreResult<CursorKey> {
        let invalid = || StoreError::Conflict(format!("invalid page cursor {text:?}"));
        let bytes = hex::decode(text).map_err(|_| invalid())?;
        let (time, id) = bytes.split_at_checked(8).ok_or_else(invalid)?;
        let time: [u8; 8] = time.try_into().map_err(|_| invalid())?;
        let id = Uuid::from_slice(id).map_err(|_| invalid())?;
        Ok(CursorKey {
            created_at: i64::from_be_bytes(time),
            id,
        })
    }
}

/// Page sizes are clamped to this range: 0 would never advance, and one page is bounded.
pub(crate) fn page_limit(limit: u32) -> usize {
    usize::try_from(limit.clamp(1, 1000)).unwrap_or(1000)
}

/// Cuts `limit + 1` items, already sorted newest first, to a page of `limit`: an extra item
/// only says that a next page exists.
pub(crate) fn page<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> CursorKey) -> Page<T> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| key(last).encode())
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(created_at: i64) {
        let key = CursorKey {
            created_at,
            id: Uuid::new_v4(),
        };
        assert_eq!(CursorKey::decode(&key.encode()).unwrap(), key);
    }

    #[test]
    fn cursors_round_trip() {
        check(0);
        check(1_700_000_000_000);
        check(-5);
        check(i64::MAX);
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        for text in ["", "zz", "00", &"0".repeat(46), &"0".repeat(50)] {
            assert!(
                matches!(CursorKey::decode(text), Err(StoreError::Conflict(_))),
                "{text:?}"
            );
        }
    }
}
