//! `GET /generations/{id}/events`: server-sent events. Replays the stored log after
//! `Last-Event-ID`, then follows the live broadcast, deduplicated by `seq`, and ends after a
//! final event (or at once after the replay when the generation was already final). A
//! generation that runs on another node of the cluster publishes nothing here, so while no live
//! event arrives the follower also reads the store for events after the last one sent, every
//! [`STORE_POLL`].
//!
//! Invariant: the live subscription is taken before the store is read, so an event is either
//! in the replay or arrives live (or, from another node, is read from the store by a poll);
//! `seq` never goes backwards and never repeats on one stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use codebegen_schema::generation::{ErrorCode, GenerationEvent, GenerationId, UserRecord};
use codebegen_store::GenerationStore;
use futures_util::{Stream, TryStream};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use warp::reply::Response;
use warp::sse::Event;
use warp::Reply as _;

use crate::error::ApiError;
use crate::generations::owned_generation;
use crate::state::AppState;

/// Comment lines keep idle connections open through proxies.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Stored events read per store call.
const REPLAY_PAGE: u32 = 500;

/// How long the follower waits for a live event before it reads the store instead.
pub(crate) const STORE_POLL: Duration = Duration::from_millis(500);

/// `?last_event_id=` (for clients that cannot set the header).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventsQuery {
    last_event_id: Option<String>,
}

/// The SSE response.
pub(crate) async fn events(
    state: AppState,
    user: UserRecord,
    id: GenerationId,
    header: Option<String>,
    query: EventsQuery,
) -> Result<Response, ApiError> {
    let after = match header.or(query.last_event_id).as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text.parse::<u64>().map_err(|_| {
            ApiError::new(ErrorCode::BadRequest, "Last-Event-ID must be an event id")
        })?,
    };
    owned_generation(&state, &user, id).await?;
    let live = state.service.subscribe(id);
    // Read after subscribing: a generation final now has all its events stored.
    let record = owned_generation(&state, &user, id).await?;
    let follow = EventFollower {
        store: state.stores().generations.clone(),
        id,
        live,
        last_seq: after,
        buffer: VecDeque::new(),
        phase: Phase::Replay {
            then_live: !record.status.is_final(),
        },
    };
    let events = futures_util::stream::unfold(follow, |mut follow| async move {
        let event = follow.next().await?;
        Some((Ok::<Event, Infallible>(to_sse(&event)), follow))
    });
    let stream = warp::sse::keep_alive().interval(KEEP_ALIVE).stream(events);
    Ok(warp::sse::reply(SyncStream::new(stream)).into_response())
}

fn to_sse(event: &GenerationEvent) -> Event {
    let sse = Event::default()
        .id(event.seq.to_string())
        .event(event.kind.as_str());
    match serde_json::to_string(event) {
        Ok(json) => sse.data(json),
        Err(err) => {
            tracing::error!(error = %err, "event does not serialize");
            sse.data("{}")
        }
    }
}

enum Phase {
    /// Reading the store after `last_seq`; then live, or done.
    Replay { then_live: bool },
    /// Following the broadcast, and polling the store while it is quiet.
    Live,
    /// A final event went out, or nothing more can come.
    Done,
}

struct EventFollower {
    store: Arc<dyn GenerationStore>,
    id: GenerationId,
    live: broadcast::Receiver<GenerationEvent>,
    last_seq: u64,
    buffer: VecDeque<GenerationEvent>,
    phase: Phase,
}

impl EventFollower {
    /// The next event to send, or `None` when the stream ends.
    async fn next(&mut self) -> Option<GenerationEvent> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                if event.seq <= self.last_seq {
                    continue;
                }
                self.last_seq = event.seq;
                if event.kind.is_final() {
                    self.phase = Phase::Done;
                    self.buffer.clear();
                }
                return Some(event);
            }
            match self.phase {
                Phase::Done => return None,
                Phase::Replay { then_live } => {
                    let page = self.read_store(REPLAY_PAGE).await?;
                    if page.is_empty() {
                        self.phase = if then_live { Phase::Live } else { Phase::Done };
                    }
                    self.buffer.extend(page);
                }
                Phase::Live => match tokio::time::timeout(STORE_POLL, self.live.recv()).await {
                    // Quiet: the generation may run on another node, whose events only reach
                    // the store. Read it (then come back to the broadcast).
                    Err(_) => self.phase = Phase::Replay { then_live: true },
                    Ok(Ok(event)) if event.seq <= self.last_seq => {}
                    Ok(Ok(event)) => {
                        let gap = event.seq - self.last_seq - 1;
                        if gap > 0 {
                            let missing = self
                                .read_store(u32::try_from(gap).unwrap_or(u32::MAX))
                                .await?;
                            self.buffer.extend(missing);
                        }
                        self.buffer.push_back(event);
                    }
                    Ok(Err(RecvError::Lagged(skipped))) => {
                        tracing::debug!(generation_id = %self.id, skipped, "event subscriber lagged; reading the store");
                        self.phase = Phase::Replay { then_live: true };
                    }
                    // No more live events: whatever was stored meanwhile, then the end.
                    Ok(Err(RecvError::Closed)) => self.phase = Phase::Replay { then_live: false },
                },
            }
        }
    }

    /// Stored events after `last_seq`; `None` (ending the stream) when the store fails.
    async fn read_store(&self, limit: u32) -> Option<Vec<GenerationEvent>> {
        match self.store.list_events(self.id, self.last_seq, limit).await {
            Ok(events) => Some(events),
            Err(err) => {
                tracing::warn!(generation_id = %self.id, error = %err, "event replay failed; closing the stream");
                None
            }
        }
    }
}

