//! Test data: for each field a Python expression in the counter `n` that always satisfies the
//! field's type and constraints (and differs between calls where the type allows), and a concrete
//! JSON example for the README.

use codebegen_schema::{Field, FieldType};
use serde_json::{json, Value};

use super::fields::{EMAIL_LENGTH, STRING_LENGTH, URL_LENGTH};
use super::pyfmt::{call, raw, Py};
use super::pylit::{py_float, py_str};

/// Unique fields with fewer possible values than this get `None` in factories when optional.
const FEW_VALUES: u64 = 16;
/// Values beyond this are not used as integer samples (SQLite stores 64-bit integers).
const SAFE_INT: f64 = 1e15;

/// How many distinct sample values a field can take (`u64::MAX` for "plenty").
pub fn cardinality(field: &Field) -> u64 {
    match field.field_type {
        FieldType::Boolean => 2,
        FieldType::Enum => field.enum_values.as_ref().map_or(1, |v| v.len() as u64),
        FieldType::Integer => match int_range(field) {
            (Some(lo), Some(hi)) if hi >= lo => (hi - lo + 1).min(1 << 40) as u64,
            (Some(lo), Some(hi)) if hi < lo => 0,
            _ => u64::MAX,
        },
        FieldType::Decimal => match cents_range(field, 2) {
            Some((Some(lo), Some(hi))) => (hi - lo + 1).min(1 << 40) as u64,
            _ => u64::MAX,
        },
        _ => u64::MAX,
    }
}

/// Whether factories leave this field `None`: an optional unique field with too few values.
pub fn left_empty(field: &Field) -> bool {
    field.unique && !field.required && cardinality(field) < FEW_VALUES
}

/// Whether tests can rely on two factory rows having different values of this field.
pub fn varies(field: &Field) -> bool {
    !left_empty(field) && cardinality(field) >= FEW_VALUES
}

fn int_range(field: &Field) -> (Option<i64>, Option<i64>) {
    let lo = field.min.map(|v| v.max(-SAFE_INT).ceil() as i64);
    let hi = field.max.map(|v| v.min(SAFE_INT).floor() as i64);
    (lo, hi)
}

/// The bounds in units of `10^-places`, or `None` if they hold no such value.
fn cents_range(field: &Field, places: i32) -> Option<(Option<i64>, Option<i64>)> {
    let scale = 10f64.powi(places);
    let lo = field.min.map(|v| (v.max(-SAFE_INT) * scale).ceil() as i64);
    let hi = field.max.map(|v| (v.min(SAFE_INT) * scale).floor() as i64);
    match (lo, hi) {
        (Some(l), Some(h)) if h < l => None,
        _ => Some((lo, hi)),
    }
}

fn cycle(lo: Option<i64>, hi: Option<i64>, n: &str, free: &str) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) if hi > lo => format!("{lo} + {n} % {}", hi - lo + 1),
        (Some(lo), Some(_)) => lo.to_string(),
        (Some(lo), None) => format!("{lo} + {n}"),
        (None, Some(hi)) => format!("{hi} - {n}"),
        (None, None) => free.to_string(),
    }
}

