//! Tests of the admission planner: fixed cases, then property tests that drive it like the
//! engine does over random arrivals, lengths, cancellations and small block pools.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;

fn config(max_batch: usize, budget: usize, block_size: usize, num_blocks: usize) -> BatcherConfig {
    BatcherConfig {
        max_batch,
        max_tokens_per_step: budget,
        block_size,
        num_blocks,
    }
}

fn item(id: u64, start_pos: usize, n_tokens: usize, samples: bool) -> StepItem {
    StepItem {
        id,
        start_pos,
        n_tokens,
        samples,
    }
}

/// Runs a plan as the engine would, every sampling item appending one token.
fn run(batcher: &mut Batcher) -> StepPlan {
    let plan = batcher.plan();
    batcher.commit(&plan);
    for planned in plan.items.iter().filter(|planned| planned.samples) {
        batcher.push_token(planned.id);
    }
    plan
}

#[test]
fn chunks_long_prompts_and_runs_decodes_first() {
    let mut batcher = Batcher::new(config(4, 8, 4, 16));
    batcher.add(1, 0, 3).expect("fits");
    batcher.add(2, 0, 12).expect("fits");
    assert_eq!(
        run(&mut batcher).items,
        [item(1, 0, 3, true), item(2, 0, 5, false)]
    );
    assert_eq!(
        run(&mut batcher).items,
        [item(1, 3, 1, true), item(2, 5, 7, true)]
    );
    assert_eq!(
        run(&mut batcher).items,
        [item(1, 4, 1, true), item(2, 12, 1, true)]
    );
    assert_eq!(batcher.block_table(2).map(<[u32]>::len), Some(4));
}

#[test]
fn higher_priority_first_then_fifo() {
    let mut batcher = Batcher::new(config(1, 8, 4, 16));
    batcher.add(1, 0, 2).expect("fits");
    batcher.add(2, 5, 2).expect("fits");
    batcher.add(3, 5, 2).expect("fits");
    let mut order = Vec::new();
    while batcher.has_work() {
        let plan = run(&mut batcher);
        for planned in &plan.items {
            if planned.start_pos == 0 {
                order.push(planned.id);
            }
            batcher.finish(planned.id);
        }
    }
    assert_eq!(order, [2, 3, 1]);
}

#[test]
fn rejects_what_can_never_fit() {
    let mut batcher = Batcher::new(config(2, 8, 4, 2));
    assert!(batcher.add(1, 0, 9).is_err());
    assert!(batcher.add(1, 0, 0).is_err());
    batcher.add(1, 0, 8).expect("exactly the cache");
    assert!(batcher.add(1, 0, 2).is_err(), "duplicate id");
}

#[test]
fn preempts_the_youngest_and_resumes_it_by_recompute() {
    // Two sequences of 4 tokens in a pool of 3 blocks of 4: the first decode that needs a
    // second block preempts the younger sequence.
    let mut batcher = Batcher::new(config(2, 16, 4, 3));
    batcher.add(1, 0, 4).expect("fits");
    batcher.add(2, 0, 4).expect("fits");
    assert_eq!(run(&mut batcher).items.len(), 2);
    let plan = run(&mut batcher);
    assert_eq!(plan.items, [item(1, 4, 1, true)]);
    assert_eq!(plan.preempted, [2]);
    assert_eq!(batcher.stats().waiting, 1);
    assert_eq!(batcher.stats().preemptions, 1);
    batcher.finish(1);
    // Readmitted: prompt and generated token recomputed together.
    assert_eq!(run(&mut batcher).items, [item(2, 0, 5, true)]);
}

#[test]
fn cancel_frees_blocks_at_once() {
    let mut batcher = Batcher::new(config(2, 16, 4, 4));
    batcher.add(7, 0, 10).expect("fits");
    run(&mut batcher);
    assert_eq!(batcher.stats().free_blocks, 1);
    assert!(batcher.cancel(7));
    assert!(!batcher.cancel(7));
    assert_eq!(batcher.stats().free_blocks, 4);
    assert!(!batcher.has_work());
}

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        priority: u8,
        prompt: usize,
        max_new: usize,
    },
    Cancel(usize),
    Step,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..3, 1usize..40, 1usize..12)
            .prop_map(|(priority, prompt, max_new)| Op::Arrive { priority, prompt, max_new }),
        1 => (0usize..64).prop_map(Op::Cancel),
        5 => Just(Op::Step),
    ]
}

/// What the simulated engine knows of one request.
struct Simulated {
    generated: usize,
    max_new: usize,
    /// The position each of its items must start at next.
    computed: usize,
}

struct Harness {
    batcher: Batcher,
    live: HashMap<u64, Simulated>,
    ended: HashMap<u64, &'static str>,
    next_id: u64,
    rejected: u64,
}

