//! Tensors of a GGUF file: raw blocks for matrices, f32 for norms and biases.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::GgmlDType;
use candle_core::Device;
use codebegen_kernels::cpu::qmatmul::QuantKind;

use super::{LayerTensor, RawMatrix, TensorNames, TensorSource};
use crate::InferenceError;

/// A GGUF file opened for reading tensors.
pub struct GgufSource<'a> {
    path: PathBuf,
    reader: BufReader<File>,
    content: &'a Content,
}

impl<'a> GgufSource<'a> {
    /// Reads the header of `path`; the returned content lists the tensors and metadata.
    pub fn read_content(path: &Path) -> Result<Content, InferenceError> {
        let mut reader = BufReader::new(open(path)?);
        Ok(Content::read(&mut reader)?)
    }

    /// Tensors of `path`, whose header is `content`.
    pub fn new(path: &Path, content: &'a Content) -> Result<Self, InferenceError> {
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::new(open(path)?),
            content,
        })
    }

    fn io_error(&self, source: std::io::Error) -> InferenceError {
        InferenceError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

fn open(path: &Path) -> Result<File, InferenceError> {
    File::open(path).map_err(|source| InferenceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The kernel format of a GGUF tensor type.
pub fn quant_kind(dtype: GgmlDType) -> Result<QuantKind, InferenceError> {
    Ok(match dtype {
        GgmlDType::F32 => QuantKind::F32,
        GgmlDType::F16 => QuantKind::F16,
        GgmlDType::BF16 => QuantKind::BF16,
        GgmlDType::Q4_0 => QuantKind::Q4_0,
        GgmlDType::Q4_1 => QuantKind::Q4_1,
        GgmlDType::Q5_0 => QuantKind::Q5_0,
        GgmlDType::Q5_1 => QuantKind::Q5_1,
        GgmlDType::Q8_0 => QuantKind::Q8_0,
        GgmlDType::Q4K => QuantKind::Q4K,
        GgmlDType::Q5K => QuantKind::Q5K,
        GgmlDType::Q6K => QuantKind::Q6K,
        other => {
            return Err(InferenceError::Model(format!(
                "GGUF tensor type {other:?} is not supported"
            )))
        }
    })
}

impl TensorSource for GgufSource<'_> {
    fn contains(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn matrix(&mut self, name: &str) -> Result<RawMatrix, InferenceError> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| InferenceError::Model(format!("GGUF file lacks {name}")))?;
        let (rows, cols) = match info.shape.dims() {
            [rows, cols] => (*rows, *cols),
            dims => {
                return Err(InferenceError::Model(format!(
                    "{name} has shape {dims:?}, expected a matrix"
                )))
            }
        };
        let kind = quant_kind(info.ggml_dtype)?;
        let block = info.ggml_dtype.block_size();
        if !cols.is_multiple_of(block) {
            return Err(InferenceError::Model(format!(
                "{name}: {cols} columns are not a whole number of {block}-wide blocks"
            )));
        }
        let len = rows * (cols / block) * info.ggml_dtype.type_size();
        let start = self.content.tensor_data_offset + info.offset;
        let mut data = vec![0u8; len];
        self.reader
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.reader.read_exact(&mut data))
            .map_err(|e| self.io_error(e))?;
        Ok(RawMatrix {
            kind,
            rows,
            cols,
            data,
        })
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>, InferenceError> {
        let tensor = self
            .content
            .tensor(&mut self.reader, name, &Device::Cpu)?
            .dequantize(&Device::Cpu)?;
        Ok(tensor.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// Tensor names of llama.cpp's GGUF convention (`blk.N.attn_q.weight`, ...).
pub struct GgufNames;

impl TensorNames for GgufNames {
    fn embedding(&self) -> String {
        "token_embd.weight".into()
    }

    fn output_norm(&self) -> String {
        "output_norm.weight".into()
    }

    fn output(&self) -> String {
        "output.weight".into()
    }

    fn layer(&self, layer: usize, tensor: LayerTensor) -> String {
        let suffix = match tensor {
            LayerTensor::AttnNorm => "attn_norm.weight",
            LayerTensor::Q => "attn_q.weight",
            LayerTensor::K => "attn_k.weight",
            LayerTensor::V => "attn_v.weight",
            LayerTensor::QBias => "attn_q.bias",
            LayerTensor::KBias => "attn_k.bias",
            LayerTensor::VBias => "attn_v.bias",
            LayerTensor::O => "attn_output.weight",
            LayerTensor::FfnNorm => "ffn_norm.weight",
            LayerTensor::Gate => "ffn_gate.weight",
            LayerTensor::Up => "ffn_up.weight",
            LayerTensor::Down => "ffn_down.weight",
        };
        format!("blk.{layer}.{suffix}")
    }
}
