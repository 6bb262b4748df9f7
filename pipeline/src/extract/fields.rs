//! Fields: a phrase becomes a named, typed column. Types come from the name (`due date` → date,
//! `price` → decimal, `is_active` → boolean) unless the prompt gives values, bounds or a type.

use codebegen_schema::names::{is_reserved, singular_word, snake_case, LIST_RESERVED};
use codebegen_schema::{Field, FieldType};
use serde_json::Value;

use super::enums::{values_from_pieces, MAX_VALUES};
use super::field_words::{
    BOOL_WORDS, COUNTERS, DATE_WORDS, FLOAT_WORDS, IDENTIFIERS, IMPLICIT, INT_WORDS, JSON_WORDS,
    MONEY_WORDS, PASSWORDS, SHORT_NAMES, TEXT_WORDS, TIME_OF_DAY, URL_WORDS,
};
use super::lexicon::is_name_word;
use super::phrases::Phrase;

/// What a phrase turned into.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldOutcome {
    /// A column, with a note saying how its type was chosen (none for plain strings).
    Column(Field, Option<String>),
    /// `id`, `created_at`, ...: every entity has it already.
    Implicit(String),
    /// A password column, which auth manages.
    Password,
    /// Not a usable name.
    Skip,
}

/// Plural words that stay a column rather than becoming an entity (`notes`, `views`).
pub(crate) fn is_field_word(word: &str) -> bool {
    [
        TEXT_WORDS,
        JSON_WORDS,
        COUNTERS,
        INT_WORDS,
        FLOAT_WORDS,
        URL_WORDS,
    ]
    .iter()
    .any(|list| list.contains(&word))
        && !matches!(word, "ingredients" | "steps")
}

/// Reads a phrase as a column.
pub(crate) fn field_from_phrase(p: &Phrase) -> FieldOutcome {
    let words: Vec<String> = p
        .words
        .iter()
        .filter(|w| is_name_word(w))
        .cloned()
        .collect();
    let Some(base) = base_name(&words, p) else {
        return FieldOutcome::Skip;
    };
    if IMPLICIT.contains(&base.as_str()) {
        return FieldOutcome::Implicit(base);
    }
    if PASSWORDS.contains(&base.as_str()) {
        return FieldOutcome::Password;
    }
    let (mut field_type, reason) = infer_type(&base);
    let mut note = (field_type != FieldType::String).then(|| format!("the name reads as {reason}"));
    let mut values = p.values.clone();
    if values.is_empty() {
        values = values_from_pieces(&p.paren);
    }
    let numeric: Vec<f64> = values
        .iter()
        .filter_map(|v| v.parse::<f64>().ok())
        .collect();
    let (mut min, mut max) = (p.min, p.max);
    if !values.is_empty() && numeric.len() == values.len() {
        min = numeric.iter().copied().reduce(f64::min);
        max = numeric.iter().copied().reduce(f64::max);
        values.clear();
    }
    if p.flag {
        field_type = FieldType::Boolean;
        note = Some("it is a flag".into());
    }
    if !values.is_empty() {
        field_type = FieldType::Enum;
        values.truncate(MAX_VALUES);
        note = Some(format!("values listed: {}", values.join(", ")));
    } else if field_type == FieldType::Enum {
        values = vec!["low".into(), "medium".into(), "high".into()];
        note = Some("a priority with no values given; assumed low, medium, high".into());
    }
    if (min.is_some() || max.is_some()) && !is_number(field_type) {
        field_type = if p.fractional {
            FieldType::Float
        } else {
            FieldType::Integer
        };
        note = Some("a range was given".into());
    }
    if let Some(t) = p.explicit_type {
        if t != FieldType::Enum || !values.is_empty() {
            field_type = t;
            note = Some(format!("the prompt says `{}`", t.as_str()));
        }
    }
    let name = rename_reserved(&base);
    let mut field = typed(&name, field_type);
    if field_type == FieldType::Enum {
        field.enum_values = Some(values);
    }
    if is_number(field_type) {
        field.min = min.or(field.min);
        field.max = max.or(field.max);
        if let (Some(lo), Some(hi)) = (field.min, field.max) {
            if lo > hi {
                field.min = None;
            }
        }
    }
    if let Some(len) = p.max_length.filter(|_| is_textual(field_type)) {
        field.max_length = Some(len);
    }
    if p.unique {
        field.unique = true;
    }
    if let Some(raw) = &p.default {
        if let Some(v) = default_value(raw, &field) {
            field.default = Some(v);
            field.required = false;
        }
    }
    if p.optional {
        field.required = false;
    } else if p.required {
        field.required = true;
    }
    FieldOutcome::Column(
        field,
        note.map(|why| format!("typed `{name}` as {} ({why})", field_type.as_str())),
    )
}

