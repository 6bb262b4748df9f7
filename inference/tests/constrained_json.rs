//! JSON Schema constrained decoding: random walks over a real-shaped vocabulary always end in
//! JSON that parses and validates, and the mask is fast on the real 49,152-token vocabulary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use codebegen_inference::constrained::{JsonSchemaConstraint, TokenConstraint};
use codebegen_inference::tokenizer::{TokenVocab, Tokenizer};
use serde_json::{json, Value};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

/// A small deterministic generator for the walks.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// A byte-level BPE trained on JSON-like text, so the vocabulary has multi-character tokens such
/// as `":`, `", "`, ` {"` and partial UTF-8 the machine must handle.
fn trained_vocab() -> Arc<TokenVocab> {
    let corpus: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "{{\"name\": \"Todo {i}\", \"priority\": {}, \"done\": {}, \"tags\": [\"work\", \"home\"], \
                 \"owner\": {{\"email\": \"a{i}@x.io\", \"score\": -{i}.5}}, \"note\": \"café \\\"q\\\" 日本 🦀\\n\"}}",
                i % 5,
                i % 2 == 0
            )
        })
        .collect();
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, true, true)));
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(800)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![tokenizers::AddedToken::from("<|im_end|>", true)])
        .build()
        .into();
    tokenizer.train(&mut trainer, corpus.iter()).expect("train");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokenizer.json");
    tokenizer.save(&path, false).expect("save");
    Tokenizer::from_file(&path).expect("load").vocab()
}

fn real_vocab() -> Option<Arc<TokenVocab>> {
    let Some(path) = std::env::var_os("CODEBEGEN_TEST_MODEL").map(PathBuf::from) else {
        assert!(
            std::env::var("CODEBEGEN_REQUIRE_MODEL").as_deref() != Ok("1"),
            "CODEBEGEN_REQUIRE_MODEL=1 but CODEBEGEN_TEST_MODEL is not set"
        );
        println!("skipped: CODEBEGEN_TEST_MODEL not set");
        return None;
    };
    let mut file = std::fs::File::open(&path).expect("model file");
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).expect("GGUF");
    Some(Tokenizer::from_gguf(&content).expect("tokenizer").vocab())
}

fn schemas() -> Vec<Value> {
    vec![
        json!({"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 12},
            "priority": {"type": "integer", "minimum": 0},
            "done": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
            "owner": {"type": "object", "properties": {
                "email": {"type": "string", "maxLength": 10},
                "score": {"type": "number"},
                "note": {"type": ["string", "null"], "maxLength": 8}
            }, "required": ["email"], "additionalProperties": false},
            "kind": {"enum": ["task", "bug", "idea"]}
        }, "required": ["name", "done", "tags", "kind"], "additionalProperties": false}),
        json!({"type": "array", "items": {"anyOf": [
            {"type": "integer"}, {"type": "string", "minLength": 1, "maxLength": 4}, {"type": "null"}]},
            "minItems": 1, "maxItems": 5}),
        json!({"$defs": {"field": {"type": "object", "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 8},
                "type": {"enum": ["str", "int", "bool"]}}, "required": ["name", "type"]}},
            "type": "object", "properties": {"entities": {"type": "array", "minItems": 1, "maxItems": 2,
                "items": {"type": "object", "properties": {
                    "name": {"type": "string", "maxLength": 8},
                    "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}, "maxItems": 2}},
                    "required": ["name", "fields"]}}},
            "required": ["entities"]}),
        json!({"type": "number"}),
    ]
}

/// Whether `value` matches `schema`: the subset the constraint supports, written independently.
fn validates(value: &Value, schema: &Value, root: &Value) -> bool {
    let s = schema.as_object().expect("schema object");
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return validates(value, root.pointer(&r[1..]).expect("ref"), root);
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array) {
        return options.contains(value);
    }
    if let Some(options) = s.get("anyOf").and_then(Value::as_array) {
        return options.iter().any(|o| validates(value, o, root));
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => panic!("untyped schema"),
    };
    let count = |key: &str| s.get(key).and_then(Value::as_u64).map(|n| n as usize);
    types.iter().any(|t| match (*t, value) {
        ("null", Value::Null) | ("boolean", Value::Bool(_)) => true,
        ("integer", Value::Number(n)) => {
            (n.is_i64() || n.is_u64())
                && (count("minimum") != Some(0) || n.as_f64().expect("f64") >= 0.0)
        }
        ("number", Value::Number(_)) => true,
        ("string", Value::String(text)) => {
            let n = text.chars().count();
            n >= count("minLength").unwrap_or(0) && n <= count("maxLength").unwrap_or(usize::MAX)
        }
        ("array", Value::Array(items)) => {
            items.len() >= count("minItems").unwrap_or(0)
                && items.len() <= count("maxItems").unwrap_or(usize::MAX)
                && items.iter().all(|item| validates(item, &s["items"], root))
        }
        ("object", Value::Object(map)) => {
            let props = s["properties"].as_object().expect("properties");
            let required = s
                .get("required")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            required
                .iter()
                .all(|r| map.contains_key(r.as_str().expect("name")))
                && map
                    .iter()
                    .all(|(k, v)| props.get(k).is_some_and(|p| validates(v, p, root)))
        }
        _ => false,
    })
}

