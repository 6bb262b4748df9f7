//! Markers around a phrase: bounds (`from 1 to 5`, `up to 100 characters`), units (`in
//! minutes`) and type names (`as decimal`, `(int)`).

use codebegen_schema::FieldType;

use super::phrases::Phrase;
use super::sentences::Token;

#[rustfmt::skip]
const UNITS: &[(&str, &str)] = &[
    ("minute", "minutes"), ("minutes", "minutes"), ("mins", "minutes"), ("hour", "hours"),
    ("hours", "hours"), ("hrs", "hours"), ("second", "seconds"), ("seconds", "seconds"),
    ("secs", "seconds"), ("day", "days"), ("days", "days"), ("week", "weeks"), ("weeks", "weeks"),
    ("month", "months"), ("months", "months"), ("year", "years"), ("years", "years"),
    ("cent", "cents"), ("cents", "cents"), ("km", "km"), ("kilometers", "km"), ("miles", "miles"),
    ("meters", "meters"), ("metres", "meters"), ("kg", "kg"), ("kilograms", "kg"),
    ("grams", "grams"), ("lbs", "lbs"), ("pounds", "lbs"), ("percent", "percent"),
];

/// Currency words: `price in dollars` keeps the name and reads as money.
pub(crate) const CURRENCIES: &[&str] = &["dollars", "euros", "usd", "eur", "gbp", "dollar", "euro"];

/// `up to 100 characters` sets a maximum length; `up to 10` a maximum. Returns the next index.
pub(crate) fn read_upper(p: &mut Phrase, tokens: &[Token], at: usize) -> usize {
    let Some(n) = tokens.get(at).and_then(Token::number) else {
        return at + 1;
    };
    let unit = tokens.get(at + 1).map(|t| t.lower.as_str()).unwrap_or("");
    if matches!(unit, "characters" | "chars" | "letters" | "character") {
        if (1.0..=65_535.0).contains(&n) {
            p.max_length = Some(n as u32);
        }
        return at + 2;
    }
    let lo = p.min;
    set_range(p, lo, Some(n));
    at + 1
}

pub(crate) fn set_range(p: &mut Phrase, lo: Option<f64>, hi: Option<f64>) {
    let (lo, hi) = match (lo, hi) {
        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
        other => other,
    };
    p.fractional |= [lo, hi].iter().flatten().any(|v| v.fract() != 0.0);
    p.min = lo;
    p.max = hi;
}

/// A unit word normalized (`minute` → `minutes`).
pub(crate) fn unit_of(word: &str) -> Option<&'static str> {
    UNITS.iter().find(|(w, _)| *w == word).map(|(_, u)| *u)
}

/// A type name written in a prompt (`int`, `decimal`, `timestamp`).
pub(crate) fn parse_type(word: &str) -> Option<FieldType> {
    match word {
        "money" | "currency" => Some(FieldType::Decimal),
        "number" | "count" => None,
        _ => FieldType::parse_lenient(word).map(|(t, _)| t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_types() {
        assert_eq!(unit_of("minute"), Some("minutes"));
        assert_eq!(unit_of("title"), None);
        assert_eq!(parse_type("int"), Some(FieldType::Integer));
        assert_eq!(parse_type("money"), Some(FieldType::Decimal));
        assert_eq!(parse_type("number"), None);
    }

    #[test]
    fn ranges_are_ordered() {
        let mut p = Phrase::default();
        set_range(&mut p, Some(5.0), Some(1.0));
        assert_eq!((p.min, p.max), (Some(1.0), Some(5.0)));
    }
}
