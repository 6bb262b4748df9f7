//! Layer 1, tokens: a prompt becomes words, numbers and punctuation, cut into sentences.
//!
//! A sentence ends at `.`, `!`, `?` or `;`, and at a line break unless the next line only
//! continues a wrapped sentence. Bullet markers (`-`, `*`, `1.`) start a sentence of their own.
//! Hyphens and apostrophes inside words stay in the word (`check-in`, `customer's` is split
//! into `customer` and `'s`).

/// Longest prompt read, in characters.
pub const MAX_PROMPT_CHARS: usize = 20_000;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Letters, digits inside words, `-` and `_`.
    Word,
    /// `12`, `4.5`.
    Number,
    /// One punctuation character: `,` `:` `(` `)` `/` `'s` is a word.
    Punct(char),
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// As written.
    pub text: String,
    /// Lower-cased.
    pub lower: String,
    /// Its kind.
    pub kind: TokenKind,
}

impl Token {
    fn new(text: String, kind: TokenKind) -> Token {
        Token {
            lower: text.to_lowercase(),
            text,
            kind,
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Cuts one line into tokens.
fn line_tokens(line: &str, out: &mut Vec<Token>) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())))
            {
                i += 1;
            }
            if i < chars.len() && chars[i].is_alphabetic() {
                // `2fa`, `3d`: a word.
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                out.push(Token::new(
                    chars[start..i].iter().collect(),
                    TokenKind::Word,
                ));
            } else {
                out.push(Token::new(
                    chars[start..i].iter().collect(),
                    TokenKind::Number,
                ));
            }
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() {
                let ch = chars[i];
                let joins = (ch == '-' || ch == '\'' || ch == '’' || ch == '.')
                    && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())
                    && i > start;
                // `e.g.` stays a word; `end.Next` does not.
                let dot_ok =
                    ch != '.' || chars[start..i].iter().all(|c| c.is_lowercase()) && i - start == 1;
                if is_word_char(ch) || (joins && dot_ok) {
                    i += 1;
                } else {
                    break;
                }
            }
            let word: String = chars[start..i].iter().collect::<String>().replace('’', "'");
            if let Some(stem) = word
                .strip_suffix("'s")
                .filter(|s| !s.is_empty() && !s.ends_with('\''))
            {
                out.push(Token::new(stem.to_string(), TokenKind::Word));
                out.push(Token::new("'s".into(), TokenKind::Word));
            } else if let Some(stem) = word.strip_suffix("s'").filter(|s| !s.is_empty()) {
                out.push(Token::new(format!("{stem}s"), TokenKind::Word));
                out.push(Token::new("'s".into(), TokenKind::Word));
            } else {
                out.push(Token::new(word, TokenKind::Word));
            }
        } else {
            if c == '\'' || c == '’' {
                // A plural possessive written apart (`members' cards`).
                if out
                    .last()
                    .is_some_and(|t| t.kind == TokenKind::Word && t.lower.ends_with('s'))
                {
                    out.push(Token::new("'s".into(), TokenKind::Word));
                }
            } else if c != '"' && c != '`' && c != '“' && c != '”' {
                out.push(Token::new(c.to_string(), TokenKind::Punct(c)));
            }
            i += 1;
        }
    }
}

fn is_bullet_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("- ")
        || t.starts_with("* ")
        || t.starts_with("• ")
        || t.starts_with("+ ")
        || t.split_once(['.', ')']).is_some_and(|(n, rest)| {
            !n.is_empty()
                && n.len() <= 2
                && n.chars().all(|c| c.is_ascii_digit())
                && rest.starts_with(' ')
        })
}

fn strip_bullet(line: &str) -> &str {
    let t = line.trim_start();
    for marker in ["- ", "* ", "• ", "+ "] {
        if let Some(rest) = t.strip_prefix(marker) {
            return rest;
        }
    }
    if let Some((n, rest)) = t.split_once(['.', ')']) {
        if !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()) {
            return rest;
        }
    }
    t
}

