//! Model and KV-cache configuration, read from GGUF metadata or a Hugging Face `config.json`.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{Content, Value};

use crate::InferenceError;

/// The transformer families the forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Llama 2/3, SmolLM2: no attention biases.
    Llama,
    /// Qwen2 / Qwen2.5(-Coder): biases on the q, k and v projections.
    Qwen2,
}

impl Arch {
    /// The architecture named `name` (`general.architecture` in GGUF, `model_type` in HF).
    pub fn from_name(name: &str) -> Result<Self, InferenceError> {
        match name {
            "llama" => Ok(Self::Llama),
            "qwen2" => Ok(Self::Qwen2),
            other => Err(InferenceError::Model(format!(
                "architecture {other:?} is not supported (llama, qwen2)"
            ))),
        }
    }

    /// The GGUF metadata prefix and HF `model_type` of this architecture.
    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
        }
    }
}

/// Which dimensions of a head RoPE rotates together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeLayout {
    /// Dimension `2i` rotates with `2i + 1`. Llama GGUF files: the converter permutes the q and
    /// k rows so that this layout gives the same model (candle's `rope_i`, llama.cpp "normal").
    Interleaved,
    /// Dimension `i` rotates with `i + head_dim / 2`. Hugging Face checkpoints of both
    /// architectures and qwen2 GGUF files (candle's `rope`, llama.cpp "neox").
    HalfSplit,
}

/// Shapes and hyper-parameters of a llama-like decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The family.
    pub arch: Arch,
    /// Rows of the embedding and of the output projection.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SiLU-gated MLP.
    pub intermediate_size: usize,
    /// Decoder blocks.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// Longest context the model was trained for.
    pub max_position: usize,
    /// The output projection reuses the token embedding.
    pub tied_embeddings: bool,
    /// The q, k and v projections carry biases (qwen2).
    pub qkv_bias: bool,
    /// RoPE pairing of the q and k weights as stored in the file.
    pub rope_layout: RopeLayout,
}

impl ModelConfig {
    /// Width of all query heads together.
    pub fn q_dim(&self) -> usize {
        self.n_heads * self.head_dim
    }

