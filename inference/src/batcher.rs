//! The pure admission planner: which sequences run in the next forward step, and how much.
//!
//! Functional core of continuous batching, with no model and no tokens: a sequence is known
//! by its id, priority, length (prompt plus generated tokens) and how many of its positions are
//! already in the KV cache. [`Batcher::plan`] picks one step's work — running decodes first,
//! then running prefill chunks, then new admissions from the waiting queue (highest priority
//! first, first in first out within a priority) — within `max_tokens_per_step` and `max_batch`,
//! chunking long prompts and preempting the most recently admitted sequence when cache blocks
//! run out. The engine runs the plan, then reports back with [`Batcher::commit`],
//! [`Batcher::push_token`] and [`Batcher::finish`].
//!
//! Invariants: every step's plan holds at most `max_batch` items and `max_tokens_per_step`
//! tokens; a block belongs to at most one sequence; finished, cancelled and preempted sequences
//! hold no blocks; the oldest running sequence always makes progress, so the queue never stalls
//! while any request alone fits the cache.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::blocks::{blocks_for, BlockAllocator, BlockTable};
use crate::InferenceError;

/// Limits of one planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Sequences running at once (the most items in one step).
    pub max_batch: usize,
    /// Tokens in one forward step, over all items. At least `max_batch`, so that every running
    /// decode fits in every step.
    pub max_tokens_per_step: usize,
    /// Positions per cache block.
    pub block_size: usize,
    /// Blocks in the cache.
    pub num_blocks: usize,
}

impl BatcherConfig {
    /// The most positions one sequence can hold: the whole cache.
    pub fn max_len(&self) -> usize {
        self.block_size * self.num_blocks
    }
}

/// One sequence's work in a step: run `n_tokens` tokens from `start_pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepItem {
    /// The sequence.
    pub id: u64,
    /// First position to run; every earlier position is already cached.
    pub start_pos: usize,
    /// Tokens to run: one for a decode, a chunk of the prompt for a prefill.
    pub n_tokens: usize,
    /// Whether this item reaches the end of the sequence, so its logits give the next token.
    pub samples: bool,
}

/// The work of one forward step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepPlan {
    /// Items in batch order.
    pub items: Vec<StepItem>,
    /// Sequences preempted while planning: their blocks were freed and they wait again, to be
    /// recomputed from position 0 when readmitted.
    pub preempted: Vec<u64>,
}

impl StepPlan {
    /// Tokens over all items.
    pub fn n_tokens(&self) -> usize {
        self.items.iter().map(|item| item.n_tokens).sum()
    }
}

/// Counters for stats and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatcherStats {
    /// Sequences admitted and not finished.
    pub running: usize,
    /// Sequences waiting for admission (new or preempted).
    pub waiting: usize,
    /// Cache blocks free.
    pub free_blocks: usize,
    /// Cache blocks in all.
    pub total_blocks: usize,
    /// Preemptions since the start.
    pub preemptions: u64,
}

#[derive(Debug)]
struct Sequence {
    priority: u8,
    /// Prompt plus generated tokens.
    len: usize,
    /// Positions already in the cache.
    computed: usize,
    table: BlockTable,
    /// Set while the sequence is in the plan being built.
    in_plan: bool,
}

/// The planner's state: waiting queue, running set and the block pool.
#[derive(Debug)]
pub struct Batcher {
    config: BatcherConfig,
    allocator: BlockAllocator,
    sequences: HashMap<u64, Sequence>,
    /// Highest priority first; each queue is first in, first out.
    waiting: BTreeMap<Reverse<u8>, VecDeque<u64>>,
    /// Admission order: oldest first.
    running: Vec<u64>,
    preemptions: u64,
}

