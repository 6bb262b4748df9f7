//! Model weights as batched-matmul operands: GGUF blocks or safetensors floats, kept in their
//! stored format as [`QMatrix`] values, with norms and biases as f32 vectors.
//!
//! Projections that read the same input are stacked into one matrix when their formats agree
//! (q, k and v; gate and up), so one step makes one matmul call for them.

mod gguf;
mod safetensors;

use codebegen_kernels::cpu::qmatmul::{self, QMatrix, QuantKind};

use crate::config::ModelConfig;
use crate::InferenceError;

pub use gguf::{quant_kind, GgufNames, GgufSource};
pub use safetensors::{HfNames, SafetensorsSource};

/// A weight matrix read from a file, before it becomes a [`QMatrix`]: `rows` output features of
/// `cols` inputs, row-major, in the byte layout of `kind`.
#[derive(Debug, Clone)]
pub struct RawMatrix {
    /// Storage format.
    pub kind: QuantKind,
    /// Output features.
    pub rows: usize,
    /// Input features.
    pub cols: usize,
    /// The bytes, row after row.
    pub data: Vec<u8>,
}

impl RawMatrix {
    fn into_qmatrix(self, name: &str) -> Result<QMatrix, InferenceError> {
        QMatrix::new(self.kind, self.rows, self.cols, self.data)
            .map_err(|e| InferenceError::Model(format!("{name}: {e}")))
    }
}

/// Where tensors come from: a GGUF file or safetensors shards, under their own names.
pub trait TensorSource {
    /// Whether the file holds `name`.
    fn contains(&self, name: &str) -> bool;
    /// A 2-D tensor in its stored format.
    fn matrix(&mut self, name: &str) -> Result<RawMatrix, InferenceError>;
    /// A 1-D tensor as f32.
    fn vector(&mut self, name: &str) -> Result<Vec<f32>, InferenceError>;
}

/// The tensors of one decoder block, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerTensor {
    /// RMSNorm before attention.
    AttnNorm,
    /// Query projection.
    Q,
    /// Key projection.
    K,
    /// Value projection.
    V,
    /// Query bias (qwen2).
    QBias,
    /// Key bias (qwen2).
    KBias,
    /// Value bias (qwen2).
    VBias,
    /// Attention output projection.
    O,
    /// RMSNorm before the MLP.
    FfnNorm,
    /// MLP gate projection (SiLU side).
    Gate,
    /// MLP up projection.
    Up,
    /// MLP down projection.
    Down,
}

/// Linear maps of one input whose outputs are concatenated per row, in order.
#[derive(Debug)]
pub enum StackedLinear {
    /// One matrix holding every part's rows.
    Fused(QMatrix),
    /// Parts in different formats, run one after the other.
    Split(Vec<QMatrix>),
}

impl StackedLinear {
    fn build(parts: Vec<(String, RawMatrix)>) -> Result<Self, InferenceError> {
        let same_format = parts
            .windows(2)
            .all(|pair| pair[0].1.kind == pair[1].1.kind && pair[0].1.cols == pair[1].1.cols);
        if same_format {
            let name = parts
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join("+");
            let mut parts = parts.into_iter().map(|(_, matrix)| matrix);
            let mut fused = parts
                .next()
                .ok_or_else(|| InferenceError::Model("empty stacked projection".into()))?;
            for part in parts {
                fused.rows += part.rows;
                fused.data.extend_from_slice(&part.data);
            }
            Ok(Self::Fused(fused.into_qmatrix(&name)?))
        } else {
            let matrices = parts
                .into_iter()
                .map(|(name, matrix)| matrix.into_qmatrix(&name))
                .collect::<Result<_, _>>()?;
            Ok(Self::Split(matrices))
        }
    }

    /// Output features of all parts together.
    pub fn rows(&self) -> usize {
        match self {
            Self::Fused(matrix) => matrix.rows(),
            Self::Split(parts) => parts.iter().map(QMatrix::rows).sum(),
        }
    }

    /// `out[r]` = every part applied to `x[r]`, concatenated; `x` holds `n_rows` rows.
    /// `scratch` is grown as needed and reused by the split form.
    pub fn forward(&self, x: &[f32], n_rows: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        match self {
            Self::Fused(matrix) => qmatmul::matmul(matrix, x, n_rows, out),
            Self::Split(parts) => {
                let width = self.rows();
                let mut column = 0;
                for part in parts {
                    let part_rows = part.rows();
                    if scratch.len() < n_rows * part_rows {
                        scratch.resize(n_rows * part_rows, 0.0);
                    }
                    let part_out = &mut scratch[..n_rows * part_rows];
                    qmatmul::matmul(part, x, n_rows, part_out);
                    for (row, part_row) in part_out.chunks_exact(part_rows).enumerate() {
                        let start = row * width + column;
                        out[start..start + part_rows].copy_from_slice(part_row);
                    }
                    column += part_rows;
                }
            }
        }
    }
}

/// One decoder block.
#[derive(Debug)]
pub struct LayerWeights {
    /// RMSNorm weight before attention.
    pub attn_norm: Vec<f32>,
    /// q, k and v projections, outputs `[q_dim | kv_dim | kv_dim]` per row.
    pub qkv: StackedLinear,
    /// Biases of q, k and v in the same layout (qwen2).
    pub qkv_bias: Option<Vec<f32>>,
    /// Attention output projection.
    pub attn_output: QMatrix,
    /// RMSNorm weight before the MLP.
    pub ffn_norm: Vec<f32>,
    /// Gate and up projections, outputs `[intermediate | intermediate]` per row.
    pub gate_up: StackedLinear,
    /// Down projection.
    pub down: QMatrix,
}

