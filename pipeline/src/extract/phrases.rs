//! Noun phrases: `an optional due date`, `a rating from 1 to 5`, `many authors`, `a category
//! (food, travel)` read into words plus the markers around them.

use codebegen_schema::FieldType;

use super::enums::{read_values, values_follow};
use super::fields::is_field_word;
use super::lexicon::{is_conjunction, is_determiner, is_name_word};
use super::lists::split_list;
use super::markers::{parse_type, read_upper, set_range, unit_of, CURRENCIES};
use super::sentences::{closing_paren, Kind, Token};

/// How many of a thing a phrase speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Quantity {
    /// Nothing said.
    #[default]
    Unsaid,
    /// `many`, `several`, `a list of`.
    Many,
    /// `one`, `a single`, `exactly one`.
    One,
}

/// A noun phrase with its markers.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Phrase {
    /// Content words, lowercase (`["due", "date"]`).
    pub words: Vec<String>,
    /// The owner in `a user's role` (`["user"]`).
    pub possessor: Vec<String>,
    /// The parent in `a chapter of a book`.
    pub of_parent: Vec<String>,
    /// Quantifier.
    pub quantity: Quantity,
    /// Whether the phrase started with `a`/`an`.
    pub article: bool,
    /// Whether the phrase started with `each`/`every`.
    pub distributive: bool,
    /// Whether the phrase started with `the`/`this`/`our`/`my`.
    pub definite: bool,
    /// `optional`, `optionally`, `if any`.
    pub optional: bool,
    /// `required`, `mandatory`.
    pub required: bool,
    /// `unique`.
    pub unique: bool,
    /// `number of guests`: a count.
    pub count: bool,
    /// `published flag`.
    pub flag: bool,
    /// Values given after `:`, `is`, `can be`, `one of`.
    pub values: Vec<String>,
    /// Whether more values may follow in the next list items.
    pub open_values: bool,
    /// The top-level pieces inside the phrase's parentheses (fields of an entity, or values).
    pub paren: Vec<Vec<Token>>,
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
    /// Whether a bound had a fractional part.
    pub fractional: bool,
    /// `up to 100 characters`.
    pub max_length: Option<u32>,
    /// `default 0`.
    pub default: Option<String>,
    /// `in minutes` → `minutes`.
    pub unit: Option<String>,
    /// `as decimal`, `(int)`.
    pub explicit_type: Option<FieldType>,
}

impl Phrase {
    /// Whether the phrase's last word is an English plural.
    pub fn is_plural(&self) -> bool {
        self.words.last().is_some_and(|w| {
            let singular = codebegen_schema::names::singular_word(w);
            singular != *w
        })
    }

    /// Whether the phrase names nothing.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether only markers were given (`optional`, `(unique)`), to apply to a neighbour.
    pub fn is_marker_only(&self) -> bool {
        self.words.is_empty()
            && self.values.is_empty()
            && (self.optional
                || self.unique
                || self.required
                || self.min.is_some()
                || self.max.is_some()
                || self.default.is_some()
                || self.unit.is_some()
                || self.explicit_type.is_some()
                || self.max_length.is_some())
    }

    /// Copies the markers of `other` onto this phrase.
    pub fn absorb_markers(&mut self, other: &Phrase) {
        self.optional |= other.optional;
        self.unique |= other.unique;
        self.required |= other.required;
        self.min = self.min.or(other.min);
        self.max = self.max.or(other.max);
        self.fractional |= other.fractional;
        self.max_length = self.max_length.or(other.max_length);
        self.default = self.default.clone().or_else(|| other.default.clone());
        self.unit = self.unit.clone().or_else(|| other.unit.clone());
        self.explicit_type = self.explicit_type.or(other.explicit_type);
    }
}