impl Batcher {
    /// An idle planner. `max_batch` is raised to 1 and `max_tokens_per_step` to `max_batch`
    /// when smaller.
    pub fn new(mut config: BatcherConfig) -> Self {
        config.max_batch = config.max_batch.max(1);
        config.max_tokens_per_step = config.max_tokens_per_step.max(config.max_batch);
        config.block_size = config.block_size.max(1);
        Self {
            allocator: BlockAllocator::new(config.num_blocks),
            config,
            sequences: HashMap::new(),
            waiting: BTreeMap::new(),
            running: Vec::new(),
            preemptions: 0,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &BatcherConfig {
        &self.config
    }

    /// Queues a new sequence of `len` prompt tokens.
    pub fn add(&mut self, id: u64, priority: u8, len: usize) -> Result<(), InferenceError> {
        if self.sequences.contains_key(&id) {
            return Err(InferenceError::InvalidRequest(format!(
                "request id {id} is already in the engine"
            )));
        }
        if len == 0 {
            return Err(InferenceError::InvalidRequest("the prompt is empty".into()));
        }
        if len > self.config.max_len() {
            return Err(InferenceError::InvalidRequest(format!(
                "the prompt has {len} tokens but the KV cache holds at most {}",
                self.config.max_len()
            )));
        }
        self.sequences.insert(
            id,
            Sequence {
                priority,
                len,
                computed: 0,
                table: BlockTable::new(),
                in_plan: false,
            },
        );
        self.waiting
            .entry(Reverse(priority))
            .or_default()
            .push_back(id);
        Ok(())
    }

    /// Removes a sequence wherever it is and frees its blocks; false when unknown.
    pub fn cancel(&mut self, id: u64) -> bool {
        self.remove(id)
    }

    /// Removes a finished sequence and frees its blocks; false when unknown.
    pub fn finish(&mut self, id: u64) -> bool {
        self.remove(id)
    }

    /// Records one sampled token appended to a sequence.
    pub fn push_token(&mut self, id: u64) {
        if let Some(sequence) = self.sequences.get_mut(&id) {
            sequence.len += 1;
        }
    }

    /// Records that a plan ran: every item's positions are now cached.
    pub fn commit(&mut self, plan: &StepPlan) {
        for item in &plan.items {
            if let Some(sequence) = self.sequences.get_mut(&item.id) {
                if sequence.computed == item.start_pos {
                    sequence.computed += item.n_tokens;
                }
            }
        }
    }

    /// A sequence's cache blocks, in position order.
    pub fn block_table(&self, id: u64) -> Option<&[u32]> {
        self.sequences.get(&id).map(|s| s.table.blocks())
    }

    /// A sequence's length (prompt plus generated tokens).
    pub fn len_of(&self, id: u64) -> Option<usize> {
        self.sequences.get(&id).map(|s| s.len)
    }

    /// Whether any sequence is running or waiting.
    pub fn has_work(&self) -> bool {
        !self.sequences.is_empty()
    }

    /// Current counters.
    pub fn stats(&self) -> BatcherStats {
        BatcherStats {
            running: self.running.len(),
            waiting: self.waiting.values().map(VecDeque::len).sum(),
            free_blocks: self.allocator.num_free(),
            total_blocks: self.allocator.num_total(),
            preemptions: self.preemptions,
        }
    }

    /// Ids of running sequences, oldest admission first.
    pub fn running(&self) -> &[u64] {
        &self.running
    }

    /// Plans the next step, allocating the blocks it needs and preempting when they run out.
    pub fn plan(&mut self) -> StepPlan {
        let mut plan = StepPlan::default();
        let mut budget = self.config.max_tokens_per_step;
        for sequence in self.sequences.values_mut() {
            sequence.in_plan = false;
        }
        // Running decodes first, then running prefill chunks, each oldest first.
        for decodes in [true, false] {
            let mut index = 0;
            while index < self.running.len() && budget > 0 {
                let id = self.running[index];
                let sequence = &self.sequences[&id];
                let remaining = sequence.len - sequence.computed;
                if (remaining == 1) != decodes || sequence.in_plan {
                    index += 1;
                    continue;
                }
                match self.schedule_running(index, remaining.min(budget), &mut plan) {
                    Some(item) => {
                        budget -= item.n_tokens;
                        plan.items.push(item);
                        index += 1;
                    }
                    // Skipped this step, keeping its blocks; when it preempted itself instead,
                    // the next sequence now sits at `index`.
                    None => {
                        if self.running.get(index) == Some(&id) {
                            index += 1;
                        }
                    }
                }
            }
        }
        // Readmitting in the step that preempted would only thrash.
        if plan.preempted.is_empty() {
            self.admit(&mut budget, &mut plan);
        }
        plan
    }

    /// Fits `n_tokens` more tokens of running sequence `running[index]`, preempting younger
    /// sequences not yet in the plan when blocks are short. A prefill chunk shrinks to the
    /// blocks left; a decode that still does not fit preempts its own sequence.
    fn schedule_running(
        &mut self,
        index: usize,
        mut n_tokens: usize,
        plan: &mut StepPlan,
    ) -> Option<StepItem> {
        let id = self.running[index];
        let block_size = self.config.block_size;
        loop {
            let sequence = &self.sequences[&id];
            let missing = sequence
                .table
                .missing_for(sequence.computed + n_tokens, block_size);
            if missing <= self.allocator.num_free() {
                break;
            }
            let victim = self.running[index + 1..]
                .iter()
                .rev()
                .copied()
                .find(|other| !self.sequences[other].in_plan);
            if let Some(victim) = victim {
                self.preempt(victim, plan);
                continue;
            }
            let is_decode = sequence.len - sequence.computed == 1;
            let fits = (sequence.table.blocks().len() + self.allocator.num_free()) * block_size
                - sequence.computed;
            if !is_decode {
                if fits == 0 {
                    return None;
                }
                n_tokens = n_tokens.min(fits);
                break;
            }
            self.preempt(id, plan);
            return None;
        }
        let sequence = self
            .sequences
            .get_mut(&id)
            .expect("running ids are in the sequence map");
        let grown = sequence.table.grow_to(
            sequence.computed + n_tokens,
            block_size,
            &mut self.allocator,
        );
        debug_assert!(grown, "blocks were counted free just above");
        sequence.in_plan = true;
        Some(StepItem {
            id,
            start_pos: sequence.computed,
            n_tokens,
            samples: sequence.computed + n_tokens == sequence.len,
        })
    }

    /// Admits waiting sequences, head of the highest-priority queue first, while the batch has
    /// room, the budget lasts and the head's whole sequence fits in the free blocks.
    fn admit(&mut self, budget: &mut usize, plan: &mut StepPlan) {
        let block_size = self.config.block_size;
        while self.running.len() < self.config.max_batch && *budget > 0 {
            let Some((&priority, queue)) = self.waiting.iter_mut().next() else {
                break;
            };
            let Some(&id) = queue.front() else {
                self.waiting.remove(&priority);
                continue;
            };
            let sequence = self
                .sequences
                .get_mut(&id)
                .expect("waiting ids are in the sequence map");
            if blocks_for(sequence.len, block_size) > self.allocator.num_free() {
                break;
            }
            queue.pop_front();
            if queue.is_empty() {
                self.waiting.remove(&priority);
            }
            let n_tokens = sequence.len.min(*budget);
            let grown = sequence
                .table
                .grow_to(n_tokens, block_size, &mut self.allocator);
            debug_assert!(grown, "the whole sequence fits in the free blocks");
            sequence.computed = 0;
            sequence.in_plan = true;
            self.running.push(id);
            *budget -= n_tokens;
            plan.items.push(StepItem {
                id,
                start_pos: 0,
                n_tokens,
                samples: n_tokens == sequence.len,
            });
        }
    }

    /// Frees a running sequence's blocks and puts it back at the front of its priority's queue;
    /// it keeps its length, so readmission recomputes prompt and generated tokens.
    fn preempt(&mut self, id: u64, plan: &mut StepPlan) {
        let sequence = self
            .sequences
            .get_mut(&id)
            .expect("running ids are in the sequence map");
        sequence.table.release(&mut self.allocator);
        sequence.computed = 0;
        sequence.in_plan = false;
        let priority = sequence.priority;
        self.running.retain(|&other| other != id);
        self.waiting
            .entry(Reverse(priority))
            .or_default()
            .push_front(id);
        self.preemptions += 1;
        plan.preempted.push(id);
        tracing::debug!(sequence_id = id, "preempted: cache blocks ran out");
    }

    fn remove(&mut self, id: u64) -> bool {
        let Some(mut sequence) = self.sequences.remove(&id) else {
            return false;
        };
        sequence.table.release(&mut self.allocator);
        self.running.retain(|&other| other != id);
        let key = Reverse(sequence.priority);
        if let Some(queue) = self.waiting.get_mut(&key) {
            queue.retain(|&other| other != id);
            if queue.is_empty() {
                self.waiting.remove(&key);
            }
        }
        true
    }
}

#[cfg(test)]
#[path = "batcher_tests.rs"]
mod tests;
