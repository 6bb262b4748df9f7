//! Our batched forward pass against candle-transformers on tiny random-weight models.
//!
//! Each model is created here (llama with tied embeddings, qwen2 with qkv biases and its own
//! output projection), written as GGUF (F32 and Q8_0 tensors) and as safetensors +
//! config.json, loaded with our loader and with candle-transformers, which runs each sequence
//! alone, token by token, as the reference. Our model then runs the same sequences token by
//! token, in prefill chunks, and several at once in one step (prefill and decode items at
//! different positions) with shuffled block tables, and the logits must agree.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{llama, quantized_llama, quantized_qwen2, qwen2};
use codebegen_inference::config::{Arch, CacheConfig, KvDtype};
use codebegen_inference::model::{HostModel, LlamaModel};
use codebegen_inference::{BatchItem, Forward};
use codebegen_kernels::step::HostKernels;

/// Logits tolerance for F32 weights (the bound).
const F32_TOLERANCE: f32 = 1e-4;

const VOCAB: usize = 96;
const HIDDEN: usize = 64;
const FFN: usize = 96;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const ROPE_THETA: f32 = 10_000.0;
const RMS_EPS: f32 = 1e-5;
const BLOCK_SIZE: usize = 4;
const NUM_BLOCKS: usize = 40;

/// A tiny model's tensors under Hugging Face names, f32.
struct TinyModel {
    arch: Arch,
    tensors: Vec<(String, Tensor)>,
}

/// splitmix64: deterministic weights without a dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }

    fn tensor(&mut self, shape: &[usize], low: f32, high: f32) -> Tensor {
        let len: usize = shape.iter().product();
        let values: Vec<f32> = (0..len)
            .map(|_| low + (high - low) * self.next_f32())
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).expect("shape matches")
    }
}

impl TinyModel {
    fn new(arch: Arch, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let head_dim = HIDDEN / HEADS;
        let kv_dim = KV_HEADS * head_dim;
        let mut tensors = vec![
            (
                "model.embed_tokens.weight".to_string(),
                rng.tensor(&[VOCAB, HIDDEN], -1.0, 1.0),
            ),
            (
                "model.norm.weight".to_string(),
                rng.tensor(&[HIDDEN], 0.8, 1.2),
            ),
        ];
        if arch == Arch::Qwen2 {
            tensors.push((
                "lm_head.weight".into(),
                rng.tensor(&[VOCAB, HIDDEN], -0.3, 0.3),
            ));
        }
        for layer in 0..LAYERS {
            let name = |suffix: &str| format!("model.layers.{layer}.{suffix}");
            let mut push = |suffix: &str, shape: &[usize], low: f32, high: f32| {
                tensors.push((name(suffix), rng.tensor(shape, low, high)));
            };
            push("input_layernorm.weight", &[HIDDEN], 0.8, 1.2);
            push("self_attn.q_proj.weight", &[HIDDEN, HIDDEN], -0.25, 0.25);
            push("self_attn.k_proj.weight", &[kv_dim, HIDDEN], -0.25, 0.25);
            push("self_attn.v_proj.weight", &[kv_dim, HIDDEN], -0.25, 0.25);
            push("self_attn.o_proj.weight", &[HIDDEN, HIDDEN], -0.2, 0.2);
            push("post_attention_layernorm.weight", &[HIDDEN], 0.8, 1.2);
            push("mlp.gate_proj.weight", &[FFN, HIDDEN], -0.2, 0.2);
            push("mlp.up_proj.weight", &[FFN, HIDDEN], -0.2, 0.2);
            push("mlp.down_proj.weight", &[HIDDEN, FFN], -0.2, 0.2);
            if arch == Arch::Qwen2 {
                push("self_attn.q_proj.bias", &[HIDDEN], -0.5, 0.5);
                push("self_attn.k_proj.bias", &[kv_dim], -0.5, 0.5);
                push("self_attn.v_proj.bias", &[kv_dim], -0.5, 0.5);
            }
        }
        Self { arch, tensors }
    }

    /// The same model with every matrix rounded through Q8_0 and stored back as f32: the
    /// exact-arithmetic counterpart of the Q8_0 file.
    fn rounded_to_q8_0(&self) -> Self {
        let tensors = self
            .tensors
            .iter()
            .map(|(name, tensor)| {
                let rounded = if tensor.rank() == 2 {
                    QTensor::quantize(tensor, GgmlDType::Q8_0)
                        .and_then(|q| q.dequantize(&Device::Cpu))
                        .expect("round through Q8_0")
                } else {
                    tensor.clone()
                };
                (name.clone(), rounded)
            })
            .collect();
        Self {
            arch: self.arch,
            tensors,
        }
    }

