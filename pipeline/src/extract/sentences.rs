//! Tokens and sentences: the prompt cut into words, numbers and punctuation, then into
//! sentences, with parenthesized clauses lifted out and relative clauses split off.

use super::lexicon::is_domain_head;
use super::phrases::parse_phrase;
use super::predicates::{cardinality, find_predicate, word, Pred};

/// The longest prompt read, in characters; the rest is ignored (with a warning).
pub(crate) const MAX_PROMPT_CHARS: usize = 20_000;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Letters and digits, possibly joined by `-`, `_` or `'` (`due`, `e-mail`, `isbn13`).
    Word,
    /// Digits with an optional decimal part (`5`, `1.5`).
    Number,
    /// One punctuation character, or `\n`.
    Punct,
}

/// One token of the prompt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// Lowercase text.
    pub lower: String,
    /// What it is.
    pub kind: Kind,
}

impl Token {
    fn new(text: &str, kind: Kind) -> Token {
        Token {
            lower: text.to_lowercase(),
            kind,
        }
    }

    /// Whether this is the word (or punctuation) `text`.
    pub fn is(&self, text: &str) -> bool {
        self.lower == text
    }

    /// Whether this is a word.
    pub fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }

    /// Whether this is the punctuation `text`.
    pub fn is_punct(&self, text: &str) -> bool {
        self.kind == Kind::Punct && self.lower == text
    }

    /// The value of a number token.
    pub fn number(&self) -> Option<f64> {
        if self.kind != Kind::Number {
            return None;
        }
        self.lower.parse::<f64>().ok().filter(|n| n.is_finite())
    }
}

const ABBREVIATIONS: &[(&str, &str)] = &[
    ("e.g.", "eg"),
    ("i.e.", "ie"),
    ("etc.", "etc"),
    ("vs.", "vs"),
];

/// Cuts text into tokens. Markdown decoration (`*`, `#`, backticks, quotes) is dropped.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().take(MAX_PROMPT_CHARS).collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c == '\n' {
            out.push(Token::new("\n", Kind::Punct));
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < n && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < n && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < n && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < n && chars[i].is_alphabetic() {
                i = word_end(&chars, i);
                push_word(&chars[start..i], &mut out);
                continue;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token::new(&text, Kind::Number));
            continue;
        }
        if c.is_alphanumeric() {
            if let Some((len, word)) = abbreviation_at(&chars, i) {
                out.push(Token::new(word, Kind::Word));
                i += len;
                continue;
            }
            let start = i;
            i = word_end(&chars, i);
            push_word(&chars[start..i], &mut out);
            continue;
        }
        match c {
            '*' | '#' | '`' | '"' | '\u{201c}' | '\u{201d}' | '~' | '>' | '<' | '_' | '=' | '+' => {
            }
            '\u{2014}' | '\u{2013}' => out.push(Token::new(",", Kind::Punct)),
            '\u{2019}' | '\u{2018}' => out.push(Token::new("'", Kind::Punct)),
            c if c.is_ascii_punctuation() => out.push(Token::new(&c.to_string(), Kind::Punct)),
            _ => {}
        }
        i += 1;
    }
    out
}

/// Where the word starting at `start` ends: letters and digits, joined by single `-`, `_`, `'`.
fn word_end(chars: &[char], start: usize) -> usize {
    let n = chars.len();
    let mut i = start;
    while i < n {
        if chars[i].is_alphanumeric() {
            i += 1;
        } else if i + 1 < n
            && matches!(chars[i], '-' | '_' | '\'' | '\u{2019}')
            && chars[i + 1].is_alphanumeric()
        {
            i += 2;
        } else {
            break;
        }
    }
    i
}

/// Pushes a word; a possessive `'s` becomes a separate `'` token.
fn push_word(chars: &[char], out: &mut Vec<Token>) {
    let text: String = chars.iter().collect::<String>().replace('\u{2019}', "'");
    match text.strip_suffix("'s") {
        Some(stem) if !stem.is_empty() => {
            out.push(Token::new(stem, Kind::Word));
            out.push(Token::new("'", Kind::Punct));
        }
        _ => out.push(Token::new(&text, Kind::Word)),
    }
}

