//! The engine's outputs do not depend on batching: a request gives the same tokens and text
//! whether it runs alone or with others, in prefill chunks, or preempted and recomputed.
//!
//! Three models: a fake one whose logits are a hash of the sequence's history, read back from
//! its own paged cache through the block tables the engine hands it (so a wrong table, a shared
//! block or a lost position changes the output); a tiny random-weight llama built here; and the
//! real SmolLM2 GGUF from `CODEBEGEN_TEST_MODEL` (skipped when unset unless
//! `CODEBEGEN_REQUIRE_MODEL=1`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use codebegen_inference::chat::{chatml, ChatMessage};
use codebegen_inference::config::{CacheConfig, KvDtype};
use codebegen_inference::constrained::TokenConstraint;
use codebegen_inference::engine::{Engine, EngineConfig, EngineEvent, FinishReason, Request};
use codebegen_inference::model::LlamaModel;
use codebegen_inference::sampling::{SamplingParams, TokenMask};
use codebegen_inference::tokenizer::Tokenizer;
use codebegen_inference::{BatchItem, Forward, InferenceError};

/// Vocabulary of the test tokenizer and the small models: `<|endoftext|>`, `!`..`~`, `▁`.
const VOCAB: usize = 96;
const EOS: u32 = 0;

/// A WordLevel tokenizer.json over [`VOCAB`] one-character tokens, written to `dir`.
fn test_tokenizer(dir: &Path) -> Tokenizer {
    let mut vocab = serde_json::Map::new();
    vocab.insert("<|endoftext|>".into(), 0.into());
    for (id, byte) in (1u32..).zip(b'!'..=b'~') {
        vocab.insert(char::from(byte).to_string(), id.into());
    }
    vocab.insert("\u{2581}".into(), 95.into());
    assert_eq!(vocab.len(), VOCAB);
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [{"id": 0, "content": "<|endoftext|>", "single_word": false,
                          "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<|endoftext|>"}
    });
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, json.to_string()).expect("write tokenizer.json");
    Tokenizer::from_file(&path).expect("test tokenizer loads")
}

/// A model whose logits are a hash of every token of the sequence, read back from its paged
/// cache: each position's token is stored in the block slot the table names.
struct HashModel {
    block_size: usize,
    cache: Vec<Option<u32>>,
}

impl HashModel {
    fn new(block_size: usize, num_blocks: usize) -> Self {
        Self {
            block_size,
            cache: vec![None; block_size * num_blocks],
        }
    }

