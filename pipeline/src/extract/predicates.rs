//! Predicates: the word that carries a clause (`have`, `belongs`, `can`, `is`, a verb) and how
//! the words after a verb split into objects, parents and further clauses.

use super::auth::auth_verb_len;
use super::enums::{read_values, values_follow};
use super::lexicon::{
    is_auxiliary, is_be, is_belong, is_conjunction, is_determiner, is_have, is_imperative,
    is_preposition, is_pronoun, verb_base,
};
use super::lists::split_list;
use super::phrases::{parse_phrase, Phrase};
use super::sentences::{Kind, Token};

/// The word that carries a clause.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pred {
    Have,
    With,
    Paren,
    Colon,
    Belong,
    Aux,
    Be,
    Auth,
    Verb(&'static str),
}

impl Pred {
    pub(super) fn is_strong(self) -> bool {
        matches!(
            self,
            Pred::Have | Pred::Belong | Pred::Aux | Pred::Be | Pred::Auth
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Found {
    pub(super) at: usize,
    pub(super) len: usize,
    pub(super) pred: Pred,
}

pub(super) fn word(tokens: &[Token], k: usize) -> &str {
    tokens.get(k).map(|t| t.lower.as_str()).unwrap_or("")
}

/// A marker word at `i` and its length.
fn marker_at(tokens: &[Token], i: usize) -> Option<(Pred, usize)> {
    let t = &tokens[i];
    if t.is_punct("(") {
        return (i > 0).then_some((Pred::Paren, 0));
    }
    if t.is_punct(":") {
        return Some((Pred::Colon, 1));
    }
    if !t.is_word() {
        return None;
    }
    if let Some(len) = auth_verb_len(tokens, i) {
        if !matches!(
            t.lower.as_str(),
            "auth" | "jwt" | "authentication" | "registration" | "oauth" | "sso"
        ) {
            return Some((Pred::Auth, len));
        }
    }
    let w = t.lower.as_str();
    let next = word(tokens, i + 1);
    if is_have(w) {
        return Some(match next {
            "to" => (Pred::Aux, 2),
            "of" => (Pred::Have, 2),
            _ => (Pred::Have, 1),
        });
    }
    if is_belong(w) {
        return Some((Pred::Belong, 1));
    }
    if w == "with" {
        return Some((Pred::With, 1));
    }
    if is_be(w) {
        return Some((Pred::Be, 1));
    }
    let adverb = matches!(
        w,
        "only"
            | "just"
            | "not"
            | "never"
            | "also"
            | "then"
            | "optionally"
            | "always"
            | "usually"
            | "often"
            | "typically"
            | "additionally"
            | "generally"
            | "normally"
    );
    if is_auxiliary(w) && !adverb {
        return Some((Pred::Aux, 1));
    }
    None
}

/// Whether tokens can make up a subject noun phrase.
pub(super) fn prefix_ok(prefix: &[Token]) -> bool {
    prefix.len() <= 7
        && prefix.iter().all(|t| match t.kind {
            Kind::Word => {
                let w = t.lower.as_str();
                (w == "of" || !is_preposition(w))
                    && !is_conjunction(w)
                    && !is_have(w)
                    && !is_be(w)
                    && !is_auxiliary(w)
            }
            Kind::Punct => t.is_punct("'") || t.is_punct("-"),
            Kind::Number => false,
        })
}

/// Whether the token after a verb starts its object.
fn starts_object(t: Option<&Token>) -> bool {
    let Some(t) = t else { return false };
    if t.kind == Kind::Number {
        return true;
    }
    if !t.is_word() {
        return false;
    }
    let w = t.lower.as_str();
    if is_have(w) || is_be(w) || is_belong(w) || is_auxiliary(w) || is_conjunction(w) || w == "with"
    {
        return false;
    }
    is_determiner(w)
        || matches!(
            w,
            "many" | "several" | "multiple" | "them" | "one" | "other" | "various"
        )
        || is_preposition(w)
        || codebegen_schema::names::singular_word(w) != w
}

/// Whether `subject verb next` reads as a sentence by agreement (`adopters submit adoption
/// requests`, `a guest books a room`), with a plain noun after the verb.
fn agrees(subject: &str, verb: &str, base: &str, next: Option<&Token>) -> bool {
    let Some(next) = next.filter(|t| t.is_word()) else {
        return false;
    };
    let n = next.lower.as_str();
    if is_have(n)
        || is_be(n)
        || is_belong(n)
        || is_auxiliary(n)
        || is_conjunction(n)
        || is_preposition(n)
        || verb_base(n).is_some()
    {
        return false;
    }
    let plural_subject =
        codebegen_schema::names::singular_word(subject) != subject || is_pronoun(subject);
    let base_form = verb == base;
    let s_form = verb != base && verb.ends_with('s');
    (plural_subject && base_form) || (!plural_subject && s_form)
}

/// Finds the predicate of a clause. `leading_verb` allows a verb in first position (the subject
/// comes from an enclosing clause).
pub(super) fn find_predicate(tokens: &[Token], leading_verb: bool) -> Option<Found> {
    let mut marker: Option<(usize, Pred, usize)> = None;
    let mut depth = 0usize;
    for i in 0..tokens.len() {
        if depth == 0 {
            if let Some((pred, len)) = marker_at(tokens, i) {
                marker = Some((i, pred, len));
                break;
            }
        }
        if tokens[i].is_punct("(") {
            depth += 1;
        } else if tokens[i].is_punct(")") {
            depth = depth.saturating_sub(1);
        }
    }
    if let Some((at, pred, len)) = marker {
        if pred.is_strong() && prefix_ok(&tokens[..at]) {
            return Some(Found { at, len, pred });
        }
    }
    let limit = marker.map(|m| m.0).unwrap_or(tokens.len());
    for i in 0..limit {
        let t = &tokens[i];
        if !t.is_word() {
            continue;
        }
        let Some(base) = verb_base(&t.lower) else {
            continue;
        };
        let ok = if i == 0 {
            starts_object(tokens.get(i + 1)) && (leading_verb || is_imperative(base))
        } else {
            let prev = &tokens[i - 1];
            let subject_ok = prefix_ok(&tokens[..i])
                && prev.is_word()
                && !is_determiner(&prev.lower)
                && !is_preposition(&prev.lower);
            subject_ok
                && (starts_object(tokens.get(i + 1))
                    || agrees(&prev.lower, &t.lower, base, tokens.get(i + 1)))
        };
        if ok {
            return Some(Found {
                at: i,
                len: 1,
                pred: Pred::Verb(base),
            });
        }
    }
    marker.map(|(at, pred, len)| Found { at, len, pred })
}

/// A relation-cardinality keyword in the tokens: its index, length and kind (`one-to-many` is
/// read as many-to-one from the second entity).
pub(super) fn cardinality(tokens: &[Token]) -> Option<(usize, usize, &'static str)> {
    for i in 0..tokens.len() {
        let joined = match tokens[i].lower.as_str() {
            w @ ("many-to-many" | "one-to-one" | "one-to-many" | "many-to-one") => {
                Some((w.to_string(), 1))
            }
            "m2m" | "n:m" => Some(("many-to-many".to_string(), 1)),
            w @ ("many" | "one")
                if word(tokens, i + 1) == "to" && matches!(word(tokens, i + 2), "many" | "one") =>
            {
                Some((format!("{w}-to-{}", word(tokens, i + 2)), 3))
            }
            _ => None,
        };
        if let Some((kind, len)) = joined {
            let kind = match kind.as_str() {
                "many-to-many" => "many-to-many",
                "one-to-one" => "one-to-one",
                "one-to-many" => "one-to-many",
                _ => "many-to-one",
            };
            return Some((i, len, kind));
        }
    }
    None
}

/// Words that, before a colon, introduce values rather than fields (`Status: todo, done`).
pub(super) fn is_enum_word(subject: &Phrase) -> bool {
    matches!(
        subject.words.as_slice(),
        [w] if matches!(w.as_str(), "status" | "priority" | "category" | "type" | "kind" | "level" | "stage" | "state" | "severity" | "visibility" | "size" | "gender")
    )
}

/// Verbs that make what they name (`write`, `create`): the object belongs to the subject.
pub(super) fn is_creation_verb(base: &str) -> bool {
    matches!(
        base,
        "write"
            | "create"
            | "post"
            | "publish"
            | "submit"
            | "upload"
            | "add"
            | "send"
            | "place"
            | "make"
            | "leave"
            | "give"
            | "own"
            | "open"
            | "start"
            | "raise"
            | "report"
            | "log"
            | "record"
            | "host"
            | "organize"
            | "organise"
            | "run"
            | "hold"
            | "author"
            | "compose"
            | "issue"
            | "list"
            | "offer"
            | "sell"
            | "manage"
            | "lead"
            | "teach"
            | "schedule"
            | "keep"
            | "maintain"
            | "store"
            | "generate"
    )
}

/// The foreign-key name a verb suggests when the parent is a user (`write` → `author`).
pub(super) fn hint_for(base: &str) -> Option<&'static str> {
    match base {
        "write" | "author" | "compose" | "post" | "publish" | "create" | "submit" | "upload"
        | "leave" | "give" => Some("author"),
        "assign" => Some("assignee"),
        _ => None,
    }
}

/// A piece of a list that continues enumerated values (`in progress`, `done`).
pub(super) fn is_value_piece(piece: &[Token]) -> bool {
    let words: Vec<&str> = piece
        .iter()
        .filter(|t| t.kind != Kind::Punct)
        .map(|t| t.lower.as_str())
        .collect();
    let Some(first) = words.first() else {
        return false;
    };
    words.len() <= 3
        && !is_determiner(first)
        && !matches!(*first, "many" | "several" | "optional" | "one" | "multiple")
        && find_predicate(piece, true).is_none()
        && read_values(piece).len() == 1
}

/// A list piece that is a clause of its own (`belong to a publisher`, `attendees can bookmark
/// talks`) rather than a phrase with values (`a role which is admin`).
pub(super) fn is_clause_piece(piece: &[Token]) -> bool {
    let Some(found) = find_predicate(piece, true) else {
        return false;
    };
    match found.pred {
        Pred::Be => values_follow(&piece[found.at..], 1).is_none(),
        Pred::Aux => values_follow(&piece[found.at..], 1).is_none(),
        Pred::Verb(_) => {
            found.at == 0
                || (prefix_ok(&piece[..found.at]) && !parse_phrase(&piece[..found.at]).is_empty())
        }
        pred => pred.is_strong(),
    }
}

/// Cuts the tokens after a verb into objects, prepositional parents, where a `with` field list
/// starts, and where another clause starts.
pub(super) fn split_objects(
    rest: &[Token],
) -> (Vec<Vec<Token>>, Vec<Phrase>, Option<usize>, Option<usize>) {
    let mut k = 0;
    if is_preposition(word(rest, 0)) && word(rest, 0) != "with" {
        k = 1;
    }
    let stop = |i: usize| {
        let t = &rest[i];
        let w = t.lower.as_str();
        (t.is_word() && is_preposition(w) && w != "of")
            || t.is_punct("(")
            || ((t.is_punct(",") || matches!(w, "and" | "but" | "or"))
                && clause_after(&rest[i + 1..]))
    };
    let mut end = k;
    while end < rest.len() && !stop(end) {
        end += 1;
    }
    let objects = split_list(&rest[k..end]);
    let mut parents = Vec::new();
    let mut fields_at = None;
    let mut more = None;
    let mut i = end;
    while i < rest.len() {
        let w = word(rest, i);
        if w == "with" || rest[i].is_punct("(") {
            fields_at = Some(if w == "with" { i + 1 } else { i });
            break;
        }
        if rest[i].is_word() && is_preposition(w) {
            let mut j = i + 1;
            while j < rest.len() && !stop(j) && !rest[j].is_punct(",") {
                j += 1;
            }
            let parent = parse_phrase(&rest[i + 1..j]);
            if !parent.is_empty() && !matches!(w, "by" | "as" | "like" | "about" | "than") {
                parents.push(parent);
            }
            i = j;
            continue;
        }
        if rest[i].is_punct(",") || matches!(w, "and" | "but" | "or") {
            more = Some(i + 1);
            break;
        }
        i += 1;
    }
    (objects, parents, fields_at, more)
}

/// Whether the tokens after a comma or `and` make a clause of their own.
pub(super) fn clause_after(tokens: &[Token]) -> bool {
    let start = tokens
        .iter()
        .position(|t| {
            !(t.kind == Kind::Punct || matches!(t.lower.as_str(), "and" | "but" | "or" | "then"))
        })
        .unwrap_or(tokens.len());
    let tokens = &tokens[start..];
    find_predicate(tokens, true).is_some_and(|f| {
        (f.pred.is_strong() || matches!(f.pred, Pred::Verb(_)))
            && (f.at == 0 || prefix_ok(&tokens[..f.at]))
    })
}