fn abbreviation_at(chars: &[char], i: usize) -> Option<(usize, &'static str)> {
    if i > 0 && chars[i - 1].is_alphanumeric() {
        return None;
    }
    ABBREVIATIONS.iter().find_map(|(abbr, word)| {
        let len = abbr.chars().count();
        let matches = chars.len() >= i + len
            && chars[i..i + len]
                .iter()
                .zip(abbr.chars())
                .all(|(a, b)| a.to_ascii_lowercase() == b);
        matches.then_some((len, *word))
    })
}

/// Whether a token ends a sentence.
fn ends_sentence(token: &Token) -> bool {
    token.kind == Kind::Punct && matches!(token.lower.as_str(), "." | "!" | "?" | ";" | "\n")
}

/// Cuts tokens into sentences at `.`, `!`, `?`, `;` and line breaks, dropping leading bullets and
/// sentences without a word.
pub(crate) fn split_sentences(tokens: &[Token]) -> Vec<Vec<Token>> {
    tokens
        .split(ends_sentence)
        .map(strip_bullet)
        .filter(|s| s.iter().any(Token::is_word))
        .map(<[Token]>::to_vec)
        .collect()
}

fn strip_bullet(sentence: &[Token]) -> &[Token] {
    let mut start = 0;
    while start < sentence.len() {
        let t = &sentence[start];
        let numbered =
            t.kind == Kind::Number && sentence.get(start + 1).is_some_and(|n| n.is_punct(")"));
        if numbered {
            start += 2;
        } else if t.kind == Kind::Punct && !t.is_punct("(") {
            start += 1;
        } else {
            break;
        }
    }
    &sentence[start..]
}

/// The index of the `)` that closes the `(` at `open`, or the end of the tokens when unclosed.
pub(crate) fn closing_paren(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len()
}

/// The first sentence of the raw prompt, whitespace collapsed, at most `max_chars` characters
/// (cut at a word boundary).
pub(crate) fn first_sentence(prompt: &str, max_chars: usize) -> String {
    let chars: Vec<char> = prompt.chars().take(MAX_PROMPT_CHARS).collect();
    let mut end = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let next_blank = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        let stop = match c {
            '\n' => chars[..i].iter().any(|c| c.is_alphanumeric()),
            '!' | '?' => true,
            '.' => next_blank && !is_abbreviation_end(&chars[..=i]),
            _ => false,
        };
        if stop {
            end = if c == '\n' { i } else { i + 1 };
            break;
        }
    }
    let text: String = chars[..end]
        .iter()
        .map(|&c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let collapsed = collapsed
        .trim_start_matches(['-', '*', '#', ' '])
        .to_string();
    if collapsed.chars().count() <= max_chars {
        return collapsed;
    }
    let cut: String = collapsed.chars().take(max_chars).collect();
    match cut.rfind(' ') {
        Some(space) if space > max_chars / 2 => {
            cut[..space].trim_end_matches([',', ';', ':']).to_string()
        }
        _ => cut,
    }
}

fn is_abbreviation_end(before: &[char]) -> bool {
    let tail: String = before
        .iter()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let tail = tail.to_ascii_lowercase();
    ["e.g.", "i.e.", "etc.", "vs."]
        .iter()
        .any(|a| tail.ends_with(a))
}