    fn slot(&self, table: &[u32], pos: usize) -> usize {
        table[pos / self.block_size] as usize * self.block_size + pos % self.block_size
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Forward for HashModel {
    fn vocab_size(&self) -> usize {
        VOCAB
    }
    fn block_size(&self) -> usize {
        self.block_size
    }
    fn num_blocks(&self) -> usize {
        self.cache.len() / self.block_size
    }
    fn forward(&mut self, items: &[BatchItem<'_>]) -> Result<Vec<Vec<f32>>, InferenceError> {
        let mut owner = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            let end = item.start_pos + item.tokens.len();
            for &block in &item.block_table[..end.div_ceil(self.block_size)] {
                if owner.insert(block, index).is_some() {
                    return Err(InferenceError::Model(format!("block {block} in two items")));
                }
            }
        }
        let mut rows = Vec::new();
        for item in items {
            for (offset, &token) in item.tokens.iter().enumerate() {
                let slot = self.slot(item.block_table, item.start_pos + offset);
                self.cache[slot] = Some(token);
            }
            let mut hash = 0x243F_6A88_85A3_08D3u64;
            for pos in 0..item.start_pos + item.tokens.len() {
                let token = self.cache[self.slot(item.block_table, pos)]
                    .ok_or_else(|| InferenceError::Model(format!("position {pos} not cached")))?;
                hash = mix(hash ^ u64::from(token));
            }
            let row = (0..VOCAB as u64)
                .map(|token| (mix(hash ^ (token << 32)) >> 40) as f32 / (1u64 << 24) as f32)
                .enumerate()
                .map(|(token, logit)| {
                    if token == EOS as usize {
                        logit - 0.6
                    } else {
                        4.0 * logit
                    }
                })
                .collect();
            rows.push(row);
        }
        Ok(rows)
    }
}

/// How one request ended, and everything it streamed.
#[derive(Debug, Clone, PartialEq)]
struct Output {
    tokens: Vec<u32>,
    text: String,
    reason: FinishReason,
    n_prompt: usize,
    n_generated: usize,
}

/// Steps until idle; checks that every request ends exactly once and that its token texts add
/// up to its final text.
fn drain(engine: &mut Engine) -> BTreeMap<u64, Output> {
    drain_after(engine, Vec::new())
}

/// [`drain`], counting `earlier` events returned by steps the caller ran itself.
fn drain_after(engine: &mut Engine, earlier: Vec<EngineEvent>) -> BTreeMap<u64, Output> {
    let mut streamed: HashMap<u64, (Vec<u32>, String)> = HashMap::new();
    let mut outputs = BTreeMap::new();
    let mut steps = 0;
    let mut events = earlier;
    loop {
        for event in std::mem::take(&mut events) {
            match event {
                EngineEvent::Token { id, token, text } => {
                    assert!(!outputs.contains_key(&id), "token after finish");
                    let entry = streamed.entry(id).or_default();
                    entry.0.push(token);
                    entry.1.push_str(&text);
                }
                EngineEvent::Finished {
                    id,
                    reason,
                    text,
                    n_prompt,
                    n_generated,
                } => {
                    let (tokens, streamed_text) = streamed.remove(&id).unwrap_or_default();
                    assert_eq!(
                        streamed_text, text,
                        "request {id}: streamed text != final text"
                    );
                    let output = Output {
                        tokens,
                        text,
                        reason,
                        n_prompt,
                        n_generated,
                    };
                    assert!(
                        outputs.insert(id, output).is_none(),
                        "request {id} finished twice"
                    );
                }
            }
        }
        if !engine.has_work() {
            break;
        }
        steps += 1;
        assert!(steps < 10_000, "the engine stopped making progress");
        events = engine.step().expect("step");
    }
    assert!(
        streamed.is_empty(),
        "tokens of requests that never finished: {streamed:?}"
    );
    let stats = engine.stats();
    assert_eq!(
        stats.free_blocks, stats.total_blocks,
        "idle engine holds blocks"
    );
    assert_eq!((stats.running, stats.waiting), (0, 0));
    outputs
}

fn run(engine: &mut Engine, requests: Vec<Request>) -> BTreeMap<u64, Output> {
    for request in requests {
        engine.submit(request).expect("valid request");
    }
    drain(engine)
}

/// Runs each request alone on a fresh engine from `make`.
fn run_alone(make: &dyn Fn() -> Engine, requests: Vec<Request>) -> BTreeMap<u64, Output> {
    requests
        .into_iter()
        .flat_map(|request| run(&mut make(), vec![request]))
        .collect()
}

fn request(id: u64, prompt: Vec<u32>, params: SamplingParams) -> Request {
    Request {
        id,
        prompt,
        params,
        constraint: None,
        priority: 0,
    }
}

fn prompt(seed: u64, len: usize) -> Vec<u32> {
    (0..len as u64)
        .map(|i| 1 + (mix(seed * 1000 + i) % (VOCAB as u64 - 1)) as u32)
        .collect()
}

/// Five requests of different lengths, greedy and sampled.
fn hash_requests() -> Vec<Request> {
    let lengths = [1, 6, 13, 30, 47];
    (0..5u64)
        .map(|id| {
            let params = SamplingParams {
                temperature: if id % 2 == 0 { 0.0 } else { 0.9 },
                top_k: (id == 3).then_some(20),
                top_p: (id == 1).then_some(0.9),
                seed: id + 7,
                max_tokens: 20 + 5 * id as usize,
                ..SamplingParams::default()
            };
            request(id, prompt(id, lengths[id as usize]), params)
        })
        .collect()
}

fn hash_engine(dir: &Path, block_size: usize, num_blocks: usize, config: EngineConfig) -> Engine {
    let model = HashModel::new(block_size, num_blocks);
    Engine::new(Box::new(model), test_tokenizer(dir), config)
}

fn batch(max_batch: usize, max_tokens_per_step: usize) -> EngineConfig {
    EngineConfig {
        max_batch,
        max_tokens_per_step,
    }
}

#[test]
fn hash_model_outputs_do_not_depend_on_batching_or_preemption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alone = run_alone(
        &|| hash_engine(dir.path(), 4, 64, batch(1, 64)),
        hash_requests(),
    );
    assert_eq!(alone.len(), 5);
    assert!(
        alone.values().any(|o| o.n_generated > 10),
        "outputs long enough to compare"
    );

    let mut batched = hash_engine(dir.path(), 4, 64, batch(8, 16));
    assert_eq!(
        run(&mut batched, hash_requests()),
        alone,
        "batched with chunked prefill"
    );
    assert_eq!(batched.stats().preemptions, 0);

    // 24 blocks of 4: every request fits alone (47 + 40 positions), not all together.
    let mut tight = hash_engine(dir.path(), 4, 24, batch(5, 32));
    assert_eq!(
        run(&mut tight, hash_requests()),
        alone,
        "across preemptions"
    );
    assert!(
        tight.stats().preemptions > 0,
        "the tiny pool forced preemptions"
    );
}

#[test]
fn cancel_frees_blocks_and_leaves_the_others_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let make = || hash_engine(dir.path(), 4, 64, batch(8, 64));
    let alone = run_alone(&make, hash_requests());
    let mut engine = make();
    for request in hash_requests() {
        engine.submit(request).expect("valid");
    }
    let mut events = engine.step().expect("step");
    events.extend(engine.step().expect("step"));
    let free_before = engine.stats().free_blocks;
    assert!(engine.cancel(4));
    assert!(!engine.cancel(4), "already cancelled");
    assert!(
        engine.stats().free_blocks > free_before,
        "cancel frees blocks at once"
    );
    let outputs = drain_after(&mut engine, events);
    assert_eq!(outputs[&4].reason, FinishReason::Cancelled);
    assert_eq!(outputs[&4].n_generated, 1);
    for id in 0..4 {
        assert_eq!(outputs[&id], alone[&id]);
    }
}