    fn arch_name(&self) -> &'static str {
        match self.arch {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::json!({
            "model_type": self.arch_name(), "vocab_size": VOCAB, "hidden_size": HIDDEN,
            "intermediate_size": FFN, "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
            "rope_theta": ROPE_THETA, "rms_norm_eps": RMS_EPS,
            "max_position_embeddings": 256, "tie_word_embeddings": self.arch == Arch::Llama,
            "sliding_window": 4096, "max_window_layers": LAYERS, "use_sliding_window": false,
            "hidden_act": "silu"
        })
    }

    fn write_safetensors(&self, dir: &Path) {
        let map: HashMap<String, Tensor> = self.tensors.iter().cloned().collect();
        candle_core::safetensors::save(&map, dir.join("model.safetensors")).expect("save");
        std::fs::write(dir.join("config.json"), self.config_json().to_string()).expect("write");
    }

    /// Writes a GGUF file; matrices in `dtype`, vectors in F32.
    fn write_gguf(&self, path: &Path, dtype: GgmlDType) {
        let arch = self.arch_name();
        let key = |suffix: &str| format!("{arch}.{suffix}");
        let metadata: Vec<(String, gguf_file::Value)> = vec![
            (
                "general.architecture".into(),
                gguf_file::Value::String(arch.into()),
            ),
            (
                key("embedding_length"),
                gguf_file::Value::U32(HIDDEN as u32),
            ),
            (
                key("feed_forward_length"),
                gguf_file::Value::U32(FFN as u32),
            ),
            (key("block_count"), gguf_file::Value::U32(LAYERS as u32)),
            (key("context_length"), gguf_file::Value::U32(256)),
            (
                key("attention.head_count"),
                gguf_file::Value::U32(HEADS as u32),
            ),
            (
                key("attention.head_count_kv"),
                gguf_file::Value::U32(KV_HEADS as u32),
            ),
            (
                key("rope.dimension_count"),
                gguf_file::Value::U32((HIDDEN / HEADS) as u32),
            ),
            (key("rope.freq_base"), gguf_file::Value::F32(ROPE_THETA)),
            (
                key("attention.layer_norm_rms_epsilon"),
                gguf_file::Value::F32(RMS_EPS),
            ),
        ];
        let tensors: Vec<(String, QTensor)> = self
            .tensors
            .iter()
            .map(|(name, tensor)| {
                let dtype = if tensor.rank() == 2 {
                    dtype
                } else {
                    GgmlDType::F32
                };
                let q = QTensor::quantize(tensor, dtype).expect("quantize");
                (gguf_name(name), q)
            })
            .collect();
        let metadata_refs: Vec<(&str, &gguf_file::Value)> =
            metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = std::fs::File::create(path).expect("create");
        gguf_file::write(&mut file, &metadata_refs, &tensor_refs).expect("write gguf");
    }
}