/// Lifts parenthesized clauses (`(a book can have several authors)`) out of a sentence.
pub(crate) fn lift_clauses(tokens: &[Token]) -> (Vec<Token>, Vec<Vec<Token>>) {
    let mut main = Vec::new();
    let mut lifted = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].is_punct("(") {
            let end = closing_paren(tokens, i);
            let inner = &tokens[(i + 1).min(end)..end];
            let is_clause = cardinality(inner).is_none()
                && find_predicate(inner, false)
                    .is_some_and(|f| f.pred.is_strong() || matches!(f.pred, Pred::Verb(_)))
                && !parse_phrase(inner).is_marker_only();
            if is_clause {
                lifted.push(inner.to_vec());
            } else {
                main.extend_from_slice(&tokens[i..(end + 1).min(tokens.len())]);
            }
            i = end + 1;
            continue;
        }
        main.push(tokens[i].clone());
        i += 1;
    }
    (main, lifted)
}

#[rustfmt::skip]
const META_WORDS: &[&str] = &[
    "i", "we", "want", "need", "would", "like", "i'd", "we'd", "to", "please", "build", "create",
    "make", "develop", "design", "generate", "implement", "write", "code", "give", "me", "us",
    "set", "up", "let's", "hi", "hello", "hey", "can", "could", "you", "should", "will", "help",
];

/// Drops `I want to build` / `Create` before a phrase that names the project.
pub(crate) fn strip_meta(tokens: &[Token]) -> &[Token] {
    let mut k = 0;
    while k < tokens.len()
        && (META_WORDS.contains(&tokens[k].lower.as_str()) || tokens[k].is_punct(","))
    {
        k += 1;
    }
    let names_project = tokens[k..].iter().take(8).any(|t| is_domain_head(&t.lower));
    if k > 0 && names_project {
        &tokens[k..]
    } else {
        tokens
    }
}

/// Words that split a sentence into a head and a relative clause.
pub(crate) fn relative_split(tokens: &[Token]) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for i in 1..tokens.len() {
        let t = &tokens[i];
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        }
        if depth > 0 {
            continue;
        }
        let w = t.lower.as_str();
        let next = word(tokens, i + 1);
        match w {
            "where" | "whereby" => return Some((i, 1)),
            "in" if next == "which" => return Some((i, 2)),
            "so" | "such" if next == "that" => return Some((i, 2)),
            "that" | "which" | "to" if i <= 6 && is_domain_head(word(tokens, i - 1)) => {
                return Some((i, 1))
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_tokens(input: &str, expected: &str) {
        let got: Vec<String> = tokenize(input).into_iter().map(|t| t.lower).collect();
        assert_eq!(got.join(" "), expected, "tokens of {input:?}");
    }

    fn check_sentences(input: &str, expected: &[&str]) {
        let got: Vec<String> = split_sentences(&tokenize(input))
            .iter()
            .map(|s| {
                s.iter()
                    .map(|t| t.lower.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(got, expected, "sentences of {input:?}");
    }

    #[test]
    fn tokens() {
        check_tokens(
            "Books have a title, ISBN-13.",
            "books have a title , isbn-13 .",
        );
        check_tokens("rating (1-5) and 2.5kg", "rating ( 1 - 5 ) and 2.5kg");
        check_tokens(
            "a user's role; users' tasks",
            "a user ' role ; users ' tasks",
        );
        check_tokens("e.g. cats, etc. **Bold**", "eg cats , etc bold");
        check_tokens("can't — won’t", "can't , won't");
        check_tokens("café ünïcödé 🎉", "café ünïcödé");
    }

    #[test]
    fn sentences() {
        check_sentences("A. B; c!\n- d\n1) e", &["a", "b", "c", "d", "e"]);
        check_sentences("price 1.5. Next", &["price 1.5", "next"]);
        check_sentences("...;;\n", &[]);
    }

    #[test]
    fn first_sentences() {
        assert_eq!(first_sentence("  A  blog.  More.", 200), "A blog.");
        assert_eq!(
            first_sentence("Costs 1.5 e.g. coffee. Next", 200),
            "Costs 1.5 e.g. coffee."
        );
        assert_eq!(first_sentence("url shortener", 200), "url shortener");
        assert_eq!(first_sentence("- one\ntwo", 200), "one");
        assert_eq!(first_sentence("aaa bbb ccc", 7), "aaa bbb");
        assert_eq!(first_sentence("", 200), "");
    }
}