/// Reads a phrase from tokens. Never fails; unknown tokens are skipped.
pub(crate) fn parse_phrase(tokens: &[Token]) -> Phrase {
    let mut p = Phrase::default();
    let mut i = 0;
    let n = tokens.len();
    let word = |k: usize| tokens.get(k).map(|t| t.lower.as_str()).unwrap_or("");
    let num = |k: usize| tokens.get(k).and_then(Token::number);
    while i < n {
        let t = &tokens[i];
        if t.is_punct("(") {
            let end = closing_paren(tokens, i);
            apply_paren(&mut p, &tokens[(i + 1).min(end)..end]);
            i = end + 1;
            continue;
        }
        if t.is_punct(":") || t.is_punct("=") {
            if t.is_punct(":") && !p.words.is_empty() {
                p.values.extend(read_values(&tokens[i + 1..]));
                p.open_values = true;
                break;
            }
            i += 1;
            continue;
        }
        if t.is_punct("'") {
            if !p.words.is_empty() && i + 1 < n {
                p.possessor = std::mem::take(&mut p.words);
                p.article = false;
            }
            i += 1;
            continue;
        }
        if let Some(lo) = t.number() {
            // `1-5`, `1 to 5`
            if matches!(word(i + 1), "-" | "to") {
                let hi_at = i + 2;
                if let Some(hi) = num(hi_at) {
                    set_range(&mut p, Some(lo), Some(hi));
                    i = hi_at + 1;
                    continue;
                }
            }
            i += 1;
            continue;
        }
        if t.kind != Kind::Word {
            i += 1;
            continue;
        }
        let w = t.lower.as_str();
        let next = word(i + 1);
        match w {
            "a" | "an" if p.words.is_empty() => {
                p.article = true;
                i += 1;
            }
            "optional" | "optionally" | "nullable" => {
                p.optional = true;
                i += 1;
            }
            "unique" | "distinct" => {
                p.unique = true;
                i += 1;
            }
            "required" | "mandatory" => {
                p.required = true;
                i += 1;
            }
            "if" if matches!(
                next,
                "any" | "known" | "available" | "applicable" | "needed" | "provided"
            ) =>
            {
                p.optional = true;
                i += 2;
            }
            "not" if next == "required" => {
                p.optional = true;
                i += 2;
            }
            "many" | "several" | "multiple" | "various" | "numerous" | "lots" => {
                p.quantity = Quantity::Many;
                i += if next == "of" { 2 } else { 1 };
            }
            "number"
                if p.article
                    && p.words.is_empty()
                    && next == "of"
                    && is_field_word(word(i + 2)) =>
            {
                p.count = true;
                i += 2;
            }
            "lot" | "list" | "set" | "collection" | "bunch" | "series" | "number" | "couple"
                if p.article && p.words.is_empty() && next == "of" =>
            {
                p.quantity = Quantity::Many;
                i += 2;
            }
            "number" | "count" | "amount"
                if p.words.is_empty() && next == "of" && w != "amount" =>
            {
                p.count = true;
                i += 2;
            }
            "one" if matches!(next, "or" | "and") && word(i + 2) == "more" => {
                p.quantity = Quantity::Many;
                i += 3;
            }
            "zero" if next == "or" && word(i + 2) == "more" => {
                p.quantity = Quantity::Many;
                p.optional = true;
                i += 3;
            }
            "one" | "single" | "exactly" if p.words.is_empty() => {
                if p.quantity == Quantity::Unsaid {
                    p.quantity = Quantity::One;
                }
                i += 1;
            }
            "from" | "between" if num(i + 1).is_some() => {
                let hi_at = i + 3;
                set_range(&mut p, num(i + 1), num(hi_at));
                i = if num(hi_at).is_some() {
                    hi_at + 1
                } else {
                    i + 2
                };
            }
            "out" if next == "of" && num(i + 2).is_some() => {
                set_range(&mut p, Some(0.0), num(i + 2));
                i += 3;
            }
            "up" if next == "to" && num(i + 2).is_some() => {
                i = read_upper(&mut p, tokens, i + 2);
            }
            "at" if matches!(next, "least" | "most") && num(i + 2).is_some() => {
                if next == "least" {
                    let hi = p.max;
                    set_range(&mut p, num(i + 2), hi);
                    i += 3;
                } else {
                    i = read_upper(&mut p, tokens, i + 2);
                }
            }
            "max" | "maximum" | "min" | "minimum" | "under" | "below" if num(i + 1).is_some() => {
                if w.starts_with("min") {
                    let hi = p.max;
                    set_range(&mut p, num(i + 1), hi);
                    i += 2;
                } else {
                    i = read_upper(&mut p, tokens, i + 1);
                }
            }
            "positive" | "non-negative" if p.words.is_empty() => {
                p.min = Some(0.0);
                i += 1;
            }
            "in" if unit_of(next).is_some() && !p.words.is_empty() => {
                p.unit = unit_of(next).map(str::to_string);
                i += 2;
            }
            "in" if CURRENCIES.contains(&next) => i += 2,
            "default" | "defaults" | "defaulting" => {
                let mut k = i + 1;
                while matches!(word(k), "to" | ":" | "of" | "is" | "=") {
                    k += 1;
                }
                if let Some(v) = tokens.get(k).filter(|t| t.kind != Kind::Punct) {
                    p.default = Some(v.lower.clone());
                }
                i = k + 1;
            }
            "by" if next == "default" => i += 2,
            "as" | "type" if parse_type(next).is_some() && !p.words.is_empty() => {
                p.explicit_type = parse_type(next);
                i += 2;
            }
            "of" if next == "type" && parse_type(word(i + 2)).is_some() => {
                p.explicit_type = parse_type(word(i + 2));
                i += 3;
            }
            "of" if !p.words.is_empty()
                && matches!(next, "a" | "an" | "the" | "each" | "every" | "one") =>
            {
                let rest = parse_phrase(&tokens[i + 1..]);
                p.of_parent = rest.words;
                break;
            }
            "flag" | "boolean" | "bool" | "checkbox" if !p.words.is_empty() && i + 1 >= n => {
                p.flag = true;
                i += 1;
            }
            "eg" | "ie" | "etc" | "such" | "like" | "including" => break,
            "with" if !p.words.is_empty() => {
                apply_paren(&mut p, &tokens[i + 1..]);
                break;
            }
            "is" | "are" | "be" | "either" | "which" | "that" | "can" | "must" | "should"
                if !p.words.is_empty() && values_follow(&tokens[i..], 1).is_some() =>
            {
                let start = values_follow(&tokens[i..], 1).unwrap_or(0) + i;
                p.values.extend(read_values(&tokens[start..]));
                p.open_values = true;
                break;
            }
            _ if is_determiner(w) && p.words.is_empty() => {
                p.distributive |= matches!(w, "each" | "every");
                p.definite |= matches!(w, "the" | "this" | "our" | "my" | "your");
                i += 1;
            }
            _ if is_conjunction(w) => i += 1,
            _ => {
                if is_name_word(w) {
                    p.words.push(w.to_string());
                }
                i += 1;
            }
        }
    }
    if p.possessor.is_empty() && p.words.is_empty() {
        p.article = p.article && !p.values.is_empty();
    }
    p
}

