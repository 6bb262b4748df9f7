//! Live counters shared by the actors and read by `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::service::ServiceMetrics;

/// Atomic counters; every actor holds an `Arc` of one.
#[derive(Debug, Default)]
pub struct Counters {
    /// Live user actors.
    pub users: AtomicU64,
    /// Live generation actors.
    pub generations: AtomicU64,
    /// Live model workers.
    pub workers: AtomicU64,
    /// Scheduler queue depth.
    pub queue_depth: AtomicU64,
    /// Actor restarts since start.
    pub restarts: AtomicU64,
    /// Generations taken over from another node.
    pub takeovers: AtomicU64,
    /// Finished stage durations: (stage, seconds), drained by the metrics scrape.
    pub stage_durations: Mutex<Vec<(&'static str, f64)>>,
}

impl Counters {
    /// Adds one.
    pub fn up(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one, never below zero.
    pub fn down(counter: &AtomicU64) {
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(1))
        });
    }

    /// Records a finished stage.
    pub fn stage_finished(&self, stage: &'static str, seconds: f64) {
        if let Ok(mut d) = self.stage_durations.lock() {
            if d.len() < 10_000 {
                d.push((stage, seconds));
            }
        }
    }

    /// A snapshot.
    pub fn snapshot(&self) -> ServiceMetrics {
        ServiceMetrics {
            live_users: self.users.load(Ordering::Relaxed),
            live_generations: self.generations.load(Ordering::Relaxed),
            live_workers: self.workers.load(Ordering::Relaxed),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            takeovers: self.takeovers.load(Ordering::Relaxed),
        }
    }

    /// Takes the stage durations recorded since the last call.
    pub fn drain_stage_durations(&self) -> Vec<(&'static str, f64)> {
        self.stage_durations
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }
}