fn gguf_name(hf: &str) -> String {
    match hf {
        "model.embed_tokens.weight" => return "token_embd.weight".into(),
        "model.norm.weight" => return "output_norm.weight".into(),
        "lm_head.weight" => return "output.weight".into(),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.").expect("a layer tensor");
    let (layer, suffix) = rest.split_once('.').expect("layer.suffix");
    let suffix = match suffix {
        "input_layernorm.weight" => "attn_norm.weight",
        "self_attn.q_proj.weight" => "attn_q.weight",
        "self_attn.k_proj.weight" => "attn_k.weight",
        "self_attn.v_proj.weight" => "attn_v.weight",
        "self_attn.q_proj.bias" => "attn_q.bias",
        "self_attn.k_proj.bias" => "attn_k.bias",
        "self_attn.v_proj.bias" => "attn_v.bias",
        "self_attn.o_proj.weight" => "attn_output.weight",
        "post_attention_layernorm.weight" => "ffn_norm.weight",
        "mlp.gate_proj.weight" => "ffn_gate.weight",
        "mlp.up_proj.weight" => "ffn_up.weight",
        "mlp.down_proj.weight" => "ffn_down.weight",
        other => panic!("unexpected tensor {other}"),
    };
    format!("blk.{layer}.{suffix}")
}

/// How a model was stored: which of our loaders and which reference read it.
#[derive(Clone, Copy, Debug)]
enum Format {
    GgufF32,
    GgufQ8_0,
    Safetensors,
    /// The Q8_0 GGUF file run by the device forward pass on the host kernels (the CPU
    /// references of the GPU kernels), against exact f32 arithmetic on the same weights: the
    /// references do not round activations, so the 1e-4 applies.
    DeviceQ8_0,
}

/// A tiny model on disk.
struct Fixture {
    model: TinyModel,
    format: Format,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(arch: Arch, format: Format) -> Self {
        let model = TinyModel::new(arch, if arch == Arch::Llama { 7 } else { 11 });
        let dir = tempfile::tempdir().expect("temp dir");
        match format {
            Format::GgufF32 => model.write_gguf(&dir.path().join("model.gguf"), GgmlDType::F32),
            Format::GgufQ8_0 | Format::DeviceQ8_0 => {
                model.write_gguf(&dir.path().join("model.gguf"), GgmlDType::Q8_0);
                model
                    .rounded_to_q8_0()
                    .write_gguf(&dir.path().join("exact.gguf"), GgmlDType::F32);
            }
            Format::Safetensors => model.write_safetensors(dir.path()),
        }
        Self { model, format, dir }
    }

    fn ours(&self) -> LlamaModel {
        let cache = CacheConfig {
            block_size: BLOCK_SIZE,
            num_blocks: NUM_BLOCKS,
            dtype: KvDtype::F32,
        };
        match self.format {
            Format::Safetensors => {
                LlamaModel::from_safetensors(self.dir.path(), cache).expect("load")
            }
            Format::GgufF32 | Format::GgufQ8_0 | Format::DeviceQ8_0 => {
                LlamaModel::from_gguf(&self.dir.path().join("model.gguf"), cache)
                    .expect("load")
                    .0
            }
        }
    }

    /// The model under test: the CPU engine, or the device forward pass on the host kernels.
    fn model(&self) -> Box<dyn Forward> {
        match self.format {
            Format::DeviceQ8_0 => {
                let cache = CacheConfig {
                    block_size: BLOCK_SIZE,
                    num_blocks: NUM_BLOCKS,
                    dtype: KvDtype::F32,
                };
                let path = self.dir.path().join("model.gguf");
                Box::new(
                    HostModel::from_gguf(HostKernels::shared(), &path, cache)
                        .expect("load on host kernels")
                        .0,
                )
            }
            _ => Box::new(self.ours()),
        }
    }

    /// The reference logits after each token of `tokens`, one sequence alone.
    fn reference(&self, tokens: &[u32]) -> Vec<Vec<f32>> {
        match self.format {
            Format::DeviceQ8_0 => self.reference_from("exact.gguf", tokens),
            _ => self.reference_from("model.gguf", tokens),
        }
    }

    /// The reference logits of `tokens` from the GGUF file `gguf` of the fixture (safetensors
    /// fixtures ignore it).
    fn reference_from(&self, gguf: &str, tokens: &[u32]) -> Vec<Vec<f32>> {
        let device = Device::Cpu;
        let mut step: Box<dyn FnMut(u32, usize) -> Tensor> = match (self.format, self.model.arch) {
            (Format::Safetensors, Arch::Llama) => {
                let config: llama::LlamaConfig =
                    serde_json::from_value(self.model.config_json()).expect("llama config");
                let config = config.into_config(false);
                let vb = self.var_builder();
                let model = llama::Llama::load(vb, &config).expect("reference llama");
                let mut cache =
                    llama::Cache::new(true, DType::F32, &config, &device).expect("cache");
                Box::new(move |token, pos| {
                    let input = Tensor::new(&[token], &Device::Cpu).and_then(|t| t.unsqueeze(0));
                    model
                        .forward(&input.expect("input"), pos, &mut cache)
                        .expect("forward")
                })
            }
            (Format::Safetensors, Arch::Qwen2) => {
                let config: qwen2::Config =
                    serde_json::from_value(self.model.config_json()).expect("qwen2 config");
                let mut model = qwen2::ModelForCausalLM::new(&config, self.var_builder())
                    .expect("reference qwen2");
                Box::new(move |token, pos| {
                    let input = Tensor::new(&[token], &Device::Cpu).and_then(|t| t.unsqueeze(0));
                    model.forward(&input.expect("input"), pos).expect("forward")
                })
            }
            (_, arch) => {
                let path = self.dir.path().join(gguf);
                let mut file = std::fs::File::open(&path).expect("open");
                let content = gguf_file::Content::read(&mut file).expect("gguf");
                if arch == Arch::Llama {
                    let mut model =
                        quantized_llama::ModelWeights::from_gguf(content, &mut file, &device)
                            .expect("reference quantized llama");
                    Box::new(move |token, pos| {
                        let input =
                            Tensor::new(&[token], &Device::Cpu).and_then(|t| t.unsqueeze(0));
                        model.forward(&input.expect("input"), pos).expect("forward")
                    })
                } else {
                    let mut model =
                        quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &device)
                            .expect("reference quantized qwen2");
                    Box::new(move |token, pos| {
                        let input =
                            Tensor::new(&[token], &Device::Cpu).and_then(|t| t.unsqueeze(0));
                        model.forward(&input.expect("input"), pos).expect("forward")
                    })
                }
            }
        };
        tokens
            .iter()
            .enumerate()
            .map(|(pos, token)| {
                step(*token, pos)
                    .flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .expect("logits")
            })
            .collect()
    }

    fn var_builder(&self) -> VarBuilder<'static> {
        let map: HashMap<String, Tensor> = self.model.tensors.iter().cloned().collect();
        VarBuilder::from_tensors(map, DType::F32, &Device::Cpu)
    }

    /// How far `ours` is from the reference row `expected`: the largest absolute difference, and
    /// for Q8_0 that difference relative to the row's largest |logit| (see `Q8_0_TOLERANCE`).
    fn error(&self, ours: &[f32], expected: &[f32]) -> f32 {
        let diff = max_abs_diff(ours, expected);
        match self.format {
            Format::GgufF32 | Format::Safetensors | Format::DeviceQ8_0 => diff,
            Format::GgufQ8_0 => diff / expected.iter().fold(0.0f32, |m, v| m.max(v.abs())),
        }
    }

    /// Bound on [`Self::error`]: exact formats get the 1e-4; see `Q8_0_TOLERANCE`.
    fn tolerance(&self) -> f32 {
        match self.format {
            Format::GgufF32 | Format::Safetensors | Format::DeviceQ8_0 => F32_TOLERANCE,
            Format::GgufQ8_0 => Q8_0_TOLERANCE,
        }
    }
}

