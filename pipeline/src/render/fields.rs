//! One spec field as Python: its SQLAlchemy column type, Python type, pydantic annotations and
//! default value. Module names go through [`Aliases`] so a field called `uuid` cannot shadow them.

use std::collections::BTreeSet;

use codebegen_schema::{Field, FieldType};
use serde::Serialize;
use serde_json::Value;

use super::pyfmt::{call, kw, raw, Py};
use super::pylit::{py_float, py_number, py_str, py_value};

/// Default `max_length` of `string` fields.
pub const STRING_LENGTH: u32 = 255;
/// Default `max_length` of `email` fields.
pub const EMAIL_LENGTH: u32 = 320;
/// Default `max_length` of `url` fields.
pub const URL_LENGTH: u32 = 2048;
/// Digits and scale of `decimal` columns.
pub const DECIMAL_DIGITS: (u32, u32) = (18, 4);
/// Smallest value of a 64-bit column, as Python source.
pub const INT64_MIN: &str = "-(2**63)";
/// Largest value of a 64-bit column, as Python source.
pub const INT64_MAX: &str = "2**63 - 1";
const INT64_LIMIT: f64 = 9.2e18;

/// The names under which a generated module imports the modules that class bodies use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aliases {
    /// `sqlalchemy`.
    pub sa: String,
    /// `sqlalchemy.orm`.
    pub orm: String,
    /// `datetime`.
    pub dt: String,
    /// `decimal`.
    pub decimal: String,
    /// `uuid`.
    pub uuid: String,
    /// `enum`.
    #[serde(rename = "enum")]
    pub enum_: String,
}

impl Aliases {
    /// The usual names (`sa`, `orm`, `dt`, ...), with a trailing `_` for any that a class
    /// attribute in `taken` would shadow (field names never end in `_`).
    pub fn avoiding(taken: &BTreeSet<String>) -> Aliases {
        let pick = |name: &str| {
            if taken.contains(name) {
                format!("{name}_")
            } else {
                name.to_string()
            }
        };
        Aliases {
            sa: pick("sa"),
            orm: pick("orm"),
            dt: pick("dt"),
            decimal: pick("decimal"),
            uuid: pick("uuid"),
            enum_: pick("enum"),
        }
    }
}

/// A field's default value, as Python for the model column and for the create schema.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// A constant expression.
    Value(String),
    /// A mutable JSON default: given to pydantic only.
    SchemaOnly(String),
    /// A value computed per row: (model `default=` expression, pydantic `default_factory`).
    Factory(String, String),
}

/// How one field looks in Python, for one module's aliases.
pub struct FieldPy<'a> {
    /// The field.
    pub field: &'a Field,
    /// The enum class name usable in the module being written (for enum fields).
    pub enum_class: String,
    /// Module aliases of that module.
    pub aliases: &'a Aliases,
}

