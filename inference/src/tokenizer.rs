//! The tokenizer: a `tokenizers::Tokenizer` built from GGUF metadata or a tokenizer.json, the
//! exact bytes of every token ([`TokenVocab`]) and a streaming decoder that yields whole UTF-8.
//!
//! GGUF files store a byte-level BPE (`tokenizer.ggml.model = "gpt2"`) as token strings in the
//! GPT-2 byte-to-unicode alphabet, merges as `"left right"` strings and a pre-tokenizer name
//! (`tokenizer.ggml.pre`). We assemble the equivalent tokenizer.json value and load it with
//! `Tokenizer::from_bytes`; control tokens (type 3) and user-defined tokens (type 4) become added
//! special tokens, so `<|im_start|>` written in a prompt is one token.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file;
use serde_json::{json, Value};

use crate::InferenceError;

/// GGUF token type of control tokens such as `<|im_start|>`.
const TOKEN_TYPE_CONTROL: i64 = 3;
/// GGUF token type of user-defined tokens, matched in text like control tokens.
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// The split that Qwen2 and Llama 3 put before byte-level BPE; `{DIGITS}` is `\p{N}` for Qwen2
/// (one digit per piece) and `\p{N}{1,3}` for Llama 3.
const SPLIT_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|{DIGITS}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A text tokenizer with the byte strings of its vocabulary.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    vocab: Arc<TokenVocab>,
    bos: Option<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab.len())
            .field("eos", &self.vocab.eos())
            .finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer stored in a GGUF file's metadata (`tokenizer.ggml.*`).
    pub fn from_gguf(content: &gguf_file::Content) -> Result<Self, InferenceError> {
        let meta = &content.metadata;
        let model = meta_string(meta, "tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(tokenizer_error(format!(
                "tokenizer.ggml.model = {model:?}: only byte-level BPE (gpt2) is supported"
            )));
        }
        let tokens = meta_strings(meta, "tokenizer.ggml.tokens")?;
        let merges = meta_strings(meta, "tokenizer.ggml.merges")?;
        let types = match meta.get("tokenizer.ggml.token_type") {
            Some(value) => value
                .to_vec()
                .map_err(|e| tokenizer_error(format!("tokenizer.ggml.token_type: {e}")))?
                .iter()
                .map(meta_int)
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![1; tokens.len()],
        };
        let pre = meta_string(meta, "tokenizer.ggml.pre").unwrap_or_else(|_| "default".into());
        let eos = meta_u32(meta, "tokenizer.ggml.eos_token_id")?;
        let add_bos = meta
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let bos = if add_bos {
            Some(meta_u32(meta, "tokenizer.ggml.bos_token_id")?)
        } else {
            None
        };

        let added: Vec<Value> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (_, ty))| **ty == TOKEN_TYPE_CONTROL || **ty == TOKEN_TYPE_USER_DEFINED)
            .map(|(id, (content, _))| {
                json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: serde_json::Map<String, Value> = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| (token.clone(), json!(id)))
            .collect();
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": pre_tokenizer(&pre),
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null,
                      "continuing_subword_prefix": null, "end_of_word_suffix": null,
                      "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges},
        });
        let bytes = serde_json::to_vec(&spec).map_err(|e| tokenizer_error(e.to_string()))?;
        let inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(tokenizer_error)?;

        let special: Vec<bool> = types
            .iter()
            .map(|ty| *ty == TOKEN_TYPE_CONTROL || *ty == TOKEN_TYPE_USER_DEFINED)
            .collect();
        let token_bytes = tokens
            .iter()
            .zip(&special)
            .map(|(token, special)| {
                if *special {
                    token.as_bytes().to_vec()
                } else {
                    byte_level_bytes(token)
                }
            })
            .collect();
        let vocab = TokenVocab::new(token_bytes, special, eos)?;
        Ok(Self {
            inner,
            vocab: Arc::new(vocab),
            bos,
        })
    }

    /// Loads a tokenizer.json (byte-level BPE, or a SentencePiece-style vocabulary with `▁` and
    /// `<0xNN>` byte tokens). The eos is the first of `<|im_end|>`, `<|eot_id|>`,
    /// `<|endoftext|>`, `</s>` that the vocabulary holds.
    pub fn from_file(tokenizer_json: &Path) -> Result<Self, InferenceError> {
        let text = std::fs::read(tokenizer_json).map_err(|source| InferenceError::Io {
            path: tokenizer_json.to_path_buf(),
            source,
        })?;
        let spec: Value = serde_json::from_slice(&text)
            .map_err(|e| tokenizer_error(format!("{}: {e}", tokenizer_json.display())))?;
        let inner = tokenizers::Tokenizer::from_bytes(&text).map_err(tokenizer_error)?;
        let byte_level = spec["decoder"]["type"] == "ByteLevel"
            || spec["pre_tokenizer"].to_string().contains("ByteLevel");
        let special_ids: Vec<u32> = spec["added_tokens"]
            .as_array()
            .map(|added| {
                added
                    .iter()
                    .filter(|t| t["special"].as_bool().unwrap_or(false))
                    .filter_map(|t| t["id"].as_u64().and_then(|id| u32::try_from(id).ok()))
                    .collect()
            })
            .unwrap_or_default();
        let n = inner.get_vocab_size(true);
        let mut token_bytes = vec![Vec::new(); n];
        let mut special = vec![false; n];
        for (token, id) in inner.get_vocab(true) {
            let Some(slot) = token_bytes.get_mut(id as usize) else {
                continue;
            };
            if special_ids.contains(&id) {
                *slot = token.as_bytes().to_vec();
                special[id as usize] = true;
            } else if byte_level {
                *slot = byte_level_bytes(&token);
            } else {
                *slot = sentencepiece_bytes(&token);
            }
        }
        let eos = ["<|im_end|>", "<|eot_id|>", "<|endoftext|>", "</s>"]
            .iter()
            .find_map(|name| inner.token_to_id(name))
            .ok_or_else(|| tokenizer_error("no eos token in tokenizer.json"))?;
        let vocab = TokenVocab::new(token_bytes, special, eos)?;
        Ok(Self {
            inner,
            vocab: Arc::new(vocab),
            bos: None,
        })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) are recognised.
    /// Never adds a BOS: see [`Tokenizer::bos_token`].
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, InferenceError> {
        let encoding = self.inner.encode(text, false).map_err(tokenizer_error)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `tokens`, special tokens included, so `decode(encode(t)) == t`.
    pub fn decode(&self, tokens: &[u32]) -> Result<String, InferenceError> {
        self.inner.decode(tokens, false).map_err(tokenizer_error)
    }

    /// The end-of-sequence token (`<|im_end|>` for ChatML models).
    pub fn eos_token(&self) -> u32 {
        self.vocab.eos()
    }

    /// The BOS token, when the model expects one at the start of every prompt.
    pub fn bos_token(&self) -> Option<u32> {
        self.bos
    }

    /// The exact bytes of every token.
    pub fn vocab(&self) -> Arc<TokenVocab> {
        Arc::clone(&self.vocab)
    }

    /// A decoder for one stream of generated tokens.
    pub fn stream_decoder(&self) -> StreamDecoder {
        StreamDecoder::new(self.vocab())
    }

    /// The wrapped `tokenizers` tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

/// The exact byte string of every token, which tokens are special, and the eos.
#[derive(Debug, Clone)]
pub struct TokenVocab {
    tokens: Vec<Vec<u8>>,
    special: Vec<bool>,
    eos: u32,
}

impl TokenVocab {
    /// A vocabulary from the bytes of every token (indexed by id) and which tokens are special.
    pub fn new(tokens: Vec<Vec<u8>>, special: Vec<bool>, eos: u32) -> Result<Self, InferenceError> {
        if special.len() != tokens.len() || eos as usize >= tokens.len() {
            return Err(tokenizer_error(format!(
                "vocabulary of {} tokens, {} special flags, eos {eos}",
                tokens.len(),
                special.len()
            )));
        }
        Ok(Self {
            tokens,
            special,
            eos,
        })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary is empty (never, for a loaded tokenizer).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The bytes `token` stands for (its text, for special tokens); empty for unknown ids.
    pub fn bytes(&self, token: u32) -> &[u8] {
        self.tokens.get(token as usize).map_or(&[], Vec::as_slice)
    }

    /// Whether `token` is a special or control token (`<|im_start|>`, eos).
    pub fn is_special(&self, token: u32) -> bool {
        self.special.get(token as usize).copied().unwrap_or(false)
    }

    /// The end-of-sequence token.
    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// Every token's bytes, indexed by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        (0u32..).zip(self.tokens.iter().map(Vec::as_slice))
    }
}

/// Turns generated tokens into text, one piece at a time, never splitting a UTF-8 character.
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    vocab: Arc<TokenVocab>,
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// A decoder over `vocab`'s token bytes.
    pub fn new(vocab: Arc<TokenVocab>) -> Self {
        Self {
            vocab,
            pending: Vec::new(),
        }
    }

    /// Adds a token; returns the text that is now complete, if any. Bytes that can never be
    /// valid UTF-8 come out as U+FFFD; an unfinished character waits for the next token.
    pub fn push(&mut self, token: u32) -> Option<String> {
        self.pending.extend_from_slice(self.vocab.bytes(token));
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    rest = &[];
                    break;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match error.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        (!out.is_empty()).then_some(out)
    }

    /// Whatever is still held back (an unfinished character), lossily decoded.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).into_owned())
    }
}