#[test]
fn stop_strings_cut_the_text_and_max_tokens_ends_with_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let make = || hash_engine(dir.path(), 4, 64, batch(4, 64));
    let params = SamplingParams {
        max_tokens: 30,
        ..SamplingParams::default()
    };
    let full = run(&mut make(), vec![request(1, prompt(9, 5), params.clone())]);
    let full = &full[&1];
    assert_eq!(full.reason, FinishReason::Length);
    assert_eq!(full.n_generated, 30);
    // A stop string from the middle of the text: the output ends just before it.
    let chars: Vec<char> = full.text.chars().collect();
    let stop: String = chars[12..15].iter().collect();
    let expected = &full.text[..full.text.find(&stop).expect("in the text")];
    let stopped = SamplingParams {
        stop_strings: vec![stop.clone()],
        ..params
    };
    let cut = run(&mut make(), vec![request(1, prompt(9, 5), stopped)]);
    assert_eq!(cut[&1].reason, FinishReason::Stop, "stop string {stop:?}");
    assert_eq!(cut[&1].text, expected);
}

#[test]
fn a_full_cache_ends_with_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = hash_engine(dir.path(), 4, 4, batch(2, 16));
    assert_eq!(engine.max_sequence_len(), 16);
    let params = SamplingParams {
        max_tokens: 100,
        ..SamplingParams::default()
    };
    let outputs = run(&mut engine, vec![request(1, prompt(3, 14), params)]);
    // Positions 14 and 15 take the first two tokens; the third would need position 16.
    // (Greedy never picks eos from the hash model: its logit is at most 0.4, others up to 4.)
    assert_eq!(outputs[&1].reason, FinishReason::Length);
    assert_eq!(outputs[&1].n_generated, 3);
}

