//! Live event fan-out: one broadcast channel per generation with subscribers. Events are stored
//! before they are published, so a subscriber that also reads the store misses nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use codebegen_schema::generation::{GenerationEvent, GenerationId};
use tokio::sync::broadcast;

const CAPACITY: usize = 1024;

/// The channels.
#[derive(Debug, Default)]
pub struct EventHub {
    channels: Mutex<HashMap<GenerationId, broadcast::Sender<GenerationEvent>>>,
}

impl EventHub {
    /// Subscribes to a generation's future events. Channels nobody listens to any more are
    /// dropped first: a generation that runs on another node never publishes its final event
    /// here, so its channel would otherwise stay forever.
    pub fn subscribe(&self, id: GenerationId) -> broadcast::Receiver<GenerationEvent> {
        match self.channels.lock() {
            Ok(mut channels) => {
                channels.retain(|_, sender| sender.receiver_count() > 0);
                channels
                    .entry(id)
                    .or_insert_with(|| broadcast::channel(CAPACITY).0)
                    .subscribe()
            }
            Err(_) => broadcast::channel(1).1,
        }
    }

    /// Publishes an event; a final event closes the channel after delivery.
    pub fn publish(&self, event: &GenerationEvent) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        if let Some(sender) = channels.get(&event.generation_id) {
            let _ = sender.send(event.clone());
            if event.kind.is_final() {
                channels.remove(&event.generation_id);
            }
        }
    }
}