/// The snake_case column name a phrase asks for, before reserved words are renamed.
fn base_name(words: &[String], p: &Phrase) -> Option<String> {
    let mut words: Vec<String> = words.to_vec();
    while words.len() > 1
        && matches!(
            words.last().map(String::as_str),
            Some("field" | "column" | "attribute" | "property" | "info")
        )
    {
        words.pop();
    }
    if words.is_empty() || words.len() > 5 {
        return None;
    }
    let counted = words
        .last()
        .is_some_and(|w| INT_WORDS.contains(&w.as_str()));
    if p.count && !counted {
        let last = words.pop().unwrap_or_default();
        words.push(singular_word(&last));
        words.push("count".into());
    }
    let mut name = snake_case(&words.join(" "));
    name = match name.as_str() {
        "e_mail" | "email_address" | "mail" => "email".into(),
        "start" | "start_date_time" | "starts" => "starts_at".into(),
        "end" | "ends" => "ends_at".into(),
        "due" => "due_date".into(),
        "dob" | "birth_date" => "date_of_birth".into(),
        "order" | "sort" | "sort_order" | "display_order" => "sort_order".into(),
        "index" => "position".into(),
        _ => name,
    };
    if let Some(unit) = &p.unit {
        if !name.ends_with(unit.as_str()) {
            name = format!("{name}_{unit}");
        }
    }
    if name.is_empty() || name.len() > 60 || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    Some(name)
}

/// The type a column name suggests, and why.
pub(crate) fn infer_type(name: &str) -> (FieldType, &'static str) {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let (Some(first), Some(last)) = (words.first().copied(), words.last().copied()) else {
        return (FieldType::String, "default");
    };
    let has = |list: &[&str], w: &str| list.contains(&w);
    if words.len() > 1
        && matches!(
            first,
            "is" | "has" | "can" | "should" | "allow" | "allows" | "needs"
        )
    {
        return (FieldType::Boolean, "a yes/no prefix");
    }
    if has(BOOL_WORDS, last) && words.len() <= 3 && !matches!(name, "open" | "close") {
        return (FieldType::Boolean, "a yes/no word");
    }
    if last == "email" || (last == "address" && words.contains(&"email")) {
        return (FieldType::Email, "an e-mail word");
    }
    if has(URL_WORDS, last) {
        return (FieldType::Url, "a link word");
    }
    if matches!(last, "uuid" | "guid") {
        return (FieldType::Uuid, "a uuid word");
    }
    if has(JSON_WORDS, last) {
        return (FieldType::Json, "a structured-data word");
    }
    if name.ends_with("_at") || matches!(last, "timestamp" | "datetime") || name == "starts_at" {
        return (FieldType::Datetime, "a timestamp word");
    }
    if last == "time" {
        return if words.len() == 1 || has(TIME_OF_DAY, first) {
            (FieldType::Time, "a time of day")
        } else {
            (FieldType::Datetime, "a point in time")
        };
    }
    if has(DATE_WORDS, last)
        || (name.ends_with("_on") && words.len() > 1)
        || (first == "date" && words.len() > 1)
    {
        return (FieldType::Date, "a date word");
    }
    if last == "priority" {
        return (FieldType::Enum, "a priority");
    }
    if last == "number" && words.len() > 1 && first != "number" {
        return (FieldType::String, "an identifier");
    }
    if last == "cents" {
        return (FieldType::Integer, "an amount in cents");
    }
    let money_value = last == "value" && words.len() > 1;
    if has(MONEY_WORDS, last) || money_value || words.iter().any(|w| matches!(*w, "price" | "cost"))
    {
        return (FieldType::Decimal, "a money word");
    }
    if has(INT_WORDS, last) || has(INT_WORDS, name) || matches!(first, "num" | "number") {
        return (FieldType::Integer, "a number word");
    }
    if has(FLOAT_WORDS, last) {
        return (FieldType::Float, "a measure");
    }
    if has(TEXT_WORDS, last) {
        return (FieldType::Text, "a long-text word");
    }
    (FieldType::String, "default")
}

/// A column of the given type with the constraints its name suggests (lengths, uniqueness,
/// counters starting at zero).
pub(crate) fn typed(name: &str, field_type: FieldType) -> Field {
    let mut field = Field::new(name, field_type);
    let last = name.rsplit('_').next().unwrap_or(name);
    match field_type {
        FieldType::String => {
            if SHORT_NAMES.contains(&name) || SHORT_NAMES.contains(&last) {
                field.max_length = Some(200);
            } else if IDENTIFIERS.contains(&name) {
                field.max_length = Some(64);
                field.unique = name != "code";
            } else if last == "phone" || name.starts_with("phone") {
                field.max_length = Some(32);
            }
        }
        FieldType::Integer if COUNTERS.contains(&last) || name.ends_with("_count") => {
            field.default = Some(Value::from(0));
            field.required = false;
            field.min = Some(0.0);
        }
        FieldType::Boolean => {
            field.default = Some(Value::Bool(false));
            field.required = false;
        }
        _ => {}
    }
    field
}