/// The pre-tokenizer that goes with a GGUF `tokenizer.ggml.pre` name.
fn pre_tokenizer(pre: &str) -> Value {
    let split = |digits: &str| {
        json!({"type": "Split", "pattern": {"Regex": SPLIT_PATTERN.replace("{DIGITS}", digits)},
               "behavior": "Isolated", "invert": false})
    };
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
    match pre {
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]}),
        "qwen2" | "deepseek-r1-qwen" => {
            json!({"type": "Sequence", "pretokenizers": [split(r"\p{N}"), byte_level(false)]})
        }
        "llama-bpe" | "llama3" | "smaug-bpe" => {
            json!({"type": "Sequence", "pretokenizers": [split(r"\p{N}{1,3}"), byte_level(false)]})
        }
        _ => byte_level(true),
    }
}

/// GPT-2's byte-to-unicode alphabet, reversed: the char that stands for each byte maps back to it.
fn unicode_to_byte() -> &'static HashMap<char, u8> {
    static TABLE: std::sync::OnceLock<HashMap<char, u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::with_capacity(256);
        let mut extra = 0u32;
        for byte in 0..=255u8 {
            let printable = matches!(byte, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
            let ch = if printable {
                char::from(byte)
            } else {
                extra += 1;
                char::from_u32(255 + extra).unwrap_or(char::REPLACEMENT_CHARACTER)
            };
            table.insert(ch, byte);
        }
        table
    })
}