impl FieldPy<'_> {
    /// The column's SQLAlchemy type; `enum_db_name` names the enum type in the database.
    pub fn sa_type(&self, enum_db_name: &str) -> Py {
        let sa = &self.aliases.sa;
        let f = self.field;
        match f.field_type {
            FieldType::String => raw(format!(
                "{sa}.String({})",
                f.max_length.unwrap_or(STRING_LENGTH)
            )),
            FieldType::Text => raw(format!("{sa}.Text()")),
            FieldType::Integer => raw(format!("{sa}.BigInteger()")),
            FieldType::Float => raw(format!("{sa}.Float()")),
            FieldType::Decimal => raw(format!(
                "{sa}.Numeric({}, {})",
                DECIMAL_DIGITS.0, DECIMAL_DIGITS.1
            )),
            FieldType::Boolean => raw(format!("{sa}.Boolean()")),
            FieldType::Date => raw(format!("{sa}.Date()")),
            FieldType::Datetime => raw(format!("{sa}.DateTime(timezone=True)")),
            FieldType::Time => raw(format!("{sa}.Time()")),
            FieldType::Email => raw(format!(
                "{sa}.String({})",
                f.max_length.unwrap_or(EMAIL_LENGTH)
            )),
            FieldType::Url => raw(format!(
                "{sa}.String({})",
                f.max_length.unwrap_or(URL_LENGTH)
            )),
            FieldType::Uuid => raw(format!("{sa}.Uuid()")),
            FieldType::Json => raw(format!("{sa}.JSON()")),
            FieldType::Enum => call(
                format!("{sa}.Enum"),
                vec![
                    raw(&self.enum_class),
                    kw("name", raw(py_str(enum_db_name))),
                    kw(
                        "values_callable",
                        raw("lambda members: [m.value for m in members]"),
                    ),
                ],
            ),
        }
    }

    /// The Python type of the column value, without `| None`.
    pub fn value_type(&self) -> String {
        let a = self.aliases;
        match self.field.field_type {
            FieldType::String | FieldType::Text | FieldType::Email | FieldType::Url => "str".into(),
            FieldType::Integer => "int".into(),
            FieldType::Float => "float".into(),
            FieldType::Decimal => format!("{}.Decimal", a.decimal),
            FieldType::Boolean => "bool".into(),
            FieldType::Date => format!("{}.date", a.dt),
            FieldType::Datetime => format!("{}.datetime", a.dt),
            FieldType::Time => format!("{}.time", a.dt),
            FieldType::Uuid => format!("{}.UUID", a.uuid),
            FieldType::Enum => self.enum_class.clone(),
            FieldType::Json => "Any".into(),
        }
    }

    /// The input type for create and update schemas (without `| None`) and the `Field(...)`
    /// constraints that validate it.
    pub fn input(&self) -> (String, Vec<String>) {
        let f = self.field;
        let length = |default: Option<u32>| -> Vec<String> {
            f.max_length
                .or(default)
                .map(|n| format!("max_length={n}"))
                .into_iter()
                .collect()
        };
        match f.field_type {
            FieldType::String => ("str".into(), length(Some(STRING_LENGTH))),
            FieldType::Text => ("str".into(), length(None)),
            FieldType::Email => ("Email".into(), length(Some(EMAIL_LENGTH))),
            FieldType::Url => ("HttpUrlStr".into(), length(Some(URL_LENGTH))),
            FieldType::Integer => {
                let low = match f.min {
                    Some(lo) if lo > -INT64_LIMIT => py_number(lo.ceil()),
                    _ => INT64_MIN.to_string(),
                };
                let high = match f.max {
                    Some(hi) if hi < INT64_LIMIT => py_number(hi.floor()),
                    _ => INT64_MAX.to_string(),
                };
                (
                    "int".into(),
                    vec![format!("ge={low}"), format!("le={high}")],
                )
            }
            FieldType::Float => {
                let mut args = vec!["allow_inf_nan=False".to_string()];
                args.extend(self.bounds());
                ("float".into(), args)
            }
            FieldType::Decimal => {
                let mut args = vec![
                    format!("max_digits={}", DECIMAL_DIGITS.0),
                    format!("decimal_places={}", DECIMAL_DIGITS.1),
                ];
                args.extend(self.bounds());
                (self.value_type(), args)
            }
            _ => (self.value_type(), Vec::new()),
        }
    }

    fn bounds(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(lo) = self.field.min {
            out.push(format!("ge={}", py_number(lo)));
        }
        if let Some(hi) = self.field.max {
            out.push(format!("le={}", py_number(hi)));
        }
        out
    }

    /// The type in read schemas: plain, so stored data never fails output validation.
    pub fn read_type(&self) -> String {
        let base = self.value_type();
        if self.field.required || self.field.field_type == FieldType::Json {
            base
        } else {
            format!("{base} | None")
        }
    }

    /// The type of the equality filter (`None` for JSON, which has no equality filter).
    pub fn filter_type(&self) -> Option<String> {
        match self.field.field_type {
            FieldType::Json => None,
            FieldType::Integer => Some("Int64".into()),
            _ => Some(self.value_type()),
        }
    }

    /// The default value, if the spec gives one that fits the type.
    pub fn default(&self) -> Option<DefaultValue> {
        default_value(self.field, &self.enum_class, self.aliases)
    }
}