/// Reads the inside of `( … )` after a phrase: markers, values, or pieces for later.
fn apply_paren(p: &mut Phrase, inner: &[Token]) {
    let pieces = split_list(inner);
    if pieces.len() == 1 {
        let only = &pieces[0];
        if only.len() == 1 {
            if let Some(t) = parse_type(&only[0].lower) {
                p.explicit_type = Some(t);
                return;
            }
            if let Some(u) = unit_of(&only[0].lower) {
                p.unit = Some(u.to_string());
                return;
            }
        }
        let inner_phrase = parse_phrase(only);
        if inner_phrase.is_marker_only() {
            p.absorb_markers(&inner_phrase);
            return;
        }
        if only
            .first()
            .is_some_and(|t| matches!(t.lower.as_str(), "eg" | "ie" | "like" | "such"))
        {
            return;
        }
    }
    let mut kept = Vec::new();
    for piece in pieces {
        let inner_phrase = parse_phrase(&piece);
        if inner_phrase.is_marker_only() {
            p.absorb_markers(&inner_phrase);
        } else {
            kept.push(piece);
        }
    }
    p.paren.extend(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::sentences::tokenize;

    /// Renders the interesting parts of a phrase on one line.
    fn show(p: &Phrase) -> String {
        let mut parts = vec![p.words.join(" ")];
        let mut push = |cond: bool, s: String| {
            if cond {
                parts.push(s);
            }
        };
        push(
            !p.possessor.is_empty(),
            format!("of:{}", p.possessor.join(" ")),
        );
        push(
            !p.of_parent.is_empty(),
            format!("parent:{}", p.of_parent.join(" ")),
        );
        push(
            p.quantity != Quantity::Unsaid,
            format!("{:?}", p.quantity).to_lowercase(),
        );
        push(p.optional, "optional".into());
        push(p.unique, "unique".into());
        push(p.count, "count".into());
        push(p.flag, "flag".into());
        push(
            !p.values.is_empty(),
            format!("values:{}", p.values.join("|")),
        );
        push(
            p.min.is_some() || p.max.is_some(),
            format!("range:{:?}..{:?}", p.min, p.max),
        );
        push(p.max_length.is_some(), format!("len:{:?}", p.max_length));
        push(
            p.default.is_some(),
            format!("default:{}", p.default.clone().unwrap_or_default()),
        );
        push(
            p.unit.is_some(),
            format!("unit:{}", p.unit.clone().unwrap_or_default()),
        );
        push(
            p.explicit_type.is_some(),
            format!("type:{:?}", p.explicit_type),
        );
        push(!p.paren.is_empty(), format!("paren:{}", p.paren.len()));
        parts.join(" ")
    }

    fn check(input: &str, expected: &str) {
        assert_eq!(
            show(&parse_phrase(&tokenize(input))),
            expected,
            "phrase {input:?}"
        );
    }

    #[test]
    fn phrases() {
        check("an optional note", "note optional");
        check("a unique ISBN", "isbn unique");
        check("a rating from 1 to 5", "rating range:Some(1.0)..Some(5.0)");
        check(
            "rating between 1 and 5",
            "rating range:Some(1.0)..Some(5.0)",
        );
        check("rating (1-5)", "rating range:Some(1.0)..Some(5.0)");
        check("duration in minutes", "duration unit:minutes");
        check("several authors", "authors many");
        check("a list of ingredients", "ingredients many");
        check("exactly one profile", "profile one");
        check("the number of guests", "guests count");
        check("clicks (default 0)", "clicks default:0");
        check("a category (food, travel, rent)", "category paren:3");
        check(
            "a status: todo, in progress, done",
            "status values:todo|in_progress|done",
        );
        check(
            "a role which is admin or member",
            "role values:admin|member",
        );
        check("a user's role", "role of:user");
        check("a chapter of a book", "chapter parent:book");
        check("a title up to 100 characters", "title len:Some(100)");
        check("price as decimal", "price type:Some(Decimal)");
        check("published flag", "published flag");
        check("a note, if any", "note optional");
    }
}