/// Makes a `Send` stream `Sync` (warp's SSE reply asks for it) without `unsafe`: the stream sits
/// behind a mutex that is only ever reached through `&mut self`, so it is never contended.
struct SyncStream<S> {
    inner: Mutex<Pin<Box<S>>>,
}

impl<S> SyncStream<S> {
    fn new(stream: S) -> SyncStream<S> {
        SyncStream {
            inner: Mutex::new(Box::pin(stream)),
        }
    }
}

impl<S: TryStream> Stream for SyncStream<S> {
    type Item = Result<S::Ok, S::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = self
            .get_mut()
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        inner.as_mut().try_poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::generation::{
        EventKind, GenerationOptions, GenerationRecord, GenerationStatus, UserId,
    };
    use codebegen_store::MemoryStore;

    fn event(id: GenerationId, seq: u64, kind: EventKind) -> GenerationEvent {
        GenerationEvent {
            generation_id: id,
            seq,
            kind,
            data: serde_json::json!({}),
            at: 0,
        }
    }

    async fn store_with(id: GenerationId, seqs: &[u64]) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::new());
        let record = GenerationRecord {
            id,
            user_id: UserId(uuid::Uuid::new_v4()),
            project_id: None,
            parent_id: None,
            prompt: None,
            input_spec: None,
            options: GenerationOptions::default(),
            status: GenerationStatus::Running,
            stage: None,
            progress: 0,
            spec: None,
            review: None,
            gates: None,
            error: None,
            created_at: 0,
            updated_at: 0,
            completed_at: None,
        };
        store.put_generation(&record).await.expect("record");
        for seq in seqs {
            store
                .append_event(&event(id, *seq, EventKind::Log))
                .await
                .expect("event");
        }
        store
    }

    fn follower(
        store: Arc<MemoryStore>,
        id: GenerationId,
        live: broadcast::Receiver<GenerationEvent>,
    ) -> EventFollower {
        EventFollower {
            store,
            id,
            live,
            last_seq: 0,
            buffer: VecDeque::new(),
            phase: Phase::Replay { then_live: true },
        }
    }

    async fn drain(mut follower: EventFollower) -> Vec<u64> {
        let mut seqs = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, follower.next()).await {
            seqs.push(event.seq);
        }
        seqs
    }

    #[tokio::test]
    async fn replay_then_live_without_repeats_until_the_final_event() {
        let id = GenerationId(uuid::Uuid::new_v4());
        let store = store_with(id, &[1, 2]).await;
        let (sender, live) = broadcast::channel(16);
        // 2 was published while the replay was being read; nothing after the final event counts.
        for (seq, kind) in [
            (2, EventKind::Log),
            (3, EventKind::Completed),
            (4, EventKind::Log),
        ] {
            sender.send(event(id, seq, kind)).expect("send");
        }
        assert_eq!(drain(follower(store, id, live)).await, [1, 2, 3]);
    }

    #[tokio::test]
    async fn gaps_in_the_live_feed_are_filled_from_the_store() {
        let id = GenerationId(uuid::Uuid::new_v4());
        let store = store_with(id, &[1, 2, 3]).await;
        let (sender, live) = broadcast::channel(16);
        sender
            .send(event(id, 4, EventKind::Progress))
            .expect("send");
        sender
            .send(event(id, 5, EventKind::Cancelled))
            .expect("send");
        let mut follower = follower(store, id, live);
        (follower.last_seq, follower.phase) = (2, Phase::Live);
        assert_eq!(drain(follower).await, [3, 4, 5]);
    }

    #[tokio::test]
    async fn a_closed_channel_drains_the_store_and_ends() {
        let id = GenerationId(uuid::Uuid::new_v4());
        let store = store_with(id, &[1]).await;
        let (sender, live) = broadcast::channel(16);
        drop(sender);
        store
            .append_event(&event(id, 2, EventKind::Log))
            .await
            .expect("event");
        assert_eq!(drain(follower(store, id, live)).await, [1, 2]);
    }

    #[tokio::test]
    async fn a_quiet_broadcast_falls_back_to_polling_the_store() {
        // The generation runs on another node: its events reach the store, never this broadcast,
        // whose sender stays open.
        let id = GenerationId(uuid::Uuid::new_v4());
        let store = store_with(id, &[1, 2]).await;
        store
            .append_event(&event(id, 3, EventKind::Completed))
            .await
            .expect("event");
        let (_sender, live) = broadcast::channel(16);
        let mut follower = follower(store, id, live);
        (follower.last_seq, follower.phase) = (1, Phase::Live);
        let started = tokio::time::Instant::now();
        assert_eq!(drain(follower).await, [2, 3]);
        assert!(
            started.elapsed() >= STORE_POLL,
            "read after one quiet poll interval"
        );
    }

    #[tokio::test]
    async fn a_lagging_subscriber_catches_up_from_the_store() {
        let id = GenerationId(uuid::Uuid::new_v4());
        let store = store_with(id, &[]).await;
        let (sender, live) = broadcast::channel(2);
        for seq in 1..=5 {
            let kind = if seq == 5 {
                EventKind::Failed
            } else {
                EventKind::Log
            };
            store
                .append_event(&event(id, seq, kind))
                .await
                .expect("event");
            sender.send(event(id, seq, kind)).expect("send");
        }
        let mut follower = follower(store, id, live);
        follower.phase = Phase::Live;
        assert_eq!(drain(follower).await, [1, 2, 3, 4, 5]);
    }
}