/// Generates with uniformly random allowed tokens until eos; returns the text.
fn random_walk(constraint: &mut JsonSchemaConstraint, vocab: &TokenVocab, rng: &mut Lcg) -> String {
    let mut bytes = Vec::new();
    for _ in 0..5_000 {
        let allowed: Vec<u32> = constraint.mask().iter().collect();
        assert!(
            !allowed.is_empty(),
            "dead end after {:?}",
            String::from_utf8_lossy(&bytes)
        );
        // Prefer ending when allowed, so root numbers do not always run to the digit limit.
        let token = if allowed.contains(&vocab.eos()) && rng.below(3) == 0 {
            vocab.eos()
        } else {
            allowed[rng.below(allowed.len())]
        };
        constraint
            .advance(token)
            .expect("a masked token is accepted");
        if token == vocab.eos() {
            assert!(constraint.is_complete());
            return String::from_utf8(bytes).expect("constrained output is UTF-8");
        }
        bytes.extend_from_slice(vocab.bytes(token));
    }
    panic!(
        "no eos after 5000 tokens: {}",
        String::from_utf8_lossy(&bytes)
    );
}

fn check_walks(vocab: &Arc<TokenVocab>, walks: usize, seed: u64) {
    let mut rng = Lcg(seed);
    for schema in schemas() {
        let template = JsonSchemaConstraint::new(&schema, Arc::clone(vocab)).expect("schema");
        for _ in 0..walks {
            let text = random_walk(&mut template.restart(), vocab, &mut rng);
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
            assert!(
                validates(&value, &schema, &schema),
                "{text} does not match {schema}"
            );
        }
    }
}

#[test]
fn random_walks_over_a_trained_vocab_give_valid_json() {
    let vocab = trained_vocab();
    assert!(
        vocab.iter().any(|(_, b)| b.len() > 3),
        "multi-byte tokens trained"
    );
    check_walks(&vocab, 40, 1);
}

#[test]
fn random_walks_over_the_real_vocab_give_valid_json() {
    let Some(vocab) = real_vocab() else { return };
    check_walks(&vocab, 8, 2);
}

#[test]
fn mask_timing_on_the_real_vocab() {
    let Some(vocab) = real_vocab() else { return };
    let schema = &schemas()[0];
    let prefixes = [
        ("start", ""),
        ("after {", "{"),
        ("in a key", "{\"na"),
        ("after a colon", "{\"name\":"),
        ("in a string", "{\"name\": \"ab"),
        (
            "in an array",
            "{\"name\": \"ab\", \"done\": true, \"tags\": [\"x\",",
        ),
        ("in a number", "{\"name\": \"ab\", \"priority\": 4"),
    ];
    let template = JsonSchemaConstraint::new(schema, Arc::clone(&vocab)).expect("schema");
    for (label, prefix) in prefixes {
        let mut fresh = template.restart();
        assert!(fresh.advance_bytes(prefix.as_bytes()), "{prefix}");
        // The best of 5 uncached computations (the machine is shared, timings are noisy).
        let mut computed = std::time::Duration::MAX;
        let mut mask = fresh.mask_uncached();
        for _ in 0..5 {
            let started = Instant::now();
            mask = fresh.mask_uncached();
            computed = computed.min(started.elapsed());
        }
        fresh.mask();
        let started = Instant::now();
        let again = fresh.mask();
        let cached = started.elapsed();
        assert_eq!(mask, again);
        // Every allowed token keeps the document writable.
        for token in mask.iter().take(200) {
            let mut probe = fresh.restart();
            assert!(probe.advance_bytes(prefix.as_bytes()));
            probe.advance(token).expect("allowed token fits");
        }
        println!(
            "mask {label:>14}: {:>6} of {} tokens allowed, computed in {:>8.3} ms, cached {:>8.3} ms",
            mask.count(),
            vocab.len(),
            computed.as_secs_f64() * 1e3,
            cached.as_secs_f64() * 1e3
        );
    }
    // After `{` only a key may start: every allowed token starts with `"`.
    let mut after_open = template.restart();
    assert!(after_open.advance_bytes(b"{"));
    assert!(after_open
        .mask()
        .iter()
        .all(|t| vocab.bytes(t).first() == Some(&b'"')));
}
