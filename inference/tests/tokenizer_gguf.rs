//! The GGUF tokenizer: encodings equal reference encodings on fixed texts, and round-trip.
//!
//! The reference ids in `fixtures/smollm2_tokens.json` were produced by
//! `fixtures/make_smollm2_tokens.py` (Python `tokenizers` 0.23.3 on a tokenizer.json that script
//! writes from the GGUF metadata, cross-checked against the script's own plain-Python BPE; both
//! agreed on every text). llama.cpp's tokenizer was not available here, so it is not the reference.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::quantized::gguf_file::{Content, Value as GgufValue, VersionedMagic};
use codebegen_inference::chat::{chatml, ChatMessage};
use codebegen_inference::tokenizer::Tokenizer;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

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

fn load_gguf_tokenizer(path: &PathBuf) -> Tokenizer {
    let mut file = std::fs::File::open(path).expect("model file");
    let content = Content::read(&mut file).expect("GGUF header");
    Tokenizer::from_gguf(&content).expect("tokenizer from GGUF metadata")
}

#[test]
fn smollm2_encodings_equal_the_reference() {
    let Some(path) = model_path() else { return };
    let tokenizer = load_gguf_tokenizer(&path);
    assert_eq!(tokenizer.eos_token(), 2, "<|im_end|>");
    assert_eq!(tokenizer.vocab().len(), 49152);
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/smollm2_tokens.json")).expect("fixture");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).expect("ids");
        let ids = tokenizer.encode(text).expect("encode");
        assert_eq!(ids, expected, "encoding of {text:?}");
        assert_eq!(tokenizer.decode(&ids).expect("decode"), text);
        // The vocabulary's bytes and the stream decoder give the same text.
        let vocab = tokenizer.vocab();
        let bytes: Vec<u8> = ids.iter().flat_map(|&t| vocab.bytes(t).to_vec()).collect();
        assert_eq!(String::from_utf8(bytes).expect("utf-8"), text);
        let mut stream = tokenizer.stream_decoder();
        let mut streamed: String = ids.iter().filter_map(|&t| stream.push(t)).collect();
        streamed.extend(stream.finish());
        assert_eq!(streamed, text);
    }
}

#[test]
fn smollm2_chatml_prompt_uses_the_special_tokens() {
    let Some(path) = model_path() else { return };
    let tokenizer = load_gguf_tokenizer(&path);
    let prompt = chatml(&[ChatMessage::user("Hi")], true);
    let ids = tokenizer.encode(&prompt).expect("encode");
    assert_eq!(ids.first(), Some(&1), "<|im_start|>");
    assert_eq!(ids.iter().filter(|&&t| t == 1).count(), 2);
    assert_eq!(ids.iter().filter(|&&t| t == 2).count(), 1);
    assert!(tokenizer.vocab().is_special(1));
    assert_eq!(tokenizer.vocab().bytes(2), b"<|im_end|>");
}

/// A byte-level BPE trained here, saved as tokenizer.json; returns its path and the JSON.
fn trained_tokenizer(dir: &std::path::Path) -> (PathBuf, serde_json::Value) {
    let corpus: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "{{\"name\": \"item {i}\", \"done\": {}, \"tags\": [\"a{}\", \"b\"]}} The quick brown fox {i} \
                 jumps over the lazy dog; café 日本 🦀 <|im_end|>",
                i % 2 == 0,
                i % 7
            )
        })
        .collect();
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, true, true)));
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(600)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![
            tokenizers::AddedToken::from("<|endoftext|>", true),
            tokenizers::AddedToken::from("<|im_end|>", true),
        ])
        .build()
        .into();
    tokenizer.train(&mut trainer, corpus.iter()).expect("train");
    let path = dir.join("tokenizer.json");
    tokenizer.save(&path, false).expect("save");
    let json = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    (path, json)
}

/// GGUF metadata holding the same tokenizer as a tokenizer.json.
fn gguf_content_from(json: &serde_json::Value) -> Content {
    let vocab = json["model"]["vocab"].as_object().expect("vocab");
    let mut tokens = vec![String::new(); vocab.len()];
    for (token, id) in vocab {
        tokens[id.as_u64().expect("id") as usize] = token.clone();
    }
    let mut types = vec![1i32; tokens.len()];
    for added in json["added_tokens"].as_array().expect("added") {
        types[added["id"].as_u64().expect("id") as usize] = 3;
    }
    let merges: Vec<GgufValue> = json["model"]["merges"]
        .as_array()
        .expect("merges")
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => GgufValue::String(s.clone()),
            pair => GgufValue::String(format!(
                "{} {}",
                pair[0].as_str().expect("l"),
                pair[1].as_str().expect("r")
            )),
        })
        .collect();
    let eos = tokens.iter().position(|t| t == "<|im_end|>").expect("eos") as u32;
    let metadata: HashMap<String, GgufValue> = [
        ("tokenizer.ggml.model", GgufValue::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            GgufValue::Array(tokens.into_iter().map(GgufValue::String).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            GgufValue::Array(types.into_iter().map(GgufValue::I32).collect()),
        ),
        ("tokenizer.ggml.merges", GgufValue::Array(merges)),
        ("tokenizer.ggml.eos_token_id", GgufValue::U32(eos)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Content {
        magic: VersionedMagic::GgufV3,
        metadata,
        tensor_infos: HashMap::new(),
        tensor_data_offset: 0,
    }
}

#[test]
fn gguf_metadata_and_tokenizer_json_give_the_same_tokenizer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, json) = trained_tokenizer(dir.path());
    let from_file = Tokenizer::from_file(&path).expect("from tokenizer.json");
    let from_gguf = Tokenizer::from_gguf(&gguf_content_from(&json)).expect("from GGUF metadata");
    assert_eq!(from_file.eos_token(), from_gguf.eos_token());
    for text in [
        "{\"name\": \"item 12\", \"done\": true}",
        "  spaces\tand\nnew lines  ",
        "unseen words: zebra quokka 12345 ñandú 🦀🦀<|im_end|>",
        "<|endoftext|>x",
    ] {
        let ids = from_file.encode(text).expect("encode");
        assert_eq!(from_gguf.encode(text).expect("encode"), ids, "{text:?}");
        assert_eq!(from_gguf.decode(&ids).expect("decode"), text);
        let vocab = from_gguf.vocab();
        let bytes: Vec<u8> = ids.iter().flat_map(|&t| vocab.bytes(t).to_vec()).collect();
        assert_eq!(bytes, text.as_bytes());
    }
    assert!(from_gguf
        .encode("a<|im_end|>")
        .expect("encode")
        .contains(&from_gguf.eos_token()));
}
