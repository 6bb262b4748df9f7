//! Unit tests of the JSON Schema constraint, one byte per token.

use std::sync::Arc;

use serde_json::json;

use super::*;

/// A vocabulary of the 256 single bytes plus an eos (id 256).
fn byte_vocab() -> Arc<TokenVocab> {
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    tokens.push(b"<eos>".to_vec());
    let mut special = vec![false; 257];
    special[256] = true;
    Arc::new(TokenVocab::new(tokens, special, 256).expect("vocab"))
}

fn constraint(schema: &Value) -> JsonSchemaConstraint {
    JsonSchemaConstraint::new(schema, byte_vocab()).expect("supported schema")
}

/// Whether `text` is a complete document under `schema`.
fn check(schema: &Value, text: &str, complete: bool) {
    let mut c = constraint(schema);
    let fits = c.advance_bytes(text.as_bytes());
    let done = fits && c.state.can_finish();
    assert_eq!(done, complete, "{text} under {schema}");
}

/// Whether `text` can be written at all (as a prefix) under `schema`.
fn check_prefix(schema: &Value, text: &str, fits: bool) {
    assert_eq!(
        constraint(schema).advance_bytes(text.as_bytes()),
        fits,
        "{text}"
    );
}

fn person() -> Value {
    json!({"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 5},
        "age": {"type": "integer", "minimum": 0},
        "email": {"type": "string"},
        "tags": {"type": "array", "items": {"enum": ["a", "bb"]}, "minItems": 1, "maxItems": 2}
    }, "required": ["name", "tags"]})
}

#[test]
fn objects_follow_schema_order_with_optional_properties() {
    let s = person();
    check(&s, r#"{"name":"Al","tags":["a"]}"#, true);
    check(
        &s,
        r#"{"name": "Al", "age": 30, "tags": ["a", "bb"]}"#,
        true,
    );
    check(&s, r#"{"name":"Al","email":"x@y","tags":["bb"]}"#, true);
    check(&s, r#"{"name":"Al"}"#, false);
    check_prefix(&s, r#"{"tags""#, false);
    check_prefix(&s, r#"{"name":"Al","other""#, false);
    check_prefix(&s, r#"{"name":"Al","tags":["a","bb","a""#, false);
    check_prefix(&s, r#"{"name":"Al","tags":[]"#, false);
    check_prefix(&s, r#"{"name":  "#, false);
    check_prefix(&s, r#"{ "name""#, false);
    check_prefix(&s, r#"{"name":"toolong""#, false);
    check_prefix(&s, r#"{"name":"Al","age":-1"#, false);
    check_prefix(&s, r#"{"name":"Al","age":01"#, false);
}

#[test]
fn strings_are_valid_json_and_utf8() {
    let s = json!({"type": "string", "minLength": 2, "maxLength": 4});
    check(&s, r#""ab""#, true);
    check(&s, r#""a""#, false);
    check(&s, "\"é日\"", true);
    check(&s, r#""\n\"\u00e9""#, true);
    check(&s, r#""abcde""#, false);
    check_prefix(&s, r#""\ud800"#, false);
    check_prefix(&s, r#""\x"#, false);
    check_prefix(&s, "\"a\tb", false);
    for bad in [
        &b"\"\xC0\x80"[..],
        b"\"\xED\xA0\x80",
        b"\"\xF5",
        b"\"\xE0\x80",
    ] {
        assert!(!constraint(&s).advance_bytes(bad), "{bad:?}");
    }
}

#[test]
fn numbers_booleans_null_and_unions() {
    let n = json!({"type": "number"});
    for (text, ok) in [
        ("0", true),
        ("-3.25", true),
        ("12.", false),
        ("-", false),
        ("1.5", true),
    ] {
        check(&n, text, ok);
    }
    check_prefix(&json!({"type": "integer"}), "1.", false);
    check_prefix(&n, "1e5", false);
    check(&n, "1234567890123456", false);
    let u = json!({"type": ["boolean", "null", "string"]});
    for (text, ok) in [
        ("true", true),
        ("false", true),
        ("null", true),
        ("\"x\"", true),
        ("nul", false),
    ] {
        check(&u, text, ok);
    }
    let any =
        json!({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]});
    check(&any, "[1, 2,3]", true);
    check(&any, "7", true);
}

#[test]
fn refs_enums_and_consts_resolve() {
    let s = json!({"$defs": {"color": {"enum": ["red", "green", 3]}},
                   "type": "object", "properties": {"c": {"$ref": "#/$defs/color"},
                   "k": {"const": "x"}}, "required": ["c", "k"]});
    check(&s, r#"{"c":"green","k":"x"}"#, true);
    check(&s, r#"{"c":3,"k":"x"}"#, true);
    check_prefix(&s, r#"{"c":"gr"ee"#, false);
}

#[test]
fn unsupported_schemas_are_refused_with_a_reason() {
    for schema in [
        json!({"type": "string", "pattern": "a+"}),
        json!({}),
        json!({"anyOf": [{"type": "integer"}, {"type": "number"}]}),
        json!({"enum": [1, 12]}),
        json!({"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 2}),
        json!({"$ref": "#/nowhere"}),
        json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        json!({"type": "integer", "minimum": 5}),
    ] {
        let error = JsonSchemaConstraint::new(&schema, byte_vocab()).expect_err("refused");
        assert!(
            matches!(error, InferenceError::InvalidRequest(_)),
            "{error}"
        );
    }
}

#[test]
fn masks_allow_exactly_the_next_bytes_then_only_eos() {
    let mut c = constraint(
        &json!({"type": "object", "properties": {"ok": {"type": "boolean"}},
                                   "required": ["ok"]}),
    );
    let allowed = |c: &mut JsonSchemaConstraint| c.mask().iter().collect::<Vec<u32>>();
    assert_eq!(allowed(&mut c), vec![u32::from(b'{')]);
    for &b in br#"{"ok": "# {
        c.advance(u32::from(b)).expect("allowed");
    }
    assert_eq!(allowed(&mut c), vec![u32::from(b'f'), u32::from(b't')]);
    assert!(c.advance(u32::from(b'x')).is_err());
    assert!(c.advance(256).is_err(), "eos before the value is complete");
    for &b in b"true}" {
        c.advance(u32::from(b)).expect("allowed");
    }
    assert!(c.is_complete());
    assert_eq!(allowed(&mut c), vec![256]);
    c.advance(256).expect("eos ends it");
    assert!(c.advance(u32::from(b' ')).is_err());
}

#[test]
fn a_root_number_may_end_or_go_on() {
    let mut c = constraint(&json!({"type": "integer"}));
    c.advance(u32::from(b'4')).expect("digit");
    let mask = c.mask();
    assert!(mask.allows(256) && mask.allows(u32::from(b'5')));
    assert!(!mask.allows(u32::from(b'.')));
    assert!(!c.is_complete());
}