/// Every weight of a llama-like decoder.
#[derive(Debug)]
pub struct ModelWeights {
    /// Token embedding, `vocab_size` rows of `hidden_size`.
    pub embedding: QMatrix,
    /// Decoder blocks.
    pub layers: Vec<LayerWeights>,
    /// Final RMSNorm weight.
    pub output_norm: Vec<f32>,
    /// Output projection; `None` when tied to the embedding.
    pub output: Option<QMatrix>,
}

impl ModelWeights {
    /// The output projection (the embedding when tied).
    pub fn output(&self) -> &QMatrix {
        self.output.as_ref().unwrap_or(&self.embedding)
    }

    /// Reads every tensor `config` calls for from `source`, naming them with `names`, and checks
    /// their shapes.
    pub fn load(
        config: &ModelConfig,
        source: &mut dyn TensorSource,
        names: &dyn TensorNames,
    ) -> Result<Self, InferenceError> {
        let hidden = config.hidden_size;
        let embedding_name = names.embedding();
        let embedding = source.matrix(&embedding_name)?;
        expect_shape(&embedding_name, &embedding, config.vocab_size, hidden)?;
        let embedding = embedding.into_qmatrix(&embedding_name)?;
        let output_name = names.output();
        let output = if config.tied_embeddings || !source.contains(&output_name) {
            None
        } else {
            let output = source.matrix(&output_name)?;
            expect_shape(&output_name, &output, config.vocab_size, hidden)?;
            Some(output.into_qmatrix(&output_name)?)
        };
        let output_norm = vector_of(source, &names.output_norm(), hidden)?;
        let layers = (0..config.n_layers)
            .map(|layer| load_layer(config, source, names, layer))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            embedding,
            layers,
            output_norm,
            output,
        })
    }
}

/// The file's names for each tensor.
pub trait TensorNames {
    /// Token embedding.
    fn embedding(&self) -> String;
    /// Final norm.
    fn output_norm(&self) -> String;
    /// Output projection.
    fn output(&self) -> String;
    /// A tensor of decoder block `layer`.
    fn layer(&self, layer: usize, tensor: LayerTensor) -> String;
}

fn load_layer(
    config: &ModelConfig,
    source: &mut dyn TensorSource,
    names: &dyn TensorNames,
    layer: usize,
) -> Result<LayerWeights, InferenceError> {
    let hidden = config.hidden_size;
    let ffn = config.intermediate_size;
    let mut matrix = |tensor: LayerTensor, rows: usize, cols: usize| {
        let name = names.layer(layer, tensor);
        let matrix = source.matrix(&name)?;
        expect_shape(&name, &matrix, rows, cols)?;
        Ok::<_, InferenceError>((name, matrix))
    };
    let qkv = vec![
        matrix(LayerTensor::Q, config.q_dim(), hidden)?,
        matrix(LayerTensor::K, config.kv_dim(), hidden)?,
        matrix(LayerTensor::V, config.kv_dim(), hidden)?,
    ];
    let (o_name, o) = matrix(LayerTensor::O, hidden, config.q_dim())?;
    let gate_up = vec![
        matrix(LayerTensor::Gate, ffn, hidden)?,
        matrix(LayerTensor::Up, ffn, hidden)?,
    ];
    let (down_name, down) = matrix(LayerTensor::Down, hidden, ffn)?;
    let qkv_bias = if config.qkv_bias {
        let mut bias = vector_of(
            source,
            &names.layer(layer, LayerTensor::QBias),
            config.q_dim(),
        )?;
        for (tensor, width) in [
            (LayerTensor::KBias, config.kv_dim()),
            (LayerTensor::VBias, config.kv_dim()),
        ] {
            bias.extend(vector_of(source, &names.layer(layer, tensor), width)?);
        }
        Some(bias)
    } else {
        None
    };
    Ok(LayerWeights {
        attn_norm: vector_of(source, &names.layer(layer, LayerTensor::AttnNorm), hidden)?,
        qkv: StackedLinear::build(qkv)?,
        qkv_bias,
        attn_output: o.into_qmatrix(&o_name)?,
        ffn_norm: vector_of(source, &names.layer(layer, LayerTensor::FfnNorm), hidden)?,
        gate_up: StackedLinear::build(gate_up)?,
        down: down.into_qmatrix(&down_name)?,
    })
}

fn vector_of(
    source: &mut dyn TensorSource,
    name: &str,
    len: usize,
) -> Result<Vec<f32>, InferenceError> {
    let vector = source.vector(name)?;
    if vector.len() != len {
        return Err(InferenceError::Model(format!(
            "{name} has {} elements, expected {len}",
            vector.len()
        )));
    }
    Ok(vector)
}

fn expect_shape(
    name: &str,
    matrix: &RawMatrix,
    rows: usize,
    cols: usize,
) -> Result<(), InferenceError> {
    if (matrix.rows, matrix.cols) != (rows, cols) {
        return Err(InferenceError::Model(format!(
            "{name} is {}x{}, expected {rows}x{cols}",
            matrix.rows, matrix.cols
        )));
    }
    Ok(())
}
