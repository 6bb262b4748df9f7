//! The scheduler's pure state: a queue first-in-first-out within a priority, workers with a
//! capacity (an LLM worker's is its engine's `max_batch`), in-flight requests, cancellation, and
//! the retry-once rule when a worker dies.

use std::collections::{BTreeMap, HashMap};

/// A request id, unique per scheduler.
pub type RequestId = u64;
/// A worker slot id.
pub type WorkerId = u32;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    worker: WorkerId,
    priority: u8,
    attempts: u32,
}

/// What the actor must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send request to worker.
    Dispatch(RequestId, WorkerId),
    /// Reply to the caller that the request failed for good (its worker died twice).
    Fail(RequestId),
    /// Tell the worker running this request to stop it (it was cancelled); its slot is free.
    Abort(RequestId, WorkerId),
}

/// The state.
#[derive(Debug, Default)]
pub struct SchedulerState {
    /// (255 - priority, arrival) → (request, attempts so far).
    queue: BTreeMap<(u8, u64), (RequestId, u32)>,
    arrivals: u64,
    in_flight: HashMap<RequestId, InFlight>,
    workers: BTreeMap<WorkerId, (usize, usize)>,
}

impl SchedulerState {
    /// A worker joined with room for `capacity` concurrent requests.
    pub fn add_worker(&mut self, worker: WorkerId, capacity: usize) -> Vec<Command> {
        self.workers.insert(worker, (0, capacity.max(1)));
        self.dispatch()
    }

    /// Queues a request. Higher priority goes first; FIFO within a priority.
    pub fn submit(&mut self, request: RequestId, priority: u8) -> Vec<Command> {
        self.enqueue(request, priority, 0);
        self.dispatch()
    }

    fn enqueue(&mut self, request: RequestId, priority: u8, attempts: u32) {
        self.arrivals += 1;
        self.queue
            .insert((255 - priority, self.arrivals), (request, attempts));
    }

    /// A request finished on its worker; false if it was unknown (a duplicate completion).
    pub fn done(&mut self, request: RequestId) -> (bool, Vec<Command>) {
        let Some(flight) = self.in_flight.remove(&request) else {
            return (false, Vec::new());
        };
        if let Some(slot) = self.workers.get_mut(&flight.worker) {
            slot.0 = slot.0.saturating_sub(1);
        }
        (true, self.dispatch())
    }

    /// The caller gave up on a request (cancelled or timed out): it leaves the queue, or its
    /// worker is told to stop it and its slot goes to the next request.
    pub fn cancel(&mut self, request: RequestId) -> Vec<Command> {
        self.queue.retain(|_, (r, _)| *r != request);
        let worker = self.in_flight.get(&request).map(|f| f.worker);
        let (_, dispatched) = self.done(request);
        let mut commands: Vec<Command> = worker
            .map(|w| Command::Abort(request, w))
            .into_iter()
            .collect();
        commands.extend(dispatched);
        commands
    }

