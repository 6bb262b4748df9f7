//! Lists: a phrase list cut at commas, `and`, `or`, `as well as`, keeping `between 1 and 5` and
//! parentheses whole.

use super::sentences::{Kind, Token};

/// Splits a list at top-level commas, `and`, `or`, `&`, `plus`, `as well as`, `along with`;
/// keeps `between 1 and 5` and `one or more` whole.
pub(crate) fn split_list(tokens: &[Token]) -> Vec<Vec<Token>> {
    split_ranges(tokens)
        .into_iter()
        .map(|(a, b)| tokens[a..b].to_vec())
        .collect()
}

/// The `(start, end)` ranges of [`split_list`]'s pieces.
pub(crate) fn split_ranges(tokens: &[Token]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    let mut depth = 0usize;
    let mut i = 0;
    let word = |k: usize| tokens.get(k).map(|t| t.lower.as_str()).unwrap_or("");
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        }
        let mut skip = 0;
        if depth == 0 {
            let prev_number = i > 0 && tokens[i - 1].kind == Kind::Number;
            let between = i >= 2 && word(i - 2) == "between";
            let prev = if i > 0 { word(i - 1) } else { "" };
            skip = match t.lower.as_str() {
                "," | "&" | "plus" => 1,
                "and" if word(i + 1) == "/" && word(i + 2) == "or" => 3,
                "and" | "or" if prev_number && between => 0,
                "or" if matches!(prev, "one" | "zero") && word(i + 1) == "more" => 0,
                "and" | "or" if t.kind == Kind::Word => 1,
                "as" if word(i + 1) == "well" && word(i + 2) == "as" => 3,
                "along" | "together" if word(i + 1) == "with" => 2,
                _ => 0,
            };
        }
        if skip > 0 {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
            i += skip;
            continue;
        }
        start.get_or_insert(i);
        i += 1;
    }
    if let Some(s) = start {
        out.push((s, tokens.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::sentences::tokenize;

    fn check_split(input: &str, expected: &[&str]) {
        let got: Vec<String> = split_list(&tokenize(input))
            .iter()
            .map(|p| {
                p.iter()
                    .map(|t| t.lower.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(got, expected, "split {input:?}");
    }

    #[test]
    fn lists() {
        check_split("a, b and c", &["a", "b", "c"]);
        check_split("a, b, and c as well as d", &["a", "b", "c", "d"]);
        check_split(
            "rating between 1 and 5 or x",
            &["rating between 1 and 5", "x"],
        );
        check_split("tag (x, y) and z", &["tag ( x , y )", "z"]);
        check_split("one or more tags", &["one or more tags"]);
    }
}