fn default_value(field: &Field, enum_class: &str, a: &Aliases) -> Option<DefaultValue> {
    let value = field.default.as_ref()?;
    let text = value.as_str();
    let keyword = text
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let fits_length = |s: &str, default: Option<u32>| match field.max_length.or(default) {
        Some(n) => s.chars().count() <= n as usize,
        None => true,
    };
    let constant = DefaultValue::Value;
    match field.field_type {
        FieldType::String | FieldType::Text => {
            let s = text?;
            let limit = (field.field_type == FieldType::String).then_some(STRING_LENGTH);
            fits_length(s, limit).then(|| constant(py_str(s)))
        }
        FieldType::Email => {
            let s = text?;
            (fits_length(s, Some(EMAIL_LENGTH)) && looks_like_email(s)).then(|| constant(py_str(s)))
        }
        FieldType::Url => {
            let s = text?;
            let http = s.starts_with("http://") || s.starts_with("https://");
            (fits_length(s, Some(URL_LENGTH)) && http && !s.contains(char::is_whitespace))
                .then(|| constant(py_str(s)))
        }
        FieldType::Integer => value
            .as_i64()
            .filter(|n| n.unsigned_abs() < 1 << 62)
            .map(|n| constant(n.to_string())),
        FieldType::Float => value.as_f64().map(|n| constant(py_float(n))),
        FieldType::Decimal => {
            let n = value.as_f64().filter(|n| n.abs() < 1e13)?;
            let literal = match value {
                Value::Number(num) if num.is_i64() || num.is_u64() => num.to_string(),
                _ => format!("{n}"),
            };
            Some(constant(format!(
                "{}.Decimal({})",
                a.decimal,
                py_str(&literal)
            )))
        }
        FieldType::Boolean => value.as_bool().map(|b| constant(py_value(&Value::Bool(b)))),
        FieldType::Date => {
            if matches!(keyword.as_str(), "today" | "now" | "current_date" | "now()") {
                let today = format!("{}.date.today", a.dt);
                return Some(DefaultValue::Factory(today.clone(), today));
            }
            let s = text?;
            is_iso_date(s).then(|| constant(format!("{}.date.fromisoformat({})", a.dt, py_str(s))))
        }
        FieldType::Datetime => {
            if matches!(
                keyword.as_str(),
                "now" | "now()" | "current_timestamp" | "utcnow" | "today"
            ) {
                let now = format!("lambda: {dt}.datetime.now({dt}.UTC)", dt = a.dt);
                return Some(DefaultValue::Factory(now.clone(), now));
            }
            let s = text?;
            is_iso_datetime(s)
                .then(|| constant(format!("{}.datetime.fromisoformat({})", a.dt, py_str(s))))
        }
        FieldType::Time => {
            let s = text?;
            is_iso_time(s).then(|| constant(format!("{}.time.fromisoformat({})", a.dt, py_str(s))))
        }
        FieldType::Uuid => {
            if matches!(
                keyword.as_str(),
                "uuid4" | "uuid4()" | "random" | "auto" | "generated"
            ) {
                let new = format!("{}.uuid4", a.uuid);
                return Some(DefaultValue::Factory(new.clone(), new));
            }
            let s = text?;
            is_uuid(s).then(|| constant(format!("{}.UUID({})", a.uuid, py_str(s))))
        }
        FieldType::Enum => {
            let s = text?;
            let values = field.enum_values.as_ref()?;
            values.iter().any(|v| v == s).then(|| {
                constant(format!(
                    "{enum_class}.{}",
                    codebegen_schema::derived::enum_member_name(s)
                ))
            })
        }
        FieldType::Json => match value {
            Value::Array(_) | Value::Object(_) => Some(DefaultValue::SchemaOnly(py_value(value))),
            other => Some(constant(py_value(other))),
        },
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// `YYYY-MM-DD`, a real calendar day.
pub fn is_iso_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.ffffff`.
pub fn is_iso_time(s: &str) -> bool {
    let (main, fraction) = match s.split_once('.') {
        Some((main, fraction)) => (main, Some(fraction)),
        None => (s, None),
    };
    if let Some(fraction) = fraction {
        let ok = matches!(fraction.len(), 3 | 6) && fraction.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return false;
        }
    }
    let parts: Vec<&str> = main.split(':').collect();
    let limits = [23, 59, 59];
    if !(2..=3).contains(&parts.len()) || (fraction.is_some() && parts.len() != 3) {
        return false;
    }
    parts
        .iter()
        .zip(limits)
        .all(|(part, limit)| digits(part, 2).is_some_and(|n| n <= limit))
}

/// A date, `T` or a space, a time, and an optional `Z` or `±HH:MM` offset.
pub fn is_iso_datetime(s: &str) -> bool {
    if s.len() < 16 || !s.is_char_boundary(10) {
        return false;
    }
    let (date, rest) = s.split_at(10);
    if !is_iso_date(date) || !(rest.starts_with('T') || rest.starts_with(' ')) {
        return false;
    }
    let time = &rest[1..];
    let time = time.strip_suffix('Z').unwrap_or(time);
    let time = match time.rfind(['+', '-']) {
        Some(i) => {
            let offset = &time[i + 1..];
            let ok = offset.len() == 5 && is_iso_time(offset);
            if !ok {
                return false;
            }
            &time[..i]
        }
        None => time,
    };
    is_iso_time(time)
}

/// `8-4-4-4-12` hexadecimal digits.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_formats() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("today"));
        assert!(is_iso_time("10:30"));
        assert!(is_iso_time("10:30:00.123456"));
        assert!(!is_iso_time("24:00"));
        assert!(is_iso_datetime("2024-01-01T10:00:00Z"));
        assert!(is_iso_datetime("2024-01-01 10:00:00+02:00"));
        assert!(!is_iso_datetime("2024-01-01T10:00:00+2"));
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_uuid("123e4567"));
    }

    fn default_of(field_type: FieldType, value: Value) -> Option<DefaultValue> {
        let mut field = Field::new("x", field_type);
        field.default = Some(value);
        field.enum_values = Some(vec!["in progress".into()]);
        let aliases = Aliases::avoiding(&BTreeSet::new());
        default_value(&field, "TaskX", &aliases)
    }

    #[test]
    fn defaults() {
        let value = |s: &str| Some(DefaultValue::Value(s.to_string()));
        assert_eq!(
            default_of(FieldType::Enum, "in progress".into()),
            value("TaskX.IN_PROGRESS")
        );
        assert_eq!(default_of(FieldType::Date, "soon".into()), None);
        assert_eq!(
            default_of(FieldType::Decimal, 1.5.into()),
            value("decimal.Decimal(\"1.5\")")
        );
        assert_eq!(default_of(FieldType::Email, "nobody".into()), None);
        assert!(matches!(
            default_of(FieldType::Datetime, "now".into()),
            Some(DefaultValue::Factory(..))
        ));
    }

    #[test]
    fn aliases_avoid_fields() {
        let taken: BTreeSet<String> = ["uuid".to_string()].into();
        let aliases = Aliases::avoiding(&taken);
        assert_eq!(
            (aliases.uuid.as_str(), aliases.sa.as_str()),
            ("uuid_", "sa")
        );
    }
}