/// Reads a prompt into sentences of tokens. Sentence-ending punctuation is dropped.
pub(crate) fn sentences(prompt: &str) -> Vec<Vec<Token>> {
    let prompt: String = prompt.chars().take(MAX_PROMPT_CHARS).collect();
    // Join wrapped lines: a line break is a sentence end unless the line runs on into a
    // lower-case continuation that is not a bullet.
    let mut lines: Vec<String> = Vec::new();
    for raw in prompt.lines() {
        let line = raw.trim();
        if line.is_empty() {
            lines.push(String::new());
            continue;
        }
        let continues = !is_bullet_line(raw)
            && line.starts_with(|c: char| c.is_lowercase())
            && lines.last().is_some_and(|prev| {
                !prev.is_empty()
                    && prev.ends_with(|c: char| c.is_alphanumeric() || c == ',')
                    && !prev.contains(':')
            });
        match lines.last_mut() {
            Some(prev) if continues => {
                prev.push(' ');
                prev.push_str(line);
            }
            _ => lines.push(strip_bullet(line).to_string()),
        }
    }
    let mut out = Vec::new();
    let lines: Vec<String> = lines.iter().flat_map(|l| lift_parentheses(l)).collect();
    for line in lines {
        let mut tokens = Vec::new();
        // `w/` is `with`; contractions are their words (`we're` → `we are`).
        let line =
            expand_contractions(&line.replace(" w/ ", " with ").replace(" w/o ", " without "));
        line_tokens(&line, &mut tokens);
        let mut current = Vec::new();
        for token in tokens {
            let abbreviation = token.kind == TokenKind::Punct('.')
                && current.last().is_some_and(|t: &Token| {
                    matches!(t.lower.as_str(), "e.g" | "i.e" | "eg" | "ie" | "vs")
                });
            if abbreviation {
                continue;
            }
            if matches!(token.kind, TokenKind::Punct('.' | '!' | '?' | ';')) {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            } else {
                current.push(token);
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// `we're` → `we are`, `I'd` → `I would`, `don't` → `do not`, `it's` → `it is`.
fn expand_contractions(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for (k, word) in line.split(' ').enumerate() {
        if k > 0 {
            out.push(' ');
        }
        let plain = word.replace('’', "'");
        let lower = plain.to_lowercase();
        let expanded = match lower.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '\'') {
            "can't" | "cannot" => Some("can not".to_string()),
            "won't" => Some("will not".to_string()),
            w if w.ends_with("n't") => Some(format!("{} not", &plain[..w.len() - 3])),
            w if w.ends_with("'re") => Some(format!("{} are", &plain[..w.len() - 3])),
            w if w.ends_with("'ve") => Some(format!("{} have", &plain[..w.len() - 3])),
            w if w.ends_with("'ll") => Some(format!("{} will", &plain[..w.len() - 3])),
            w if w.ends_with("'d") => Some(format!("{} would", &plain[..w.len() - 2])),
            "i'm" => Some(format!("{} am", &plain[..1])),
            "it's" | "that's" | "there's" | "here's" | "what's" | "who's" => Some(format!(
                "{} is",
                &plain[..lower.find('\'').unwrap_or(lower.len())]
            )),
            _ => None,
        };
        match expanded {
            Some(e) => {
                out.push_str(&e);
                // Keep trailing punctuation (`we're,`).
                let tail: String = plain
                    .chars()
                    .rev()
                    .take_while(|c| !c.is_alphanumeric() && *c != '\'')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                out.push_str(&tail);
            }
            None => out.push_str(word),
        }
    }
    out
}

/// A long parenthesis that reads as a sentence (`(a payslip lists several deductions)`) is
/// lifted out after its line; short ones (`(low, medium, high)`, `(optional)`) stay.
fn lift_parentheses(line: &str) -> Vec<String> {
    let mut kept = String::new();
    let mut lifted = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        let inner = &rest[open + 1..close];
        let words = inner.split_whitespace().count();
        let commas = inner.matches(',').count();
        kept.push_str(&rest[..open]);
        if words >= 4 && (commas == 0 || (words >= 8 && commas <= 1)) && !inner.contains(" or ") {
            lifted.push(inner.to_string());
        } else {
            kept.push_str(&rest[open..=close]);
        }
        rest = &rest[close + 1..];
    }
    kept.push_str(rest);
    let mut out = vec![kept];
    out.extend(lifted);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(prompt: &str, expected: &[&str]) {
        let got: Vec<String> = sentences(prompt)
            .iter()
            .map(|s| {
                s.iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(got, expected, "{prompt}");
    }

    #[test]
    fn sentences_and_words() {
        check(
            "Books have a title. Authors write books!",
            &["Books have a title", "Authors write books"],
        );
        check(
            "price is 4.5; a check-in flag",
            &["price is 4.5", "a check-in flag"],
        );
        check("a customer's orders", &["a customer 's orders"]);
        check("members' cards", &["members 's cards"]);
        check(
            "- Book: title, isbn\n- Author: name",
            &["Book : title , isbn", "Author : name"],
        );
        check("1. posts\n2) tags", &["posts", "tags"]);
        check(
            "Posts have a title and\na body",
            &["Posts have a title and a body"],
        );
        check(
            "rating (1-5), e.g. stars",
            &["rating ( 1 - 5 ) , e.g stars"],
        );
    }
}
