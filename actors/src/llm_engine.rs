//! What an LLM worker needs from an engine ([`LlmEngine`]), its settings ([`LlmWorkerConfig`]),
//! and the real implementation: `codebegen_inference`'s continuous-batching [`Engine`] loaded
//! from a GGUF file, with ChatML prompts tokenized and spec proposals decoded under a JSON Schema
//! constraint. Tests plug scripted engines in behind the same trait.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use codebegen_inference::config::{CacheConfig, KvDtype};
use codebegen_inference::constrained::{JsonSchemaConstraint, TokenConstraint};
use codebegen_inference::engine::{Engine, EngineConfig, EngineEvent, EngineStats, Request};
use codebegen_inference::InferenceError;

use crate::llm_tasks::LlmJob;

/// An engine as an LLM worker drives it: requests in, steps, events out.
pub trait LlmEngine: Send {
    /// Tokenizes and queues a job under the caller's id; an error means the engine cannot run
    /// it (the worker then answers without the model).
    fn start(&mut self, id: u64, job: &LlmJob) -> Result<(), InferenceError>;
    /// Stops a request and frees its cache blocks; a `Finished { Cancelled }` event follows.
    fn cancel(&mut self, id: u64) -> bool;
    /// Runs one batched step.
    fn step(&mut self) -> Result<Vec<EngineEvent>, InferenceError>;
    /// Whether a step would do anything.
    fn has_work(&self) -> bool;
    /// Counters.
    fn stats(&self) -> EngineStats;
}

/// Builds a worker's engine; called on the worker's own thread, once per (re)start.
pub type EngineFactory = Arc<dyn Fn() -> Result<Box<dyn LlmEngine>, String> + Send + Sync>;

/// Where a worker's model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The CPU (the default).
    Cpu,
    /// A CUDA GPU by ordinal.
    Cuda(usize),
}

impl Device {
    /// Parses `cpu`, `cuda` or `cuda:N`.
    pub fn parse(raw: &str) -> Result<Device, String> {
        match raw.trim() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| format!("`{other}` is not a device; use \"cpu\" or \"cuda:0\"")),
        }
    }
}

/// Whether this build runs models on CUDA devices (`--features cuda`): the engine's device
/// forward pass on our NVRTC kernels, loaded at run time (no CUDA toolkit needed to build).
pub const CUDA_BUILD: bool = cfg!(feature = "cuda");

/// One LLM worker's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmWorkerConfig {
    /// A label for logs (the model's catalog name or file name).
    pub name: String,
    /// The model file (GGUF).
    pub model_path: PathBuf,
    /// Where it runs.
    pub device: Device,
    /// Sequences in one batch; also the scheduler's capacity for this worker.
    pub max_batch: usize,
    /// Tokens in one forward step (prefill chunks and decodes together).
    pub max_tokens_per_step: usize,
    /// KV-cache blocks of [`LlmWorkerConfig::block_size`] positions each.
    pub kv_blocks: usize,
    /// Positions per KV-cache block.
    pub block_size: usize,
    /// A request running longer is cancelled and answered without the model.
    pub request_timeout: Duration,
}

impl LlmWorkerConfig {
    /// Positions per cache block unless set.
    pub const DEFAULT_BLOCK_SIZE: usize = 16;
    /// Tokens per step unless set.
    pub const DEFAULT_MAX_TOKENS_PER_STEP: usize = 512;
    /// Cache positions per batch slot unless `kv_blocks` is set.
    pub const DEFAULT_POSITIONS_PER_SLOT: usize = 1024;

    /// Settings for `model_path` with defaults sized for `max_batch`.
    pub fn new(name: impl Into<String>, model_path: PathBuf, max_batch: usize) -> LlmWorkerConfig {
        LlmWorkerConfig {
            name: name.into(),
            model_path,
            device: Device::Cpu,
            max_batch,
            max_tokens_per_step: Self::DEFAULT_MAX_TOKENS_PER_STEP,
            kv_blocks: Self::default_kv_blocks(max_batch),
            block_size: Self::DEFAULT_BLOCK_SIZE,
            request_timeout: Duration::from_secs(60),
        }
    }

    /// Cache blocks for `max_batch` slots of [`Self::DEFAULT_POSITIONS_PER_SLOT`] positions.
    pub fn default_kv_blocks(max_batch: usize) -> usize {
        max_batch.max(1) * Self::DEFAULT_POSITIONS_PER_SLOT / Self::DEFAULT_BLOCK_SIZE
    }

