//! Python literals: JSON values, strings and numbers written as Python source.

use serde_json::Value;

/// A Python string literal in double quotes; control characters, quotes and backslashes escaped.
pub fn py_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{code:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A finite float as a Python float literal (`1.0`, `0.25`, `1e300`).
pub fn py_float(value: f64) -> String {
    let text = format!("{value:?}");
    if text.contains(['.', 'e', 'E']) || !value.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

/// A bound: an integer literal when the value is integral and not huge, else a float literal.
pub fn py_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e18 {
        format!("{}", value as i64)
    } else {
        py_float(value)
    }
}

/// A JSON value as a Python literal (`None`, `True`, `[1, "a"]`, `{"k": 1.5}`).
pub fn py_value(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                n.to_string()
            } else {
                py_float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => py_str(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_value).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_value(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// A TOML basic string literal.
pub fn toml_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, expected: &str) {
        assert_eq!(py_value(&value), expected);
    }

    #[test]
    fn literals() {
        check(json!(null), "None");
        check(json!(true), "True");
        check(json!(3), "3");
        check(json!(-2.5), "-2.5");
        check(json!("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        check(json!("\u{1}é"), r#""\x01é""#);
        check(json!([1, "x"]), r#"[1, "x"]"#);
        check(json!({"k": {"n": false}}), r#"{"k": {"n": False}}"#);
        assert_eq!(py_float(100.0), "100.0");
        assert_eq!(py_float(1e300), "1e300");
        assert_eq!(py_number(5.0), "5");
        assert_eq!(py_number(0.5), "0.5");
        assert_eq!(toml_str("a \"b\"\n"), r#""a \"b\"\n""#);
    }
}