    /// No worker can be started any more: every queued request fails.
    pub fn fail_queued(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.queue)
            .into_values()
            .map(|(request, _)| Command::Fail(request))
            .collect()
    }

    /// Each worker's (id, requests running, capacity).
    pub fn workers(&self) -> Vec<(WorkerId, usize, usize)> {
        self.workers
            .iter()
            .map(|(id, (busy, capacity))| (*id, *busy, *capacity))
            .collect()
    }

    /// A worker answered that it could not run a request (a remote node refused it): the
    /// request is requeued once, or failed if it already was.
    pub fn request_failed(&mut self, request: RequestId) -> Vec<Command> {
        let Some(flight) = self.in_flight.remove(&request) else {
            return Vec::new();
        };
        if let Some(slot) = self.workers.get_mut(&flight.worker) {
            slot.0 = slot.0.saturating_sub(1);
        }
        let mut commands: Vec<Command> = self.retry_once(request, &flight).into_iter().collect();
        commands.extend(self.dispatch());
        commands
    }

    /// Requeues a request that lost its worker, or fails it when it already was retried.
    fn retry_once(&mut self, request: RequestId, flight: &InFlight) -> Option<Command> {
        if flight.attempts >= 1 {
            return Some(Command::Fail(request));
        }
        self.enqueue(request, flight.priority, flight.attempts + 1);
        None
    }

    /// A worker stops taking requests (its node drains); the ones it runs finish. Returns how
    /// many it still runs.
    pub fn retire(&mut self, worker: WorkerId) -> usize {
        match self.workers.get_mut(&worker) {
            Some(slot) => {
                slot.1 = 0;
                slot.0
            }
            None => 0,
        }
    }

    /// Requests `worker` runs now, if it is known.
    pub fn running(&self, worker: WorkerId) -> Option<usize> {
        self.workers.get(&worker).map(|slot| slot.0)
    }

    /// A worker died: its requests are requeued once, or failed if they already were.
    pub fn worker_failed(&mut self, worker: WorkerId) -> Vec<Command> {
        self.workers.remove(&worker);
        let lost: Vec<(RequestId, InFlight)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.worker == worker)
            .map(|(r, f)| (*r, f.clone()))
            .collect();
        let mut commands = Vec::new();
        for (request, flight) in lost {
            self.in_flight.remove(&request);
            commands.extend(self.retry_once(request, &flight));
        }
        commands.extend(self.dispatch());
        commands
    }

    /// Requests waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// Requests running on workers.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn dispatch(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        while let Some((&key, _)) = self.queue.first_key_value() {
            let Some((&worker, _)) = self
                .workers
                .iter()
                .filter(|(_, (busy, cap))| busy < cap)
                .min_by_key(|(_, (busy, _))| *busy)
            else {
                break;
            };
            let Some((request, attempts)) = self.queue.remove(&key) else {
                break;
            };
            if let Some(slot) = self.workers.get_mut(&worker) {
                slot.0 += 1;
            }
            self.in_flight.insert(
                request,
                InFlight {
                    worker,
                    priority: 255 - key.0,
                    attempts,
                },
            );
            commands.push(Command::Dispatch(request, worker));
        }
        commands
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_retired_worker_finishes_its_requests_and_gets_no_more() {
        let mut state = super::SchedulerState::default();
        state.add_worker(1, 2);
        state.add_worker(2, 2);
        state.submit(10, 0);
        state.submit(11, 0);
        let on_1 = state.running(1).expect("known");
        assert_eq!(state.retire(1), on_1);
        let commands = state.submit(12, 0);
        assert_eq!(commands, vec![super::Command::Dispatch(12, 2)]);
        for request in [10, 11] {
            state.done(request);
        }
        assert_eq!(state.running(1), Some(0));
        assert_eq!(state.submit(13, 0), vec![super::Command::Dispatch(13, 2)]);
    }

    #[test]
    fn a_refused_request_is_requeued_once_then_failed() {
        let mut state = super::SchedulerState::default();
        assert!(state.add_worker(1, 1).is_empty());
        assert_eq!(state.submit(7, 0), vec![super::Command::Dispatch(7, 1)]);
        assert_eq!(
            state.request_failed(7),
            vec![super::Command::Dispatch(7, 1)]
        );
        assert_eq!(state.request_failed(7), vec![super::Command::Fail(7)]);
        assert!(state.request_failed(7).is_empty(), "unknown now");
        assert_eq!(state.workers(), vec![(1, 0, 1)], "its slot is free");
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fifo_within_priority_and_priority_first() {
        let mut s = SchedulerState::default();
        s.submit(1, 0);
        s.submit(2, 0);
        s.submit(3, 9);
        let cmds = s.add_worker(7, 2);
        assert_eq!(cmds, [Command::Dispatch(3, 7), Command::Dispatch(1, 7)]);
        let (known, cmds) = s.done(3);
        assert!(known);
        assert_eq!(cmds, [Command::Dispatch(2, 7)]);
        assert!(!s.done(3).0, "a duplicate completion is ignored");
    }

    #[test]
    fn a_cancelled_request_frees_its_slot_for_the_next() {
        let mut s = SchedulerState::default();
        s.add_worker(1, 2);
        s.submit(1, 0);
        s.submit(2, 0);
        assert_eq!(s.submit(3, 0), []);
        assert_eq!(s.cancel(3), [], "a queued request just leaves the queue");
        assert_eq!(s.submit(4, 0), []);
        assert_eq!(s.cancel(1), [Command::Abort(1, 1), Command::Dispatch(4, 1)]);
        assert_eq!(s.cancel(1), [], "cancelling twice is harmless");
        assert!(
            !s.done(1).0,
            "a late completion of a cancelled request is ignored"
        );
        assert_eq!(s.workers(), [(1, 2, 2)]);
        assert_eq!(s.fail_queued(), []);
        s.submit(5, 0);
        assert_eq!(s.fail_queued(), [Command::Fail(5)]);
        assert_eq!(s.queue_depth(), 0);
    }

    #[test]
    fn a_dead_worker_requeues_once_then_fails() {
        let mut s = SchedulerState::default();
        s.add_worker(1, 1);
        assert_eq!(s.submit(10, 0), [Command::Dispatch(10, 1)]);
        assert!(s.worker_failed(1).is_empty(), "requeued, no worker left");
        assert_eq!(s.add_worker(2, 1), [Command::Dispatch(10, 2)]);
        assert_eq!(s.worker_failed(2), [Command::Fail(10)]);
        assert_eq!(s.in_flight() + s.queue_depth(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Submit(u8),
        Done(usize),
        AddWorker(usize),
        KillWorker(usize),
        Cancel(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..3).prop_map(Op::Submit),
            (0usize..50).prop_map(Op::Done),
            (1usize..4).prop_map(Op::AddWorker),
            (0usize..8).prop_map(Op::KillWorker),
            (0usize..50).prop_map(Op::Cancel),
        ]
    }

    proptest! {
        /// No request is lost or duplicated, and no worker goes over its capacity.
        #[test]
        fn no_loss_no_duplicates_capacity_holds(ops in proptest::collection::vec(op(), 1..200)) {
            let mut s = SchedulerState::default();
            let mut next_request = 0u64;
            let mut next_worker = 0u32;
            let mut running: HashMap<RequestId, WorkerId> = HashMap::new();
            let mut capacity: HashMap<WorkerId, usize> = HashMap::new();
            let mut finished: HashMap<RequestId, &str> = HashMap::new();
            let mut submitted = 0u64;
            let apply = |cmds: Vec<Command>, running: &mut HashMap<RequestId, WorkerId>, finished: &mut HashMap<RequestId, &str>| {
                for c in cmds {
                    match c {
                        Command::Dispatch(r, w) => {
                            assert!(running.insert(r, w).is_none(), "request {r} dispatched twice");
                        }
                        Command::Fail(r) => {
                            assert!(finished.insert(r, "failed").is_none());
                        }
                        Command::Abort(r, _) => {
                            panic!("request {r} aborted outside a cancel");
                        }
                    }
                }
            };
            for o in ops {
                match o {
                    Op::Submit(p) => {
                        next_request += 1;
                        submitted += 1;
                        let c = s.submit(next_request, p);
                        apply(c, &mut running, &mut finished);
                    }
                    Op::Done(i) => {
                        if let Some(&r) = running.keys().nth(i % running.len().max(1)) {
                            running.remove(&r);
                            let (known, c) = s.done(r);
                            prop_assert!(known);
                            finished.insert(r, "done");
                            apply(c, &mut running, &mut finished);
                        }
                    }
                    Op::AddWorker(cap) => {
                        next_worker += 1;
                        capacity.insert(next_worker, cap);
                        let c = s.add_worker(next_worker, cap);
                        apply(c, &mut running, &mut finished);
                    }
                    Op::KillWorker(i) => {
                        if let Some(&w) = capacity.keys().nth(i % capacity.len().max(1)) {
                            capacity.remove(&w);
                            running.retain(|_, rw| *rw != w);
                            let c = s.worker_failed(w);
                            apply(c, &mut running, &mut finished);
                        }
                    }
                    Op::Cancel(i) => {
                        let r = (i as u64 % next_request.max(1)) + 1;
                        if r <= next_request && !finished.contains_key(&r) {
                            let was_running = running.remove(&r);
                            finished.insert(r, "cancelled");
                            let mut c = s.cancel(r);
                            // A running request's worker is told to stop it, first; a queued one
                            // just leaves the queue.
                            match was_running {
                                Some(w) => {
                                    prop_assert_eq!(c.first(), Some(&Command::Abort(r, w)));
                                    c.remove(0);
                                }
                                None => prop_assert!(!c.iter().any(|x| matches!(x, Command::Abort(..)))),
                            }
                            // Its slot is free again: whatever is dispatched now may use it.
                            prop_assert!(!c.iter().any(|x| matches!(x, Command::Dispatch(d, _) if *d == r)));
                            apply(c, &mut running, &mut finished);
                        }
                    }
                }
                for (w, cap) in &capacity {
                    prop_assert!(running.values().filter(|rw| *rw == w).count() <= *cap);
                }
                // The state's own view of each worker agrees with what was dispatched to it.
                for (w, busy, cap) in s.workers() {
                    prop_assert_eq!(busy, running.values().filter(|rw| **rw == w).count());
                    prop_assert_eq!(Some(&cap), capacity.get(&w).map(|c| c.max(&1)));
                }
                // Work never waits while a worker has room.
                let room = s.workers().iter().any(|(_, busy, cap)| busy < cap);
                prop_assert!(!(room && s.queue_depth() > 0), "a request waits although a worker has room");
                // Every submitted request is in exactly one place.
                let accounted = s.queue_depth() as u64 + running.len() as u64 + finished.len() as u64;
                prop_assert_eq!(accounted, submitted);
                prop_assert_eq!(s.in_flight(), running.len());
            }
        }
    }
}