/// A Python expression in `n` (an `int`) giving a valid JSON-ready value for the field.
pub fn sample_expr(field: &Field) -> Py {
    if left_empty(field) {
        return raw("None");
    }
    let name = || raw(py_str(&field.name));
    let n = || raw("n");
    let len = |default: u32| raw(field.max_length.unwrap_or(default).to_string());
    match field.field_type {
        FieldType::String => call("unique_text", vec![name(), n(), len(STRING_LENGTH)]),
        FieldType::Text => match field.max_length {
            Some(max) => call("unique_text", vec![name(), n(), raw(max.to_string())]),
            None => raw(format!("f\"{} {{n}}\"", field.name.replace('_', " "))),
        },
        FieldType::Email => call("unique_email", vec![name(), n(), len(EMAIL_LENGTH)]),
        FieldType::Url => call("unique_url", vec![name(), n(), len(URL_LENGTH)]),
        FieldType::Integer => {
            let (lo, hi) = int_range(field);
            raw(cycle(lo, hi, "n", "n"))
        }
        FieldType::Float => raw(match (field.min, field.max) {
            (Some(lo), Some(hi)) if (hi - lo).is_finite() && hi > lo => {
                format!(
                    "{} + {} * (n % 97 + 1) / 98",
                    py_float(lo),
                    py_float(hi - lo)
                )
            }
            (Some(lo), Some(_)) => py_float(lo),
            (Some(lo), None) => format!("{} + n + 0.5", py_float(lo)),
            (None, Some(hi)) => format!("{} - n - 0.5", py_float(hi)),
            (None, None) => "n + 0.5".into(),
        }),
        FieldType::Decimal => {
            for places in [2, 4] {
                if let Some((lo, hi)) = cents_range(field, places) {
                    let free = if places == 2 {
                        "n * 100 + 25"
                    } else {
                        "n * 10000 + 2500"
                    };
                    let units = raw(cycle(lo, hi, "n", free));
                    return call("sample_decimal", vec![units, raw(places.to_string())]);
                }
            }
            // No 4-place value fits the bounds; the tightest bound is the best try.
            let bound = field.min.or(field.max).unwrap_or(0.0);
            raw(py_str(&format!("{bound}")))
        }
        FieldType::Boolean => raw("n % 2 == 0"),
        FieldType::Date => call("sample_date", vec![n()]),
        FieldType::Datetime => call("sample_datetime", vec![n()]),
        FieldType::Time => call("sample_time", vec![n()]),
        FieldType::Uuid => call("sample_uuid", vec![n()]),
        FieldType::Enum => {
            let values: Vec<Py> = field
                .enum_values
                .iter()
                .flatten()
                .map(|v| raw(py_str(v)))
                .collect();
            match values.len() {
                0 => raw("None"),
                1 => values[0].clone(),
                _ => call("choice", vec![Py::Tuple(values), n()]),
            }
        }
        FieldType::Json => raw(format!("{{\"n\": n, \"label\": {}}}", py_str(&field.name))),
    }
}

/// A concrete example value for documentation (the factory value for `n = 1`, roughly).
pub fn sample_json(field: &Field) -> Value {
    let fit = |text: String, default: u32| -> Value {
        let max = field.max_length.unwrap_or(default) as usize;
        Value::String(text.chars().take(max).collect())
    };
    match field.field_type {
        FieldType::String => fit(format!("{} 1", field.name.replace('_', " ")), STRING_LENGTH),
        FieldType::Text => fit(format!("Some {}", field.name.replace('_', " ")), u32::MAX),
        FieldType::Email => json!("someone@example.com"),
        FieldType::Url => json!("https://example.com/page"),
        FieldType::Integer => match int_range(field) {
            (Some(lo), _) => json!(lo),
            (None, Some(hi)) => json!(hi.min(1)),
            _ => json!(1),
        },
        FieldType::Float | FieldType::Decimal => {
            let value = match (field.min, field.max) {
                (Some(lo), Some(hi)) => lo + (hi - lo) / 2.0,
                (Some(lo), None) => lo + 1.0,
                (None, Some(hi)) => hi.min(1.5),
                (None, None) => 1.5,
            };
            if field.field_type == FieldType::Decimal {
                json!(format!("{value}"))
            } else {
                json!(value)
            }
        }
        FieldType::Boolean => json!(true),
        FieldType::Date => json!("2024-01-02"),
        FieldType::Datetime => json!("2024-01-01T01:00:00"),
        FieldType::Time => json!("09:30:00"),
        FieldType::Uuid => json!("00000000-0000-0000-0000-000000000001"),
        FieldType::Enum => field
            .enum_values
            .as_ref()
            .and_then(|v| v.first())
            .map_or(Value::Null, |v| json!(v)),
        FieldType::Json => json!({"key": "value"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(field: Field, expected: &str) {
        assert_eq!(sample_expr(&field).flat(), expected);
    }

    fn bounded(field_type: FieldType, min: Option<f64>, max: Option<f64>) -> Field {
        let mut field = Field::new("score", field_type);
        field.min = min;
        field.max = max;
        field
    }

    #[test]
    fn samples_respect_bounds() {
        check(
            bounded(FieldType::Integer, Some(0.5), Some(10.0)),
            "1 + n % 10",
        );
        check(bounded(FieldType::Integer, None, Some(-3.0)), "-3 - n");
        check(
            bounded(FieldType::Float, Some(0.0), Some(1.0)),
            "0.0 + 1.0 * (n % 97 + 1) / 98",
        );
        check(
            bounded(FieldType::Decimal, Some(0.001), Some(0.002)),
            "sample_decimal(10 + n % 11, 4)",
        );
        check(
            bounded(FieldType::Decimal, None, None),
            "sample_decimal(n * 100 + 25, 2)",
        );
        let mut flag = Field::new("flag", FieldType::Boolean);
        flag.unique = true;
        flag.required = false;
        check(flag, "None");
    }
}
