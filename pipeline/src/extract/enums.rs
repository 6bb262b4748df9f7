//! Enumerations: the values in `priority (low, medium, high)`, `status: todo, in progress, done`
//! and `role is admin or member`, cleaned into snake_case members.

use codebegen_schema::names::snake_case;

use super::lexicon::{is_determiner, is_name_word, is_participle, is_preposition, verb_base};
use super::sentences::{Kind, Token};

/// Most values one enumeration keeps.
pub(crate) const MAX_VALUES: usize = 24;

/// Most words in one value.
const MAX_VALUE_WORDS: usize = 3;

/// If `tokens` open with a value marker (`is`, `can be`, `is one of`, `which is either`), the
/// offset where the values start, provided what follows reads as at least `min_values` values
/// rather than a clause.
pub(crate) fn values_follow(tokens: &[Token], min_values: usize) -> Option<usize> {
    let mut k = 0;
    let word = |k: usize| tokens.get(k).map(|t| t.lower.as_str()).unwrap_or("");
    if matches!(word(k), "which" | "that") {
        k += 1;
    }
    if matches!(word(k), "can" | "must" | "should" | "may" | "will") && word(k + 1) == "be" {
        k += 2;
    } else if matches!(word(k), "is" | "are" | "be") {
        k += 1;
    } else if word(k) != "either" {
        return None;
    }
    if word(k) == "either" {
        k += 1;
    }
    if word(k) == "one" && word(k + 1) == "of" {
        k += 2;
    }
    if word(k) == ":" {
        k += 1;
    }
    let rest = tokens.get(k..).unwrap_or(&[]);
    looks_like_values(rest, min_values).then_some(k)
}

/// Whether tokens read as `min_values` or more short values (`admin or member`, `low/medium/high`).
pub(crate) fn looks_like_values(tokens: &[Token], min_values: usize) -> bool {
    let Some(first) = tokens.first() else {
        return false;
    };
    if first.kind != Kind::Word && first.kind != Kind::Number {
        return false;
    }
    let w = first.lower.as_str();
    if is_determiner(w)
        || is_preposition(w)
        || is_participle(w)
        || matches!(w, "not" | "optional" | "required")
    {
        return false;
    }
    let values = read_values(tokens);
    values.len() >= min_values.max(1)
        && !tokens
            .iter()
            .any(|t| t.is_word() && is_clause_word(&t.lower))
}

fn is_clause_word(word: &str) -> bool {
    matches!(
        word,
        "have" | "has" | "belong" | "belongs" | "can" | "should" | "must" | "will"
    )
}

/// Reads values separated by commas, `or`, `and`, `/` and `|`, up to a closing parenthesis.
pub(crate) fn read_values(tokens: &[Token]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let flush = |current: &mut Vec<&str>, out: &mut Vec<String>| {
        if let Some(v) = clean_value(current) {
            if !out.contains(&v) && out.len() < MAX_VALUES {
                out.push(v);
            }
        }
        current.clear();
    };
    for t in tokens {
        match t.lower.as_str() {
            ")" | "(" | "." | ";" => break,
            "," | "/" | "|" | "or" | "and" | "&" | "-" => flush(&mut current, &mut out),
            "either" | "one" if current.is_empty() => {}
            _ if t.kind == Kind::Punct => {}
            w => current.push(w),
        }
    }
    flush(&mut current, &mut out);
    out
}

/// One value in snake_case, or nothing when it is empty, too long or not a name.
fn clean_value(words: &[&str]) -> Option<String> {
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect();
    if kept.is_empty() || kept.len() > MAX_VALUE_WORDS {
        return None;
    }
    if kept
        .iter()
        .any(|w| verb_base(w).is_some() && kept.len() > 1 && is_participle(w))
    {
        return None;
    }
    if !kept
        .iter()
        .all(|w| is_name_word(w) || w.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let value = snake_case(&kept.join(" "));
    (!value.is_empty() && value.len() <= 40).then_some(value)
}

/// Values from the top-level pieces of a parenthesis (`(food, travel, rent)`), when each piece is
/// a short value; a single piece may itself hold `low/medium/high`.
pub(crate) fn values_from_pieces(pieces: &[Vec<Token>]) -> Vec<String> {
    let flat: Vec<Token> = pieces
        .iter()
        .enumerate()
        .flat_map(|(i, piece)| {
            let sep = (i > 0).then(|| Token {
                lower: ",".into(),
                kind: Kind::Punct,
            });
            sep.into_iter().chain(piece.iter().cloned())
        })
        .collect();
    let values = read_values(&flat);
    if values.len() >= 2 {
        values
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::lists::split_list;
    use crate::extract::sentences::tokenize;

    fn check_values(input: &str, expected: &[&str]) {
        assert_eq!(
            read_values(&tokenize(input)),
            expected,
            "values of {input:?}"
        );
    }

    fn check_follow(input: &str, expected: Option<usize>) {
        assert_eq!(
            values_follow(&tokenize(input), 2),
            expected,
            "marker in {input:?}"
        );
    }

    #[test]
    fn values() {
        check_values("todo, in progress, done", &["todo", "in_progress", "done"]);
        check_values("low/medium/high", &["low", "medium", "high"]);
        check_values("either admin or member", &["admin", "member"]);
        check_values("food, travel, food)", &["food", "travel"]);
        check_values("b c d e, x", &["x"]);
        check_values("", &[]);
    }

    #[test]
    fn markers() {
        check_follow("is admin or member", Some(1));
        check_follow("which can be open or closed", Some(3));
        check_follow("is one of draft, published", Some(3));
        check_follow("are assigned to cards", None);
        check_follow("is a member", None);
        check_follow("is admin", None);
    }

    #[test]
    fn paren_values() {
        let pieces = split_list(&tokenize("food, travel, rent, other"));
        assert_eq!(
            values_from_pieces(&pieces),
            ["food", "travel", "rent", "other"]
        );
        let pieces = split_list(&tokenize("low/medium/high"));
        assert_eq!(values_from_pieces(&pieces), ["low", "medium", "high"]);
        let pieces = split_list(&tokenize("name"));
        assert!(values_from_pieces(&pieces).is_empty());
    }
}