    /// Width of all key (or value) heads together.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// Reads the configuration of a GGUF file: the `{arch}.*` metadata keys, with the vocabulary
    /// size, tied embeddings and qkv biases taken from the tensors actually present.
    pub fn from_gguf(content: &Content) -> Result<Self, InferenceError> {
        let metadata = &content.metadata;
        let arch_name = match metadata.get("general.architecture") {
            Some(Value::String(name)) => name.as_str(),
            _ => return Err(model_error("GGUF metadata lacks general.architecture")),
        };
        let arch = Arch::from_name(arch_name)?;
        let key = |suffix: &str| format!("{}.{suffix}", arch.name());
        let hidden_size = gguf_usize(metadata, &key("embedding_length"))?;
        let n_heads = gguf_usize(metadata, &key("attention.head_count"))?;
        let n_kv_heads = match metadata.get(&key("attention.head_count_kv")) {
            Some(_) => gguf_usize(metadata, &key("attention.head_count_kv"))?,
            None => n_heads,
        };
        let head_dim = match metadata.get(&key("attention.key_length")) {
            Some(_) => gguf_usize(metadata, &key("attention.key_length"))?,
            None => hidden_size / n_heads.max(1),
        };
        if let Some(value) = metadata.get(&key("rope.dimension_count")) {
            let rope_dim = value_usize(value, &key("rope.dimension_count"))?;
            if rope_dim != head_dim {
                return Err(model_error(format!(
                    "partial rotary embeddings ({rope_dim} of {head_dim} dims) are not supported"
                )));
            }
        }
        let embedding = content
            .tensor_infos
            .get("token_embd.weight")
            .ok_or_else(|| model_error("GGUF file lacks token_embd.weight"))?;
        let vocab_size = embedding.shape.dims().first().copied().unwrap_or(0);
        let config = Self {
            arch,
            vocab_size,
            hidden_size,
            intermediate_size: gguf_usize(metadata, &key("feed_forward_length"))?,
            n_layers: gguf_usize(metadata, &key("block_count"))?,
            n_heads,
            n_kv_heads,
            head_dim,
            rope_theta: gguf_f32_or(metadata, &key("rope.freq_base"), 10_000.0)?,
            rms_eps: gguf_f32_or(metadata, &key("attention.layer_norm_rms_epsilon"), 1e-5)?,
            max_position: match metadata.get(&key("context_length")) {
                Some(value) => value_usize(value, &key("context_length"))?,
                None => 4096,
            },
            tied_embeddings: !content.tensor_infos.contains_key("output.weight"),
            qkv_bias: content.tensor_infos.contains_key("blk.0.attn_q.bias"),
            rope_layout: match arch {
                Arch::Llama => RopeLayout::Interleaved,
                Arch::Qwen2 => RopeLayout::HalfSplit,
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads a Hugging Face `config.json` (already parsed).
    pub fn from_hf_json(json: &serde_json::Value) -> Result<Self, InferenceError> {
        let arch = Arch::from_name(
            json.get("model_type")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| model_error("config.json lacks model_type"))?,
        )?;
        if let Some(scaling) = json.get("rope_scaling").filter(|value| !value.is_null()) {
            return Err(model_error(format!(
                "rope_scaling {scaling} is not supported"
            )));
        }
        if json
            .get("attention_bias")
            .and_then(serde_json::Value::as_bool)
            == Some(true)
        {
            return Err(model_error(
                "attention_bias on a llama model is not supported",
            ));
        }
        let hidden_size = json_usize(json, "hidden_size")?;
        let n_heads = json_usize(json, "num_attention_heads")?;
        let n_kv_heads = match json.get("num_key_value_heads") {
            Some(value) if !value.is_null() => json_usize(json, "num_key_value_heads")?,
            _ => n_heads,
        };
        let head_dim = match json.get("head_dim") {
            Some(value) if !value.is_null() => json_usize(json, "head_dim")?,
            _ => hidden_size / n_heads.max(1),
        };
        let config = Self {
            arch,
            vocab_size: json_usize(json, "vocab_size")?,
            hidden_size,
            intermediate_size: json_usize(json, "intermediate_size")?,
            n_layers: json_usize(json, "num_hidden_layers")?,
            n_heads,
            n_kv_heads,
            head_dim,
            rope_theta: json_f32_or(json, "rope_theta", 10_000.0),
            rms_eps: json_f32_or(json, "rms_norm_eps", 1e-6),
            max_position: json
                .get("max_position_embeddings")
                .and_then(serde_json::Value::as_u64)
                .map_or(4096, |value| value as usize),
            tied_embeddings: json
                .get("tie_word_embeddings")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            qkv_bias: arch == Arch::Qwen2,
            rope_layout: RopeLayout::HalfSplit,
        };
        config.validate()?;
        Ok(config)
    }

    /// Rejects shapes the forward pass cannot run.
    fn validate(&self) -> Result<(), InferenceError> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
            ("head_dim", self.head_dim),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(model_error(format!("{name} must be positive")));
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return Err(model_error(format!(
                "{} query heads do not group evenly over {} kv heads",
                self.n_heads, self.n_kv_heads
            )));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(model_error(format!("head_dim {} is odd", self.head_dim)));
        }
        Ok(())
    }
}

/// Size of the paged KV cache a model owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Positions per block.
    pub block_size: usize,
    /// Blocks in the cache; block ids are `0..num_blocks`.
    pub num_blocks: usize,
    /// How keys and values are stored.
    pub dtype: KvDtype,
}

/// The storage type of the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KvDtype {
    /// Half the memory; keys and values are rounded to f16 once, when written. The default.
    #[default]
    F16,
    /// Exact: the forward pass computes what an f32 reference computes.
    F32,
}

impl KvDtype {
    /// Bytes per stored value.
    pub fn size(self) -> usize {
        match self {
            KvDtype::F16 => 2,
            KvDtype::F32 => 4,
        }
    }
}

