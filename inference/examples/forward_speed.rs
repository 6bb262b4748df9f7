//! Single-stream greedy decode speed of our forward pass against candle-transformers'
//! `quantized_llama` on the same GGUF file, plus aggregate speed of batched decode steps.
//!
//! `cargo run -p codebegen-inference --release --example forward_speed -- MODEL.gguf [TOKENS]`

use std::path::PathBuf;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama;
use codebegen_inference::config::{CacheConfig, KvDtype};
use codebegen_inference::model::LlamaModel;
use codebegen_inference::{BatchItem, Forward};

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (index, value) in logits.iter().enumerate() {
        if *value > logits[best] {
            best = index;
        }
    }
    best as u32
}

/// Prompt of a typical chat turn (token ids of SmolLM2's ChatML, any llama vocabulary works).
const PROMPT: [u32; 12] = [1, 4093, 198, 2683, 314, 260, 3575, 282, 4649, 47, 2, 198];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: MODEL.gguf [TOKENS]"))?,
    );
    let n_tokens: usize = args.next().map_or(Ok(64), |n| n.parse())?;
    // `FORWARD_SPEED_STREAMS=16` measures that batched decode alone (e.g. to profile it).
    let only_streams: Option<usize> = std::env::var("FORWARD_SPEED_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok());
    if let Some(streams) = only_streams {
        return batched(&path, n_tokens, streams);
    }

    // candle-transformers reference, one stream.
    let device = Device::Cpu;
    let mut file = std::fs::File::open(&path)?;
    let content = gguf_file::Content::read(&mut file)?;
    let mut reference = quantized_llama::ModelWeights::from_gguf(content, &mut file, &device)?;
    let x = Tensor::new(&PROMPT[..], &device)?.unsqueeze(0)?;
    let mut next = argmax(&reference.forward(&x, 0)?.flatten_all()?.to_vec1::<f32>()?);
    let start = Instant::now();
    for step in 0..n_tokens {
        let x = Tensor::new(&[next], &device)?.unsqueeze(0)?;
        let logits = reference.forward(&x, PROMPT.len() + step)?;
        next = argmax(&logits.flatten_all()?.to_vec1::<f32>()?);
    }
    let reference_tok_s = n_tokens as f64 / start.elapsed().as_secs_f64();

    // Ours, one stream.
    let cache = CacheConfig {
        block_size: 16,
        num_blocks: 16 * (PROMPT.len() + n_tokens).div_ceil(16),
        dtype: KvDtype::F16,
    };
    let (mut model, _) = LlamaModel::from_gguf(&path, cache)?;
    let table: Vec<u32> = (0..model.num_blocks() as u32).collect();
    let prompt_item = BatchItem {
        tokens: &PROMPT,
        start_pos: 0,
        block_table: &table,
    };
    let mut next = argmax(&model.forward(&[prompt_item])?[0]);
    let start = Instant::now();
    for step in 0..n_tokens {
        let item = BatchItem {
            tokens: std::slice::from_ref(&next),
            start_pos: PROMPT.len() + step,
            block_table: &table,
        };
        next = argmax(&model.forward(&[item])?[0]);
    }
    let single_tok_s = n_tokens as f64 / start.elapsed().as_secs_f64();
    println!(
        "single stream, {n_tokens} tokens: ours {single_tok_s:.1} tok/s, candle quantized_llama \
         {reference_tok_s:.1} tok/s, ratio {:.2}",
        single_tok_s / reference_tok_s
    );

    for streams in [4usize, 8, 16] {
        batched(&path, n_tokens, streams)?;
    }
    Ok(())
}

/// Ours, batched decode: every stream decodes one token per step.
fn batched(path: &std::path::Path, n_tokens: usize, streams: usize) -> anyhow::Result<()> {
    {
        let blocks_each = (PROMPT.len() + n_tokens).div_ceil(16);
        let cache = CacheConfig {
            block_size: 16,
            num_blocks: streams * blocks_each,
            dtype: KvDtype::F16,
        };
        let (mut model, _) = LlamaModel::from_gguf(path, cache)?;
        let tables: Vec<Vec<u32>> = (0..streams)
            .map(|s| ((s * blocks_each) as u32..((s + 1) * blocks_each) as u32).collect())
            .collect();
        let prompts: Vec<BatchItem<'_>> = tables
            .iter()
            .map(|table| BatchItem {
                tokens: &PROMPT,
                start_pos: 0,
                block_table: table,
            })
            .collect();
        let mut next: Vec<u32> = model.forward(&prompts)?.iter().map(|l| argmax(l)).collect();
        let start = Instant::now();
        for step in 0..n_tokens {
            let items: Vec<BatchItem<'_>> = next
                .iter()
                .zip(&tables)
                .map(|(token, table)| BatchItem {
                    tokens: std::slice::from_ref(token),
                    start_pos: PROMPT.len() + step,
                    block_table: table,
                })
                .collect();
            next = model.forward(&items)?.iter().map(|l| argmax(l)).collect();
        }
        let aggregate = (streams * n_tokens) as f64 / start.elapsed().as_secs_f64();
        println!("{streams} streams: {aggregate:.1} tok/s aggregate");
    }
    Ok(())
}