/// A column name that breaks Python, SQL or the list endpoint, renamed.
pub(crate) fn rename_reserved(name: &str) -> String {
    if !is_reserved(name) && !LIST_RESERVED.contains(&name) {
        return name.to_string();
    }
    match name {
        "class" => "class_name".into(),
        "group" => "group_name".into(),
        "key" => "key_name".into(),
        "user" => "user_name".into(),
        "default" => "default_value".into(),
        "metadata" => "meta".into(),
        "json" | "dict" => "data".into(),
        "schema" | "table" | "column" => format!("{name}_name"),
        "fields" | "values" | "keys" => format!("{}_list", singular_word(name)),
        "read" => "is_read".into(),
        "desc" => "description".into(),
        "limit" | "offset" | "range" | "rank" | "option" | "from" | "to" | "q" => {
            format!("{name}_value")
        }
        "sort" => "sort_key".into(),
        other => format!("{other}_value"),
    }
}

fn is_number(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::Integer | FieldType::Float | FieldType::Decimal
    )
}

fn is_textual(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::String | FieldType::Text | FieldType::Email | FieldType::Url
    )
}

/// A default written in the prompt, as a JSON value of the column's type.
fn default_value(raw: &str, field: &Field) -> Option<Value> {
    match field.field_type {
        FieldType::Integer => raw.parse::<i64>().ok().map(Value::from),
        FieldType::Float | FieldType::Decimal => raw
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::from),
        FieldType::Boolean => match raw {
            "true" | "yes" | "on" => Some(Value::Bool(true)),
            "false" | "no" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
        FieldType::Enum => {
            let v = snake_case(raw);
            field
                .enum_values
                .as_ref()
                .filter(|vs| vs.contains(&v))
                .map(|_| Value::String(v))
        }
        FieldType::String | FieldType::Text => Some(Value::String(raw.to_string())),
        _ => None,
    }
    .filter(|v| {
        let n = v.as_f64();
        n.is_none_or(|n| field.min.is_none_or(|lo| n >= lo) && field.max.is_none_or(|hi| n <= hi))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::phrases::parse_phrase;
    use crate::extract::sentences::tokenize;

    /// `name:type` plus `?` when optional, `!` when unique, `=default`, `[values]`, `min..max`.
    fn show(outcome: &FieldOutcome) -> String {
        let FieldOutcome::Column(f, _) = outcome else {
            return format!("{outcome:?}");
        };
        let mut s = format!("{}:{}", f.name, f.field_type.as_str());
        if !f.required {
            s.push('?');
        }
        if f.unique {
            s.push('!');
        }
        if let Some(d) = &f.default {
            s.push_str(&format!("={d}"));
        }
        if let Some(vs) = &f.enum_values {
            s.push_str(&format!("[{}]", vs.join("|")));
        }
        if f.min.is_some() || f.max.is_some() {
            s.push_str(&format!(" {:?}..{:?}", f.min, f.max));
        }
        s
    }

    fn check(input: &str, expected: &str) {
        let outcome = field_from_phrase(&parse_phrase(&tokenize(input)));
        assert_eq!(show(&outcome), expected, "field {input:?}");
    }

    #[test]
    fn types_from_names() {
        check("a title", "title:string");
        check("publication date", "publication_date:date");
        check("due date", "due_date:date");
        check("price", "price:decimal");
        check("a start time", "start_time:datetime");
        check("opening time", "opening_time:time");
        check("published at", "published_at:datetime");
        check("birthday", "birthday:date");
        check("is active", "is_active:boolean?=false");
        check("published flag", "published:boolean?=false");
        check("email", "email:email");
        check("website", "website:url");
        check("a bio", "bio:text");
        check("uuid", "uuid:uuid");
        check("metadata", "meta:json");
        check("phone number", "phone_number:string");
        check("position", "position:integer");
        check("clicks", "clicks:integer?=0 Some(0.0)..None");
        check("an isbn", "isbn:string!");
        check("price in cents", "price_cents:integer");
    }

    #[test]
    fn markers() {
        check("an optional note", "note:text?");
        check(
            "a rating from 1 to 5",
            "rating:integer Some(1.0)..Some(5.0)",
        );
        check("duration in minutes", "duration_minutes:integer");
        check(
            "level between 1 and 10",
            "level:integer Some(1.0)..Some(10.0)",
        );
        check("a unique code", "code:string!");
        check(
            "a category (food, travel, rent, other)",
            "category:enum[food|travel|rent|other]",
        );
        check(
            "status: todo, in progress, done",
            "status:enum[todo|in_progress|done]",
        );
        check("priority", "priority:enum[low|medium|high]");
        check("stars (1, 2, 3)", "stars:integer Some(1.0)..Some(3.0)");
        check("weight (int)", "weight:integer");
        check(
            "status (default open) (open, closed)",
            "status:enum?=\"open\"[open|closed]",
        );
        check(
            "the number of guests",
            "guest_count:integer?=0 Some(0.0)..None",
        );
    }

    #[test]
    fn special_names() {
        check("id", "Implicit(\"id\")");
        check("created", "Implicit(\"created\")");
        check("password", "Password");
        check("order", "sort_order:integer");
        check("group", "group_name:string");
        check("", "Skip");
        check("b c d e f g", "Skip");
    }
}