#[test]
fn submit_rejects_what_cannot_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = hash_engine(dir.path(), 4, 4, batch(2, 16));
    let ok = SamplingParams::default();
    let reject = |engine: &mut Engine, request| {
        assert!(matches!(
            engine.submit(request),
            Err(InferenceError::InvalidRequest(_))
        ));
    };
    reject(&mut engine, request(1, prompt(1, 17), ok.clone()));
    reject(&mut engine, request(1, Vec::new(), ok.clone()));
    reject(&mut engine, request(1, vec![VOCAB as u32], ok.clone()));
    let bad = SamplingParams {
        temperature: -1.0,
        ..ok.clone()
    };
    reject(&mut engine, request(1, prompt(1, 3), bad));
    engine
        .submit(request(1, prompt(1, 16), ok.clone()))
        .expect("exactly fills the cache");
    reject(&mut engine, request(1, prompt(1, 3), ok));
    assert_eq!(engine.stats().waiting, 1);
}

/// Allows only `allowed` tokens; rejects the `fail_at`-th advance; complete (only eos
/// allowed) after `complete_after` advances.
struct PickyConstraint {
    allowed: Vec<u32>,
    advanced: usize,
    fail_at: Option<usize>,
    complete_after: Option<usize>,
}

impl TokenConstraint for PickyConstraint {
    fn mask(&mut self) -> TokenMask {
        let mut mask = TokenMask::none(VOCAB);
        if self.is_complete() {
            mask.allow(EOS);
            return mask;
        }
        for &token in &self.allowed {
            mask.allow(token);
        }
        mask
    }
    fn advance(&mut self, _token: u32) -> Result<(), InferenceError> {
        self.advanced += 1;
        if Some(self.advanced) == self.fail_at {
            return Err(InferenceError::InvalidRequest("picky".into()));
        }
        Ok(())
    }
    fn is_complete(&self) -> bool {
        self.complete_after.is_some_and(|n| self.advanced >= n)
    }
}

#[test]
fn a_failing_constraint_fails_only_its_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let make = || hash_engine(dir.path(), 4, 64, batch(8, 64));
    let alone = run_alone(&make, hash_requests());
    let mut requests = hash_requests();
    let picky = |allowed, fail_at, complete_after| PickyConstraint {
        allowed,
        advanced: 0,
        fail_at,
        complete_after,
    };
    requests.push(Request {
        constraint: Some(Box::new(picky(vec![5, 6, 7], Some(3), None))),
        ..request(10, prompt(10, 4), SamplingParams::default())
    });
    requests.push(Request {
        constraint: Some(Box::new(picky(vec![5, 6, 7], None, None))),
        ..request(
            11,
            prompt(11, 4),
            SamplingParams {
                max_tokens: 8,
                ..Default::default()
            },
        )
    });
    let params = SamplingParams {
        max_tokens: 20,
        ..Default::default()
    };
    requests.push(Request {
        constraint: Some(Box::new(picky(vec![8, 9], None, Some(4)))),
        ..request(12, prompt(12, 4), params.clone())
    });
    requests.push(Request {
        constraint: Some(Box::new(picky(vec![EOS], None, None))),
        ..request(13, prompt(13, 4), params)
    });
    let mut outputs = run(&mut make(), requests);
    let complete = outputs.remove(&12).expect("finished");
    assert_eq!(complete.reason, FinishReason::Stop, "ends once complete");
    assert_eq!(complete.n_generated, 4, "no step spent on the forced eos");
    assert!(complete.tokens.iter().all(|t| [8, 9].contains(t)));
    let early_eos = outputs.remove(&13).expect("finished");
    assert!(
        matches!(early_eos.reason, FinishReason::Failed(_)),
        "eos before the constrained output is complete: {early_eos:?}"
    );
    let failed = outputs.remove(&10).expect("finished");
    assert!(
        matches!(failed.reason, FinishReason::Failed(_)),
        "{failed:?}"
    );
    assert_eq!(
        failed.tokens.len(),
        2,
        "two tokens streamed before the failing one"
    );
    let constrained = outputs.remove(&11).expect("finished");
    assert_eq!(constrained.reason, FinishReason::Length);
    assert!(
        constrained.tokens.iter().all(|t| [5, 6, 7].contains(t)),
        "{constrained:?}"
    );
    assert_eq!(outputs, alone, "the others are unaffected");
}