    /// Checks what can be checked before loading: limits, and that this build runs models on
    /// the device named (CUDA needs `--features cuda`; whether the device exists is found out
    /// when the worker loads its model, with the reason if it does not).
    pub fn check(&self) -> Result<(), String> {
        if self.max_batch == 0 || self.max_batch > 256 {
            return Err(format!("max_batch = {} must be 1 to 256", self.max_batch));
        }
        if self.max_tokens_per_step == 0 {
            return Err("max_tokens_per_step must be at least 1".into());
        }
        if self.kv_blocks == 0 || self.block_size == 0 {
            return Err("kv_blocks must be at least 1".into());
        }
        if let Device::Cuda(n) = self.device {
            if !CUDA_BUILD {
                return Err(format!(
                    "device = \"cuda:{n}\" needs a build with `--features cuda`; this binary runs models on the CPU only (use device = \"cpu\")"
                ));
            }
        }
        Ok(())
    }
}

/// Loads the GGUF model of `config` into an engine (the worker thread calls this).
pub fn load_gguf(config: &LlmWorkerConfig) -> Result<Box<dyn LlmEngine>, String> {
    config.check()?;
    let engine_config = EngineConfig {
        max_batch: config.max_batch,
        max_tokens_per_step: config.max_tokens_per_step,
    };
    let cache = CacheConfig {
        block_size: config.block_size,
        num_blocks: config.kv_blocks,
        dtype: KvDtype::F16,
    };
    let engine = match config.device {
        Device::Cpu => Engine::load_gguf(&config.model_path, engine_config, cache),
        Device::Cuda(ordinal) => {
            Engine::load_gguf_cuda(&config.model_path, ordinal, engine_config, cache)
        }
    }
    .map_err(|e| format!("{}: {e}", config.model_path.display()))?;
    Ok(Box::new(ChatEngine {
        engine,
        constraints: HashMap::new(),
    }))
}

/// The real engine plus the compiled JSON Schema constraints, one per schema: clones share
/// the compiled grammar and the mask cache.
pub struct ChatEngine {
    engine: Engine,
    constraints: HashMap<String, JsonSchemaConstraint>,
}

impl ChatEngine {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> ChatEngine {
        ChatEngine {
            engine,
            constraints: HashMap::new(),
        }
    }

    fn constraint(
        &mut self,
        schema: &serde_json::Value,
    ) -> Result<Box<dyn TokenConstraint>, InferenceError> {
        let key = schema.to_string();
        if !self.constraints.contains_key(&key) {
            let compiled = JsonSchemaConstraint::new(schema, self.engine.tokenizer().vocab())?;
            self.constraints.insert(key.clone(), compiled);
        }
        let constraint = self
            .constraints
            .get(&key)
            .cloned()
            .ok_or_else(|| InferenceError::InvalidRequest("constraint cache".into()))?;
        Ok(Box::new(constraint))
    }
}

impl LlmEngine for ChatEngine {
    fn start(&mut self, id: u64, job: &LlmJob) -> Result<(), InferenceError> {
        let prompt = self.engine.tokenizer().encode(&job.prompt)?;
        let constraint = match &job.schema {
            Some(schema) => Some(self.constraint(schema)?),
            None => None,
        };
        self.engine.submit(Request {
            id,
            prompt,
            params: job.params.clone(),
            constraint,
            priority: job.priority,
        })
    }

    fn cancel(&mut self, id: u64) -> bool {
        self.engine.cancel(id)
    }

    fn step(&mut self) -> Result<Vec<EngineEvent>, InferenceError> {
        self.engine.step()
    }

    fn has_work(&self) -> bool {
        self.engine.has_work()
    }

    fn stats(&self) -> EngineStats {
        self.engine.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_cuda_needs_a_cuda_build() {
        assert_eq!(Device::parse("cpu"), Ok(Device::Cpu));
        assert_eq!(Device::parse("cuda:1"), Ok(Device::Cuda(1)));
        assert_eq!(Device::parse("cuda"), Ok(Device::Cuda(0)));
        assert!(Device::parse("tpu")
            .expect_err("unknown")
            .contains("cuda:0"));
        assert!(Device::parse("cuda:x").is_err());
        let mut config = LlmWorkerConfig::new("m", PathBuf::from("m.gguf"), 4);
        config.check().expect("cpu is fine");
        config.device = Device::Cuda(0);
        if CUDA_BUILD {
            config.check().expect("a CUDA build takes cuda workers");
        } else {
            let err = config.check().expect_err("a CPU build refuses them");
            assert!(err.contains("--features cuda"), "{err}");
        }
        config.device = Device::Cpu;
        config.max_batch = 0;
        assert!(config.check().expect_err("zero").contains("max_batch"));
    }

    #[test]
    fn a_missing_model_file_is_an_error_naming_it() {
        let config = LlmWorkerConfig::new("m", PathBuf::from("/no/such/model.gguf"), 2);
        let err = load_gguf(&config).err().expect("missing file");
        assert!(err.contains("/no/such/model.gguf"), "{err}");
    }
}