/// Q8_0 weights, relative to the largest |logit| of the row. Both candle and our kernel round
/// the activations of every matmul to 8-bit blocks (candle with f16 block scales, ours with f32
/// ones), which moves each logit by up to about 1.5% of the largest one on these random
/// models; the two roundings differ, so the two models differ by that much, and
/// `check_q8_0_against_exact` shows each is that close to exact f32 arithmetic. Measured:
/// 1.0% (llama) and 1.3% (qwen2). A wrong layout or a skipped block gives errors near 100%.
const Q8_0_TOLERANCE: f32 = 0.03;

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "logit rows differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Three sequences of different lengths with tokens spread over the vocabulary.
fn sequences() -> Vec<Vec<u32>> {
    let lengths = [12usize, 8, 17];
    lengths
        .iter()
        .enumerate()
        .map(|(s, len)| {
            (0..*len)
                .map(|i| ((i * 37 + s * 13 + 5) % VOCAB) as u32)
                .collect()
        })
        .collect()
}

/// Block tables that interleave the sequences' blocks over the cache in a scrambled order.
fn shuffled_tables(n: usize, blocks_each: usize) -> Vec<Vec<u32>> {
    let mut ids: Vec<u32> = (0..NUM_BLOCKS as u32).collect();
    // A fixed permutation: multiply by a unit modulo NUM_BLOCKS.
    ids.sort_by_key(|id| (id * 17 + 3) % NUM_BLOCKS as u32);
    (0..n)
        .map(|s| (0..blocks_each).map(|b| ids[b * n + s]).collect())
        .collect()
}

