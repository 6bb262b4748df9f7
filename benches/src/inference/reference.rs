//! The reference contender: candle-transformers' `quantized_llama`, one stream, greedy.
//!
//! Prefill runs the whole prompt in one forward call and samples the first token; neither is
//! timed. The timed part is `decode_tokens` single-token steps after it, each a forward call plus
//! an argmax, exactly what the other contenders are timed on.

use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;

use super::Decode;

/// Index of the largest logit (the first one on ties), as greedy sampling picks it.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn step(model: &mut ModelWeights, tokens: &[u32], pos: usize) -> Result<u32, String> {
    let device = Device::Cpu;
    let input = Tensor::new(tokens, &device)
        .and_then(|t| t.unsqueeze(0))
        .map_err(|e| e.to_string())?;
    let logits = model
        .forward(&input, pos)
        .and_then(|l| l.squeeze(0))
        .and_then(|l| l.to_vec1::<f32>())
        .map_err(|e| format!("quantized_llama forward: {e}"))?;
    Ok(argmax(&logits))
}

fn generate(
    model: &mut ModelWeights,
    prompt: &[u32],
    decode_tokens: usize,
) -> Result<Decode, String> {
    model.clear_kv_cache();
    let started = Instant::now();
    let mut token = step(model, prompt, 0)?;
    let prefill_s = started.elapsed().as_secs_f64();
    let mut tokens = vec![token];
    let decode_started = Instant::now();
    for i in 0..decode_tokens {
        token = step(model, &[token], prompt.len() + i)?;
        tokens.push(token);
    }
    let decode_s = decode_started.elapsed().as_secs_f64();
    Ok(Decode {
        tok_s: decode_tokens as f64 / decode_s,
        prefill_s,
        tokens,
    })
}

/// Loads the GGUF with `ModelWeights::from_gguf`, warms up on 8 tokens, then measures.
pub fn run(path: &Path, prompt: &[u32], decode_tokens: usize) -> Result<Decode, String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| e.to_string())?;
    let mut model = ModelWeights::from_gguf(content, &mut file, &Device::Cpu)
        .map_err(|e| format!("quantized_llama::ModelWeights::from_gguf: {e}"))?;
    generate(&mut model, prompt, 8)?;
    generate(&mut model, prompt, decode_tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_picks_the_first_maximum() {
        assert_eq!(argmax(&[0.0, 3.0, -1.0, 3.0]), 1);
        assert_eq!(argmax(&[-5.0]), 0);
        assert_eq!(argmax(&[-2.0, -1.0]), 1);
    }
}
