//! Column types: a field's name and what the prompt wrote beside it (values, a range, a type in
//! parentheses, `whether`) give its type. Name words are looked up in `tables/fields.txt`; the
//! shape of a name (`is_`, `_at`, `_date`) decides before the table.

use codebegen_schema::names::{is_reserved, singular_word, LIST_RESERVED};
use codebegen_schema::{Field, FieldType};
use serde_json::Value;

use super::lexicon::LEXICON;

/// A type named in the prompt (`(date)`, `as an integer`).
pub(crate) fn type_word(word: &str) -> Option<FieldType> {
    match word {
        "money" | "currency" => Some(FieldType::Decimal),
        "number" | "count" | "name" => None,
        _ => FieldType::parse_lenient(word).map(|(t, _)| t),
    }
}

/// The type a column name implies, and why, for the diagnostic.
pub(crate) fn infer_type(name: &str) -> (FieldType, &'static str) {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let (Some(first), Some(last)) = (words.first().copied(), words.last().copied()) else {
        return (FieldType::String, "default");
    };
    if words.len() > 1 && matches!(first, "is" | "has" | "can" | "should" | "allows" | "needs") {
        return (FieldType::Boolean, "a yes/no prefix");
    }
    if let Some(t) = LEXICON.field_type(name) {
        return (t, "the name is in the field table");
    }
    if name.ends_with("_at") || name.ends_with("_timestamp") {
        return (FieldType::Datetime, "a timestamp word");
    }
    if last == "time" && words.len() > 1 {
        return (FieldType::Datetime, "a point in time");
    }
    if (name.ends_with("_on") && words.len() > 1) || (first == "date" && words.len() > 1) {
        return (FieldType::Date, "a date word");
    }
    if matches!(last, "number" | "no" | "code" | "id") && words.len() > 1 {
        return (FieldType::String, "an identifier");
    }
    if first == "number" || first == "num" || last == "count" {
        return (FieldType::Integer, "a count");
    }
    // `size_cm`, `quantity_kilograms`, `duration_minutes`: a measure in a unit.
    if words.len() > 1 && LEXICON.closed_class(last) == Some("unit") {
        let (t, why) = infer_type(&words[..words.len() - 1].join("_"));
        if matches!(
            t,
            FieldType::Integer | FieldType::Float | FieldType::Decimal
        ) {
            return (t, why);
        }
        let whole = matches!(
            singular_word(last).as_str(),
            "minute" | "second" | "hour" | "day" | "week" | "month" | "year" | "byte" | "pixel"
        );
        return (
            if whole {
                FieldType::Integer
            } else {
                FieldType::Float
            },
            "a measure in a unit",
        );
    }
    // `tax_withheld`, `annual_revenue_figure`: a money word anywhere, unless the last word
    // says otherwise (`discount_percentage`).
    let last_typed = LEXICON.field_type(last).filter(|t| *t != FieldType::String);
    if last_typed.is_none()
        && words.iter().any(|w| {
            LEXICON.field_type(w) == Some(FieldType::Decimal)
                && !matches!(*w, "rate" | "limit" | "value")
        })
    {
        return (FieldType::Decimal, "a money word");
    }
    // `succeeded`, `acknowledged`: a one-word state.
    if words.len() == 1 && first.len() > 4 && first.ends_with("ed") && !first.ends_with("eed") {
        return (FieldType::Boolean, "a state");
    }
    if let Some(t) = LEXICON.field_type(last) {
        return (t, "its last word is in the field table");
    }
    if let Some(t) = LEXICON.field_type(&singular_word(last)) {
        return (t, "its last word is in the field table");
    }
    // `quantity_on_hand`, `price_per_night`: the words before the preposition decide.
    if let Some(at) = words
        .iter()
        .position(|w| matches!(*w, "on" | "in" | "per" | "of" | "at" | "for"))
    {
        if at > 0 {
            let (t, why) = infer_type(&words[..at].join("_"));
            if t != FieldType::String {
                return (t, why);
            }
        }
    }
    (FieldType::String, "default")
}

/// A column of the given type with the defaults its type suggests.
pub(crate) fn typed(name: &str, field_type: FieldType) -> Field {
    let mut field = Field::new(name, field_type);
    match field_type {
        FieldType::String => {
            field.max_length = Some(if matches!(name, "phone" | "zip" | "code") {
                64
            } else {
                200
            });
        }
        FieldType::Integer
            if name.ends_with("count")
                || matches!(name, "views" | "likes" | "votes" | "stock" | "clicks") =>
        {
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
    if matches!(
        name,
        "isbn" | "sku" | "slug" | "username" | "barcode" | "vin" | "serial_number" | "email"
    ) {
        field.unique = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: FieldType) {
        assert_eq!(infer_type(name).0, expected, "{name}");
    }

    #[test]
    fn names_give_types() {
        check("title", FieldType::String);
        check("due_date", FieldType::Date);
        check("return_date", FieldType::Date);
        check("unit_price", FieldType::Decimal);
        check("is_active", FieldType::Boolean);
        check("published_at", FieldType::Datetime);
        check("start_time", FieldType::Datetime);
        check("labour_hours", FieldType::Integer);
        check("parts_cost", FieldType::Decimal);
        check("body", FieldType::Text);
        check("contact_email", FieldType::Email);
        check("tracking_number", FieldType::String);
        check("number_of_seats", FieldType::Integer);
        check("weight", FieldType::Float);
    }
}