fn check_token_by_token(arch: Arch, format: Format) {
    let fixture = Fixture::new(arch, format);
    let tokens = &sequences()[2];
    let expected = fixture.reference(tokens);
    let mut model = fixture.model();
    let table: Vec<u32> = (0..(tokens.len().div_ceil(BLOCK_SIZE)) as u32).collect();
    let mut worst = 0.0f32;
    for (pos, token) in tokens.iter().enumerate() {
        let item = BatchItem {
            tokens: std::slice::from_ref(token),
            start_pos: pos,
            block_table: &table,
        };
        let logits = model.forward(&[item]).expect("forward");
        worst = worst.max(fixture.error(&logits[0], &expected[pos]));
    }
    println!("{arch:?} {format:?} token by token: error = {worst:e}");
    assert!(
        worst <= fixture.tolerance(),
        "{arch:?} {format:?}: {worst} > {}",
        fixture.tolerance()
    );
}

/// Where the Q8_0 differences come from: our logits and candle's, each against exact f32
/// arithmetic on the same (Q8_0-rounded) weights. Both kernels round activations to 8 bits
/// (candle with f16 block scales, ours with f32 ones), so both sit near the exact values and our
/// kernel must not be further from them than candle's.
fn check_q8_0_against_exact(arch: Arch) {
    let fixture = Fixture::new(arch, Format::GgufQ8_0);
    let tokens = &sequences()[2];
    let candle_q8 = fixture.reference(tokens);
    let exact = fixture.reference_from("exact.gguf", tokens);
    let mut model = fixture.ours();
    let table: Vec<u32> = (0..(tokens.len().div_ceil(BLOCK_SIZE)) as u32).collect();
    let (mut ours_exact, mut candle_exact, mut ours_candle, mut largest) =
        (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for (pos, token) in tokens.iter().enumerate() {
        let item = BatchItem {
            tokens: std::slice::from_ref(token),
            start_pos: pos,
            block_table: &table,
        };
        let ours = model.forward(&[item]).expect("forward").remove(0);
        ours_exact = ours_exact.max(max_abs_diff(&ours, &exact[pos]));
        candle_exact = candle_exact.max(max_abs_diff(&candle_q8[pos], &exact[pos]));
        ours_candle = ours_candle.max(max_abs_diff(&ours, &candle_q8[pos]));
        largest = exact[pos].iter().fold(largest, |m, v| m.max(v.abs()));
    }
    println!(
        "{arch:?} Q8_0: max |ours - exact| = {ours_exact:e}, max |candle - exact| = {candle_exact:e}, \
         max |ours - candle| = {ours_candle:e}, max |logit| = {largest:e}"
    );
    assert!(
        ours_exact <= 1.5 * candle_exact,
        "{arch:?}: our Q8_0 logits are further from exact ({ours_exact}) than candle's ({candle_exact})"
    );
}

fn check_chunked_prefill(arch: Arch, format: Format) {
    let fixture = Fixture::new(arch, format);
    let tokens = &sequences()[2];
    let expected = fixture.reference(tokens);
    let mut model = fixture.model();
    let table = shuffled_tables(1, tokens.len().div_ceil(BLOCK_SIZE)).remove(0);
    let mut worst = 0.0f32;
    let mut start = 0;
    for chunk in [5usize, 3, 1, 6, 2] {
        let item = BatchItem {
            tokens: &tokens[start..start + chunk],
            start_pos: start,
            block_table: &table,
        };
        let logits = model.forward(&[item]).expect("forward");
        start += chunk;
        worst = worst.max(fixture.error(&logits[0], &expected[start - 1]));
    }
    assert_eq!(start, tokens.len());
    println!("{arch:?} {format:?} chunked prefill: error = {worst:e}");
    assert!(
        worst <= fixture.tolerance(),
        "{arch:?} {format:?}: {worst} > {}",
        fixture.tolerance()
    );
}

/// Steps of (sequence, tokens this step) that mix prefill chunks and decodes at different
/// positions, with sequences joining late.
const SCHEDULE: &[&[(usize, usize)]] = &[
    &[(0, 7), (1, 3)],
    &[(0, 1), (1, 2), (2, 9)],
    &[(2, 1), (0, 1), (1, 1)],
    &[(0, 2), (2, 4), (1, 1)],
    &[(1, 1), (2, 3), (0, 1)],
];

fn check_batched(arch: Arch, format: Format) {
    let fixture = Fixture::new(arch, format);
    let sequences = sequences();
    let expected: Vec<_> = sequences.iter().map(|s| fixture.reference(s)).collect();
    let tables = shuffled_tables(sequences.len(), 5);
    let mut model = fixture.model();
    let mut done = vec![0usize; sequences.len()];
    let mut worst = 0.0f32;
    for step in SCHEDULE {
        let items: Vec<BatchItem<'_>> = step
            .iter()
            .map(|(s, n)| BatchItem {
                tokens: &sequences[*s][done[*s]..done[*s] + n],
                start_pos: done[*s],
                block_table: &tables[*s],
            })
            .collect();
        let logits = model.forward(&items).expect("forward");
        assert_eq!(logits.len(), items.len());
        for ((s, n), row) in step.iter().zip(&logits) {
            done[*s] += n;
            worst = worst.max(fixture.error(row, &expected[*s][done[*s] - 1]));
        }
    }
    let lengths: Vec<usize> = sequences.iter().map(Vec::len).collect();
    assert_eq!(done, lengths, "the schedule runs every sequence to its end");
    println!("{arch:?} {format:?} batched: error = {worst:e}");
    assert!(
        worst <= fixture.tolerance(),
        "{arch:?} {format:?}: {worst} > {}",
        fixture.tolerance()
    );
}

/// Sequence 0 runs part way, is preempted (its blocks go to sequence 1, which overwrites them),
/// and resumes by recomputing its prefix into other blocks; its logits still match.
fn check_preemption(arch: Arch, format: Format) {
    let fixture = Fixture::new(arch, format);
    let sequences = sequences();
    let (first, second) = (&sequences[2], &sequences[0]);
    let expected_first = fixture.reference(first);
    let expected_second = fixture.reference(second);
    let mut model = fixture.model();
    let mut worst = 0.0f32;
    let before: Vec<u32> = vec![3, 9, 1];
    let item = BatchItem {
        tokens: &first[..6],
        start_pos: 0,
        block_table: &before,
    };
    let logits = model.forward(&[item]).expect("forward");
    worst = worst.max(fixture.error(&logits[0], &expected_first[5]));
    // Preempted: sequence 1 takes blocks 9 and 3 and fills them.
    let taken: Vec<u32> = vec![9, 3, 20];
    let item = BatchItem {
        tokens: second,
        start_pos: 0,
        block_table: &taken,
    };
    let logits = model.forward(&[item]).expect("forward");
    worst = worst.max(fixture.error(&logits[0], &expected_second[second.len() - 1]));
    // Resumed elsewhere: recompute positions 0..8, then decode the rest next to a decode of 1.
    let after: Vec<u32> = vec![30, 12, 5, 7, 8];
    let item = BatchItem {
        tokens: &first[..8],
        start_pos: 0,
        block_table: &after,
    };
    let logits = model.forward(&[item]).expect("forward");
    worst = worst.max(fixture.error(&logits[0], &expected_first[7]));
    for pos in 8..first.len() {
        let item = BatchItem {
            tokens: &first[pos..=pos],
            start_pos: pos,
            block_table: &after,
        };
        let logits = model.forward(&[item]).expect("forward");
        worst = worst.max(fixture.error(&logits[0], &expected_first[pos]));
    }
    println!("{arch:?} {format:?} preemption: error = {worst:e}");
    assert!(
        worst <= fixture.tolerance(),
        "{arch:?} {format:?}: {worst} > {}",
        fixture.tolerance()
    );
}

#[test]
fn llama_gguf_f32_matches_quantized_llama() {
    check_token_by_token(Arch::Llama, Format::GgufF32);
    check_chunked_prefill(Arch::Llama, Format::GgufF32);
    check_batched(Arch::Llama, Format::GgufF32);
    check_preemption(Arch::Llama, Format::GgufF32);
}

#[test]
fn llama_gguf_q8_0_matches_quantized_llama() {
    check_q8_0_against_exact(Arch::Llama);
    check_token_by_token(Arch::Llama, Format::GgufQ8_0);
    check_batched(Arch::Llama, Format::GgufQ8_0);
}

#[test]
fn llama_safetensors_matches_candle_llama() {
    check_token_by_token(Arch::Llama, Format::Safetensors);
    check_chunked_prefill(Arch::Llama, Format::Safetensors);
    check_batched(Arch::Llama, Format::Safetensors);
}

#[test]
fn qwen2_gguf_f32_matches_quantized_qwen2() {
    check_token_by_token(Arch::Qwen2, Format::GgufF32);
    check_chunked_prefill(Arch::Qwen2, Format::GgufF32);
    check_batched(Arch::Qwen2, Format::GgufF32);
}

#[test]
fn qwen2_gguf_q8_0_matches_quantized_qwen2() {
    check_q8_0_against_exact(Arch::Qwen2);
    check_token_by_token(Arch::Qwen2, Format::GgufQ8_0);
    check_batched(Arch::Qwen2, Format::GgufQ8_0);
}

#[test]
fn qwen2_safetensors_matches_candle_qwen2() {
    check_token_by_token(Arch::Qwen2, Format::Safetensors);
    check_chunked_prefill(Arch::Qwen2, Format::Safetensors);
    check_batched(Arch::Qwen2, Format::Safetensors);
    check_preemption(Arch::Qwen2, Format::Safetensors);
}

/// The GPU engine's orchestration (row layout, per-row block tables, cache slots, the fused
/// residual, the split projections) run on the CPU references of the kernels.
#[test]
fn device_forward_on_host_kernels_matches_exact_reference() {
    for arch in [Arch::Llama, Arch::Qwen2] {
        check_token_by_token(arch, Format::DeviceQ8_0);
        check_chunked_prefill(arch, Format::DeviceQ8_0);
        check_batched(arch, Format::DeviceQ8_0);
        check_preemption(arch, Format::DeviceQ8_0);
    }
}

#[test]
fn loaders_read_the_tiny_configs() {
    let llama = Fixture::new(Arch::Llama, Format::GgufF32).ours();
    assert!(llama.config().tied_embeddings);
    assert!(!llama.config().qkv_bias);
    let qwen = Fixture::new(Arch::Qwen2, Format::Safetensors).ours();
    assert!(!qwen.config().tied_embeddings);
    assert!(qwen.config().qkv_bias);
    assert_eq!(qwen.config().head_dim, HIDDEN / HEADS);
}

#[test]
fn bad_batch_items_are_rejected_before_anything_runs() {
    let cpu = Fixture::new(Arch::Llama, Format::GgufF32);
    let device = Fixture::new(Arch::Llama, Format::DeviceQ8_0);
    let table = [0u32];
    let too_long = [1u32; BLOCK_SIZE + 1];
    let cases = [
        BatchItem {
            tokens: &[],
            start_pos: 0,
            block_table: &table,
        },
        BatchItem {
            tokens: &too_long,
            start_pos: 0,
            block_table: &table,
        },
        BatchItem {
            tokens: &[VOCAB as u32],
            start_pos: 0,
            block_table: &table,
        },
        BatchItem {
            tokens: &[1],
            start_pos: 0,
            block_table: &[NUM_BLOCKS as u32],
        },
    ];
    for fixture in [cpu, device] {
        let mut model = fixture.model();
        for item in cases {
            assert!(
                model.forward(&[item]).is_err(),
                "{:?}: {item:?} should be rejected",
                fixture.format
            );
        }
    }
}

/// Steps started from many threads at once (each step spreads over the same rayon pool and keeps
/// its other workers busy until it ends) all finish, and each gives the logits it gives alone.
#[test]
fn steps_from_many_threads_at_once_finish_with_their_own_logits() {
    let fixture = std::sync::Arc::new(Fixture::new(Arch::Llama, Format::GgufQ8_0));
    let run = |fixture: &Fixture| {
        let tokens = &sequences()[2];
        let table: Vec<u32> = (0..(tokens.len().div_ceil(BLOCK_SIZE)) as u32).collect();
        let mut model = fixture.ours();
        let mut all = Vec::new();
        for (pos, token) in tokens.iter().enumerate() {
            let item = BatchItem {
                tokens: std::slice::from_ref(token),
                start_pos: pos,
                block_table: &table,
            };
            all.push(model.forward(&[item]).expect("forward"));
        }
        all
    };
    let alone = run(&fixture);
    let (sender, finished) = std::sync::mpsc::channel();
    let threads = 6;
    for thread in 0..threads {
        let (sender, fixture) = (sender.clone(), fixture.clone());
        // Not joined: a thread stuck in a deadlock must not hang the test.
        std::thread::spawn(move || {
            for _ in 0..20 {
                sender
                    .send((thread, run(&fixture)))
                    .expect("the test waits for every run");
            }
        });
    }
    for _ in 0..threads * 20 {
        let (thread, logits) = finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("every thread's steps finish within 120 s (no deadlock)");
        assert!(
            logits == alone,
            "thread {thread}: logits differ from a run alone"
        );
    }
}