impl CacheConfig {
    /// Positions the whole cache holds.
    pub fn capacity(&self) -> usize {
        self.block_size * self.num_blocks
    }
}

fn model_error(message: impl Into<String>) -> InferenceError {
    InferenceError::Model(message.into())
}

fn value_usize(value: &Value, key: &str) -> Result<usize, InferenceError> {
    let number = match value {
        Value::U8(v) => u64::from(*v),
        Value::U16(v) => u64::from(*v),
        Value::U32(v) => u64::from(*v),
        Value::U64(v) => *v,
        Value::I8(v) => u64::try_from(*v).unwrap_or(u64::MAX),
        Value::I16(v) => u64::try_from(*v).unwrap_or(u64::MAX),
        Value::I32(v) => u64::try_from(*v).unwrap_or(u64::MAX),
        Value::I64(v) => u64::try_from(*v).unwrap_or(u64::MAX),
        other => return Err(model_error(format!("{key} is not an integer: {other:?}"))),
    };
    usize::try_from(number)
        .ok()
        .filter(|n| *n < (1 << 40))
        .ok_or_else(|| model_error(format!("{key} is out of range: {number}")))
}

fn gguf_usize(metadata: &HashMap<String, Value>, key: &str) -> Result<usize, InferenceError> {
    let value = metadata
        .get(key)
        .ok_or_else(|| model_error(format!("GGUF metadata lacks {key}")))?;
    value_usize(value, key)
}

fn gguf_f32_or(
    metadata: &HashMap<String, Value>,
    key: &str,
    default: f32,
) -> Result<f32, InferenceError> {
    match metadata.get(key) {
        None => Ok(default),
        Some(Value::F32(v)) => Ok(*v),
        Some(Value::F64(v)) => Ok(*v as f32),
        Some(other) => Err(model_error(format!("{key} is not a float: {other:?}"))),
    }
}

fn json_usize(json: &serde_json::Value, key: &str) -> Result<usize, InferenceError> {
    json.get(key)
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| model_error(format!("config.json lacks the integer {key}")))
}

fn json_f32_or(json: &serde_json::Value, key: &str, default: f32) -> f32 {
    json.get(key)
        .and_then(serde_json::Value::as_f64)
        .map_or(default, |v| v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm2_json() -> serde_json::Value {
        serde_json::json!({
            "model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
            "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
            "num_key_value_heads": 3, "rope_theta": 100000.0, "rms_norm_eps": 1e-5,
            "max_position_embeddings": 8192, "tie_word_embeddings": true, "rope_scaling": null
        })
    }

    #[test]
    fn reads_a_hf_llama_config() {
        let config = ModelConfig::from_hf_json(&smollm2_json()).expect("valid config");
        assert_eq!(config.arch, Arch::Llama);
        assert_eq!(config.head_dim, 64);
        assert_eq!((config.q_dim(), config.kv_dim()), (576, 192));
        assert!(config.tied_embeddings);
        assert!(!config.qkv_bias);
        assert_eq!(config.rope_layout, RopeLayout::HalfSplit);
        assert_eq!(config.rope_theta, 100_000.0);
    }

    #[test]
    fn qwen2_configs_carry_qkv_bias() {
        let mut json = smollm2_json();
        json["model_type"] = "qwen2".into();
        let config = ModelConfig::from_hf_json(&json).expect("valid config");
        assert!(config.qkv_bias);
    }

    #[test]
    fn rejects_unknown_architectures_and_bad_shapes() {
        let mut json = smollm2_json();
        json["model_type"] = "mamba".into();
        assert!(ModelConfig::from_hf_json(&json).is_err());
        let mut json = smollm2_json();
        json["num_key_value_heads"] = 4.into();
        assert!(ModelConfig::from_hf_json(&json).is_err());
        let mut json = smollm2_json();
        json["rope_scaling"] = serde_json::json!({"rope_type": "yarn"});
        assert!(ModelConfig::from_hf_json(&json).is_err());
    }
}