/// The bytes of a byte-level BPE token string; chars outside the alphabet keep their UTF-8.
fn byte_level_bytes(token: &str) -> Vec<u8> {
    let table = unicode_to_byte();
    let mut out = Vec::with_capacity(token.len());
    for ch in token.chars() {
        match table.get(&ch) {
            Some(byte) => out.push(*byte),
            None => out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// The bytes of a SentencePiece token: `▁` is a space, `<0xNN>` one raw byte.
fn sentencepiece_bytes(token: &str) -> Vec<u8> {
    if let Some(hex) = token.strip_prefix("<0x").and_then(|t| t.strip_suffix('>')) {
        if let Ok(byte) = u8::from_str_radix(hex, 16) {
            return vec![byte];
        }
    }
    token.replace('\u{2581}', " ").into_bytes()
}

fn tokenizer_error(error: impl std::fmt::Display) -> InferenceError {
    InferenceError::Tokenizer(error.to_string())
}

fn meta_string(
    meta: &HashMap<String, gguf_file::Value>,
    key: &str,
) -> Result<String, InferenceError> {
    meta.get(key)
        .and_then(|v| v.to_string().ok())
        .cloned()
        .ok_or_else(|| tokenizer_error(format!("GGUF metadata has no string {key}")))
}

fn meta_strings(
    meta: &HashMap<String, gguf_file::Value>,
    key: &str,
) -> Result<Vec<String>, InferenceError> {
    let values = meta
        .get(key)
        .and_then(|v| v.to_vec().ok())
        .ok_or_else(|| tokenizer_error(format!("GGUF metadata has no array {key}")))?;
    values
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|e| tokenizer_error(format!("{key}: {e}")))
        })
        .collect()
}

fn meta_int(value: &gguf_file::Value) -> Result<i64, InferenceError> {
    use gguf_file::Value as V;
    Ok(match value {
        V::U8(v) => i64::from(*v),
        V::I8(v) => i64::from(*v),
        V::U16(v) => i64::from(*v),
        V::I16(v) => i64::from(*v),
        V::U32(v) => i64::from(*v),
        V::I32(v) => i64::from(*v),
        V::I64(v) => *v,
        V::U64(v) => i64::try_from(*v).map_err(tokenizer_error)?,
        other => {
            return Err(tokenizer_error(format!(
                "expected an integer, got {other:?}"
            )))
        }
    })
}

fn meta_u32(meta: &HashMap<String, gguf_file::Value>, key: &str) -> Result<u32, InferenceError> {
    let value = meta
        .get(key)
        .ok_or_else(|| tokenizer_error(format!("GGUF metadata has no {key}")))?;
    u32::try_from(meta_int(value)?).map_err(|e| tokenizer_error(format!("{key}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_alphabet_round_trips_every_byte() {
        let table = unicode_to_byte();
        assert_eq!(table.len(), 256);
        let mut seen: Vec<u8> = table.values().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..=255).collect::<Vec<u8>>());
        assert_eq!(byte_level_bytes("\u{120}hello"), b" hello");
        assert_eq!(byte_level_bytes("\u{10A}"), b"\n");
    }

    #[test]
    fn sentencepiece_tokens_map_to_bytes() {
        assert_eq!(sentencepiece_bytes("<0x0A>"), b"\n");
        assert_eq!(sentencepiece_bytes("\u{2581}the"), b" the");
    }

    #[test]
    fn stream_decoder_holds_back_split_characters() {
        // "é" is C3 A9: split over two tokens, then an invalid byte, then ASCII.
        let tokens = vec![
            b"a\xC3".to_vec(),
            b"\xA9b".to_vec(),
            b"\xFF".to_vec(),
            b"c".to_vec(),
        ];
        let vocab = TokenVocab::new(tokens, vec![false; 4], 3).expect("valid vocab");
        let mut decoder = StreamDecoder::new(Arc::new(vocab));
        assert_eq!(decoder.push(0).as_deref(), Some("a"));
        assert_eq!(decoder.push(1).as_deref(), Some("éb"));
        assert_eq!(decoder.push(2).as_deref(), Some("\u{FFFD}"));
        assert_eq!(decoder.push(3).as_deref(), Some("c"));
        assert_eq!(decoder.push(0).as_deref(), Some("a"));
        assert_eq!(decoder.finish().as_deref(), Some("\u{FFFD}"));
    }
}