// ---- A tiny random-weight llama, built here and loaded from safetensors. ----

/// Writes a 2-layer llama (tied embeddings) with random weights to `dir`.
fn write_tiny_llama(dir: &Path) {
    use candle_core::{Device, Tensor};
    let (hidden, ffn, layers, heads, kv_heads) = (64usize, 128usize, 2usize, 4usize, 2usize);
    let kv_dim = kv_heads * hidden / heads;
    let mut state = 0x5EED_u64;
    let mut tensor = |shape: &[usize], scale: f32, offset: f32| {
        let values: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let unit = (mix(state) >> 40) as f32 / (1u64 << 24) as f32;
                offset + scale * (2.0 * unit - 1.0)
            })
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).expect("shape")
    };
    let mut tensors = HashMap::new();
    tensors.insert(
        "model.embed_tokens.weight".to_string(),
        tensor(&[VOCAB, hidden], 1.0, 0.0),
    );
    tensors.insert("model.norm.weight".to_string(), tensor(&[hidden], 0.2, 1.0));
    for layer in 0..layers {
        let shapes: [(&str, Vec<usize>, f32, f32); 9] = [
            ("input_layernorm.weight", vec![hidden], 0.2, 1.0),
            ("post_attention_layernorm.weight", vec![hidden], 0.2, 1.0),
            ("self_attn.q_proj.weight", vec![hidden, hidden], 0.3, 0.0),
            ("self_attn.k_proj.weight", vec![kv_dim, hidden], 0.3, 0.0),
            ("self_attn.v_proj.weight", vec![kv_dim, hidden], 0.3, 0.0),
            ("self_attn.o_proj.weight", vec![hidden, hidden], 0.2, 0.0),
            ("mlp.gate_proj.weight", vec![ffn, hidden], 0.2, 0.0),
            ("mlp.up_proj.weight", vec![ffn, hidden], 0.2, 0.0),
            ("mlp.down_proj.weight", vec![hidden, ffn], 0.2, 0.0),
        ];
        for (name, shape, scale, offset) in shapes {
            tensors.insert(
                format!("model.layers.{layer}.{name}"),
                tensor(&shape, scale, offset),
            );
        }
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).expect("save");
    let config = serde_json::json!({
        "model_type": "llama", "vocab_size": VOCAB, "hidden_size": hidden,
        "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "max_position_embeddings": 256, "tie_word_embeddings": true, "hidden_act": "silu"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("write config");
}

fn tiny_llama_engine(dir: &Path, num_blocks: usize, config: EngineConfig) -> Engine {
    let cache = CacheConfig {
        block_size: 4,
        num_blocks,
        dtype: KvDtype::F16,
    };
    let model = LlamaModel::from_safetensors(dir, cache).expect("tiny llama loads");
    Engine::new(Box::new(model), test_tokenizer(dir), config)
}

fn greedy_requests(prompts: &[Vec<u32>], max_tokens: usize) -> Vec<Request> {
    let params = SamplingParams {
        max_tokens,
        ..SamplingParams::default()
    };
    (0u64..)
        .zip(prompts)
        .map(|(id, p)| request(id, p.clone(), params.clone()))
        .collect()
}

#[test]
fn tiny_llama_greedy_is_the_same_alone_batched_and_preempted() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tiny_llama(dir.path());
    let prompts: Vec<Vec<u32>> = [3, 9, 17, 26]
        .iter()
        .map(|&n| prompt(n as u64, n))
        .collect();
    let requests = || greedy_requests(&prompts, 12);
    let alone = run_alone(
        &|| tiny_llama_engine(dir.path(), 64, batch(1, 64)),
        requests(),
    );
    let distinct: std::collections::HashSet<u32> = alone
        .values()
        .flat_map(|o| o.tokens.iter().copied())
        .collect();
    assert!(
        distinct.len() > 3,
        "a degenerate model would prove little: {alone:?}"
    );

    let mut batched = tiny_llama_engine(dir.path(), 64, batch(4, 16));
    assert_eq!(
        run(&mut batched, requests()),
        alone,
        "batched, chunked prefill"
    );

    // 12 blocks of 4 = 48 positions: each request fits alone (26 + 12), not all four.
    let mut tight = tiny_llama_engine(dir.path(), 12, batch(4, 64));
    assert_eq!(run(&mut tight, requests()), alone, "across preemptions");
    assert!(tight.stats().preemptions > 0);
}