impl Harness {
    fn step(&mut self) -> Result<(), TestCaseError> {
        let had_work = self.batcher.has_work();
        let plan = self.batcher.plan();
        let config = *self.batcher.config();
        prop_assert!(plan.items.len() <= config.max_batch);
        prop_assert!(plan.n_tokens() <= config.max_tokens_per_step);
        prop_assert!(
            !had_work || !plan.items.is_empty(),
            "no progress with work queued"
        );
        for preempted in &plan.preempted {
            self.live
                .get_mut(preempted)
                .expect("only live requests are preempted")
                .computed = 0;
        }
        let mut seen = HashSet::new();
        for planned in &plan.items {
            prop_assert!(seen.insert(planned.id), "a sequence twice in one step");
            prop_assert!(planned.n_tokens > 0);
            let live = self
                .live
                .get(&planned.id)
                .expect("planned requests are live");
            prop_assert_eq!(planned.start_pos, live.computed);
            let table = self.batcher.block_table(planned.id).expect("planned");
            prop_assert!(table.len() * config.block_size >= planned.start_pos + planned.n_tokens);
        }
        self.check_blocks()?;
        self.batcher.commit(&plan);
        for planned in &plan.items {
            let live = self
                .live
                .get_mut(&planned.id)
                .expect("planned requests are live");
            live.computed += planned.n_tokens;
            if !planned.samples {
                continue;
            }
            live.generated += 1;
            let len = self.batcher.len_of(planned.id).expect("live") + 1;
            if live.generated == live.max_new || len > config.max_len() {
                self.end(planned.id, "finished")?;
            } else {
                self.batcher.push_token(planned.id);
            }
        }
        Ok(())
    }

    fn end(&mut self, id: u64, how: &'static str) -> Result<(), TestCaseError> {
        prop_assert!(self.live.remove(&id).is_some());
        prop_assert!(self.ended.insert(id, how).is_none(), "ended twice");
        prop_assert!(self.batcher.finish(id) || how == "cancelled");
        prop_assert!(self.batcher.block_table(id).is_none());
        Ok(())
    }

    /// Every block is held by at most one sequence, and the free count adds up.
    fn check_blocks(&self) -> Result<(), TestCaseError> {
        let mut held = HashSet::new();
        for id in self.live.keys() {
            for &block in self.batcher.block_table(*id).expect("live") {
                prop_assert!(held.insert(block), "block {} held twice", block);
                prop_assert!(self.batcher.allocator.is_in_use(block));
            }
        }
        let stats = self.batcher.stats();
        prop_assert_eq!(stats.free_blocks + held.len(), stats.total_blocks);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_request_lost_budgets_hold_blocks_come_back(
        ops in prop::collection::vec(op(), 1..120),
        max_batch in 1usize..6,
        extra_budget in 0usize..20,
        block_size in 1usize..6,
        num_blocks in 8usize..24,
    ) {
        let batcher = Batcher::new(config(max_batch, max_batch + extra_budget, block_size, num_blocks));
        let max_len = batcher.config().max_len();
        let mut harness = Harness { batcher, live: HashMap::new(), ended: HashMap::new(), next_id: 0, rejected: 0 };
        for op in ops {
            match op {
                Op::Arrive { priority, prompt, max_new } => {
                    let id = harness.next_id;
                    harness.next_id += 1;
                    let added = harness.batcher.add(id, priority, prompt);
                    prop_assert_eq!(added.is_ok(), prompt <= max_len);
                    if added.is_ok() {
                        harness.live.insert(id, Simulated { generated: 0, max_new, computed: 0 });
                    } else {
                        harness.rejected += 1;
                    }
                }
                Op::Cancel(pick) => {
                    let id = pick as u64 % harness.next_id.max(1);
                    let was_live = harness.live.contains_key(&id);
                    prop_assert_eq!(harness.batcher.cancel(id), was_live);
                    if was_live {
                        harness.end(id, "cancelled")?;
                        harness.check_blocks()?;
                    }
                }
                Op::Step => harness.step()?,
            }
        }
        // Drain: everything left must finish within a generous bound.
        let mut steps = 0;
        while harness.batcher.has_work() {
            harness.step()?;
            steps += 1;
            prop_assert!(steps < 20_000, "the queue stopped making progress");
        }
        prop_assert!(harness.live.is_empty());
        // Every accepted request ended exactly once (`end` refuses a second time).
        prop_assert_eq!(harness.ended.len() as u64 + harness.rejected, harness.next_id);
        let stats = harness.batcher.stats();
        prop_assert_eq!(stats.free_blocks, stats.total_blocks);
        prop_assert_eq!((stats.running, stats.waiting), (0, 0));
    }
}
