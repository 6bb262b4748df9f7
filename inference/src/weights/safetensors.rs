//! Tensors of Hugging Face safetensors shards (f32, f16 or bf16), kept in their stored format.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::safetensors::SliceSafetensors;
use candle_core::DType;
use codebegen_kernels::cpu::qmatmul::QuantKind;

use super::{LayerTensor, RawMatrix, TensorNames, TensorSource};
use crate::InferenceError;

struct StoredTensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// Every tensor of a set of safetensors files, read into memory one file at a time.
pub struct SafetensorsSource {
    tensors: HashMap<String, StoredTensor>,
}

impl SafetensorsSource {
    /// Reads the `*.safetensors` files in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, InferenceError> {
        let io_error = |path: &Path, source| InferenceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, e))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(InferenceError::Model(format!(
                "no .safetensors files in {}",
                dir.display()
            )));
        }
        let mut tensors = HashMap::new();
        for file in &files {
            let buffer = std::fs::read(file).map_err(|e| io_error(file, e))?;
            let shard = SliceSafetensors::new(&buffer)?;
            for (name, view) in shard.tensors() {
                let dtype = DType::try_from(view.dtype())?;
                let stored = StoredTensor {
                    dtype,
                    shape: view.shape().to_vec(),
                    data: view.data().to_vec(),
                };
                tensors.insert(name, stored);
            }
        }
        Ok(Self { tensors })
    }

    fn take(&mut self, name: &str) -> Result<StoredTensor, InferenceError> {
        self.tensors
            .remove(name)
            .ok_or_else(|| InferenceError::Model(format!("safetensors lack {name}")))
    }
}

impl TensorSource for SafetensorsSource {
    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn matrix(&mut self, name: &str) -> Result<RawMatrix, InferenceError> {
        let tensor = self.take(name)?;
        let (rows, cols) = match tensor.shape.as_slice() {
            [rows, cols] => (*rows, *cols),
            dims => {
                return Err(InferenceError::Model(format!(
                    "{name} has shape {dims:?}, expected a matrix"
                )))
            }
        };
        let kind = match tensor.dtype {
            DType::F32 => QuantKind::F32,
            DType::F16 => QuantKind::F16,
            DType::BF16 => QuantKind::BF16,
            other => {
                return Err(InferenceError::Model(format!(
                    "{name}: safetensors dtype {other:?} is not supported (f32, f16, bf16)"
                )))
            }
        };
        Ok(RawMatrix {
            kind,
            rows,
            cols,
            data: tensor.data,
        })
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>, InferenceError> {
        let tensor = self.take(name)?;
        let floats = match tensor.dtype {
            DType::F32 => tensor
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => tensor
                .data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => tensor
                .data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(InferenceError::Model(format!(
                    "{name}: safetensors dtype {other:?} is not supported (f32, f16, bf16)"
                )))
            }
        };
        Ok(floats)
    }
}

/// Tensor names of Hugging Face llama and qwen2 checkpoints (`model.layers.N.self_attn...`).
pub struct HfNames;

impl TensorNames for HfNames {
    fn embedding(&self) -> String {
        "model.embed_tokens.weight".into()
    }

    fn output_norm(&self) -> String {
        "model.norm.weight".into()
    }

    fn output(&self) -> String {
        "lm_head.weight".into()
    }

    fn layer(&self, layer: usize, tensor: LayerTensor) -> String {
        let suffix = match tensor {
            LayerTensor::AttnNorm => "input_layernorm.weight",
            LayerTensor::Q => "self_attn.q_proj.weight",
            LayerTensor::K => "self_attn.k_proj.weight",
            LayerTensor::V => "self_attn.v_proj.weight",
            LayerTensor::QBias => "self_attn.q_proj.bias",
            LayerTensor::KBias => "self_attn.k_proj.bias",
            LayerTensor::VBias => "self_attn.v_proj.bias",
            LayerTensor::O => "self_attn.o_proj.weight",
            LayerTensor::FfnNorm => "post_attention_layernorm.weight",
            LayerTensor::Gate => "mlp.gate_proj.weight",
            LayerTensor::Up => "mlp.up_proj.weight",
            LayerTensor::Down => "mlp.down_proj.weight",
        };
        format!("model.layers.{layer}.{suffix}")
    }
}