// ---- The real SmolLM2. ----

fn model_path() -> Option<PathBuf> {
    match std::env::var_os("CODEBEGEN_TEST_MODEL") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(
                std::env::var("CODEBEGEN_REQUIRE_MODEL").as_deref() != Ok("1"),
                "CODEBEGEN_REQUIRE_MODEL=1 but CODEBEGEN_TEST_MODEL is not set"
            );
            println!("skipped: CODEBEGEN_TEST_MODEL not set");
            None
        }
    }
}

#[test]
fn smollm2_greedy_is_the_same_alone_and_batched() {
    let Some(path) = model_path() else { return };
    let load = |num_blocks, config| {
        Engine::load_gguf(
            &path,
            config,
            CacheConfig {
                block_size: 16,
                num_blocks,
                dtype: KvDtype::F16,
            },
        )
        .expect("SmolLM2 loads")
    };
    let mut engine = load(64, batch(1, 512));
    let prompts: Vec<Vec<u32>> = [
        "What is the capital of France?",
        "Write a Python function that returns the square of a number.",
        "List three colors of the rainbow.",
    ]
    .iter()
    .map(|text| {
        let chat = chatml(&[ChatMessage::user(*text)], true);
        engine.tokenizer().encode(&chat).expect("encode")
    })
    .collect();
    let mut alone = BTreeMap::new();
    for request in greedy_requests(&prompts, 24) {
        alone.extend(run(&mut engine, vec![request]));
    }
    for output in alone.values() {
        println!("{:?} {:?}", output.reason, output.text);
        assert!(!output.text.trim().is_empty());
    }
    let mut batched = load(64, batch(4, 512));
    assert_eq!(
        run(&mut batched, greedy_requests(&prompts, 24)),
        alone,
        "batched"
    );
    // 5 blocks of 16 = 80 positions: each request fits alone, the three together do not.
    assert!(
        prompts.iter().all(|p| p.len() + 24 <= 80),
        "prompt lengths changed"
    );
    let mut tight = load(5, batch(4, 512));
    assert_eq!(
        run(&mut tight, greedy_requests(&prompts, 24)),
        alone,
        "across preemptions"
    );
    assert!(
        tight.stats().preemptions > 0,
        "the small cache forced preemptions"
    );
}

#[test]
fn the_engine_runs_on_its_own_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let make = || hash_engine(dir.path(), 4, 64, batch(8, 64));
    let here = run(&mut make(), hash_requests());
    let mut engine = make();
    let there = std::thread::spawn(move || run(&mut engine, hash_requests()))
        .join()
        .expect("engine thread");
    assert_eq!(there, here);
}
