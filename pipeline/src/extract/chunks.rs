//! Layer 3, chunks: tagged words become noun phrases, verb groups and the glue between them
//! (prepositions, `and`/`or`, commas, colons, relative pronouns).
//!
//! A noun phrase keeps its determiner or quantifier (`many`, `one`, `each`), its modifiers and
//! nouns, the values written in parentheses after it (`status (open, closed)`), a number range
//! (`from 1 to 5`) and its flags (`optional`, `unique`). `whether it was returned` becomes the
//! flag phrase `returned`.

use super::lexicon::{VerbForm, LEXICON};
use super::pos::{Tag, Word};

/// How many a noun phrase speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// No quantifier.
    Plain,
    /// `many`, `several`, `multiple`, `a list of`.
    Many,
    /// `one`, `a single`, `exactly one`.
    One,
    /// `each`, `every`.
    Each,
    /// `another`, `other`.
    Other,
}

/// A noun phrase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NounPhrase {
    /// Nouns, modifiers included, lower-case; the last is the head.
    pub words: Vec<String>,
    /// The head's singular.
    pub head: String,
    /// The head was plural.
    pub plural: bool,
    /// Its quantity word.
    pub count: Count,
    /// Adjectives before it.
    pub adjectives: Vec<String>,
    /// Values in parentheses or after `one of`.
    pub values: Vec<String>,
    /// A number range.
    pub range: Option<(f64, f64)>,
    /// `whether ...`, `is_...`.
    pub flag: bool,
    /// `optional`.
    pub optional: bool,
    /// `unique`.
    pub unique: bool,
    /// Whose: `customer` in `a customer's orders`.
    pub owner: Option<Box<NounPhrase>>,
    /// A pronoun (`they`, `it`).
    pub pronoun: bool,
    /// A type word in parentheses (`(date)`).
    pub type_word: Option<String>,
    /// It opened with a determiner or quantifier (`the`, `each`).
    pub determined: bool,
    /// It opened with a possessive (`their`, `its`).
    pub possessive: bool,
    /// Written with a capital inside a sentence (`a Comment entity`): a name the writer gave.
    pub named: bool,
}

impl NounPhrase {
    /// A phrase with no words yet.
    pub fn new() -> NounPhrase {
        NounPhrase {
            words: Vec::new(),
            head: String::new(),
            plural: false,
            count: Count::Plain,
            adjectives: Vec::new(),
            values: Vec::new(),
            range: None,
            flag: false,
            optional: false,
            unique: false,
            owner: None,
            pronoun: false,
            type_word: None,
            determined: false,
            possessive: false,
            named: false,
        }
    }

    /// The words with the head singular: the name a record would get.
    pub fn singular_words(&self) -> Vec<String> {
        let mut words = self.words.clone();
        if let Some(last) = words.last_mut() {
            *last = self.head.clone();
        }
        words
    }

    /// Whether it speaks of many things.
    pub fn is_many(&self) -> bool {
        self.plural || self.count == Count::Many
    }
}

/// A verb group: auxiliaries, negation and the main verb.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VerbGroup {
    /// Base form of the main verb; `be` and `have` for those.
    pub base: String,
    /// A passive (`is written`) or a bare participle after a noun (`notes organized into`).
    pub passive: bool,
    /// The main verb's form.
    pub form: Option<VerbForm>,
    /// `not`, `never`.
    pub negated: bool,
    /// `can`, `may`.
    pub modal: bool,
    /// The words as written, lower-case.
    pub words: Vec<String>,
}

/// One chunk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Chunk {
    Noun(NounPhrase),
    Verb(VerbGroup),
    Prep(String),
    And,
    Or,
    Comma,
    Colon,
    Rel(String),
    /// Anything else (numbers out of place, meta words, stray punctuation).
    Other(String),
}

fn parse_number(word: &Word) -> Option<f64> {
    word.lower.parse::<f64>().ok()
}

/// Values written inside parentheses: `(low, medium, high)`, `(1-5)`, `(optional)`.
fn read_parenthesis(words: &[Word], np: &mut NounPhrase) {
    let inner: Vec<&Word> = words.iter().collect();
    let numbers: Vec<f64> = inner.iter().filter_map(|w| parse_number(w)).collect();
    let texts: Vec<&str> = inner.iter().map(|w| w.lower.as_str()).collect();
    if texts.iter().any(|t| matches!(*t, "optional" | "nullable")) {
        np.optional = true;
    }
    if texts.contains(&"unique") {
        np.unique = true;
    }
    if numbers.len() == 2 && inner.len() <= 5 {
        np.range = Some((numbers[0].min(numbers[1]), numbers[0].max(numbers[1])));
        return;
    }
    let relation_word = texts
        .first()
        .is_some_and(|t| matches!(*t, "many-to-many" | "one-to-one"));
    if inner.len() == 1 && (relation_word || super::types::type_word(texts[0]).is_some()) {
        np.type_word = Some(texts[0].to_string());
        return;
    }
    let mut values = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for w in &inner {
        if w.is(',') || w.is('/') || w.is('|') || matches!(w.tag, Tag::Or | Tag::And) {
            if !current.is_empty() {
                values.push(current.join(" "));
                current.clear();
            }
        } else if !matches!(
            w.lower.as_str(),
            "e.g"
                | "eg"
                | "ie"
                | "i.e"
                | "etc"
                | "like"
                | "such"
                | "as"
                | "either"
                | "one"
                | "of"
                | "optional"
                | "unique"
                | "required"
        ) && !w.is(':')
        {
            current.push(&w.text);
        }
    }
    if !current.is_empty() {
        values.push(current.join(" "));
    }
    if values.len() >= 2 && values.iter().all(|v| v.split_whitespace().count() <= 3) {
        np.values = values.iter().map(|v| v.to_lowercase()).collect();
    }
}

/// Cuts a tagged sentence into chunks.
pub(crate) fn chunk(words: &[Word]) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        match w.tag {
            Tag::Punct('(') => {
                let close = words[i..].iter().position(|w| w.is(')')).map(|p| i + p);
                let end = close.unwrap_or(words.len());
                if let Some(Chunk::Noun(np)) = out.last_mut() {
                    read_parenthesis(&words[i + 1..end], np);
                }
                i = end + 1;
                continue;
            }
            Tag::Punct(',') => out.push(Chunk::Comma),
            Tag::Punct(':') | Tag::Punct('=') => {
                // `a status: scheduled, completed or cancelled` to the end of the sentence.
                let rest = &words[i + 1..];
                let simple = !rest.is_empty()
                    && rest.len() <= 16
                    && rest.iter().all(|w| {
                        matches!(w.tag, Tag::Punct(',' | '/') | Tag::Or | Tag::And)
                            || w.kind_is_word()
                    })
                    && rest
                        .iter()
                        .any(|w| matches!(w.tag, Tag::Or | Tag::Punct(',')));
                if let Some(Chunk::Noun(np)) = out.last_mut() {
                    let field_head = super::lexicon::LEXICON.field_type(&np.head).is_some();
                    if simple && field_head && !np.plural && np.determined {
                        let mut values = Vec::new();
                        let mut current: Vec<&str> = Vec::new();
                        for w in rest {
                            if matches!(w.tag, Tag::Punct(_) | Tag::Or | Tag::And) {
                                if !current.is_empty() {
                                    values.push(current.join(" "));
                                    current.clear();
                                }
                            } else {
                                current.push(&w.lower);
                            }
                        }
                        if !current.is_empty() {
                            values.push(current.join(" "));
                        }
                        if values.len() >= 2 && values.iter().all(|v| v.split(' ').count() <= 2) {
                            np.values = values;
                            break;
                        }
                    }
                }
                out.push(Chunk::Colon)
            }
            Tag::Punct('-') if matches!(out.last(), Some(Chunk::Noun(_))) => out.push(Chunk::Colon),
            Tag::Punct('/') | Tag::Punct('+') | Tag::Punct('&') => out.push(Chunk::And),
            Tag::And => out.push(Chunk::And),
            Tag::Or => out.push(Chunk::Or),
            Tag::Rel => {
                // `that` after a noun starts a relative clause; elsewhere it is a determiner.
                if w.lower == "that" && !matches!(out.last(), Some(Chunk::Noun(_))) {
                    i += 1;
                    continue;
                }
                out.push(Chunk::Rel(w.lower.clone()));
            }
            Tag::Prep => {
                // `from 1 to 5`, `between 1 and 10`: a range for the phrase before.
                if let (Some(a), Some(b)) = (
                    words.get(i + 1).and_then(parse_number),
                    words.get(i + 3).and_then(parse_number),
                ) {
                    if matches!(
                        words.get(i + 2).map(|w| w.lower.as_str()),
                        Some("to" | "and" | "-")
                    ) {
                        if let Some(Chunk::Noun(np)) = out.last_mut() {
                            np.range = Some((a.min(b), a.max(b)));
                        }
                        i += 4;
                        continue;
                    }
                }
                out.push(Chunk::Prep(w.lower.clone()));
            }
            Tag::Whether => {
                // `whether it was returned`, `whether the item is fragile`: the last content
                // word before the next comma or conjunction names the flag.
                let mut j = i + 1;
                let mut last = None;
                while j < words.len()
                    && !words[j].is(',')
                    && !matches!(words[j].tag, Tag::And | Tag::Or | Tag::Prep)
                {
                    if matches!(words[j].tag, Tag::Verb | Tag::Noun | Tag::Adj) {
                        last = Some(j);
                    }
                    j += 1;
                }
                if let Some(k) = last {
                    let mut np = NounPhrase::new();
                    np.words = vec![words[k].lower.clone()];
                    np.head = words[k].lower.clone();
                    np.flag = true;
                    out.push(Chunk::Noun(np));
                }
                i = j;
                continue;
            }
            Tag::Modal | Tag::Be | Tag::Have | Tag::Verb | Tag::Neg => {
                if let Some((group, next)) = verb_group(words, i, &out) {
                    out.push(Chunk::Verb(group));
                    i = next;
                    continue;
                }
                out.push(Chunk::Other(w.lower.clone()));
            }
            Tag::Pron if w.lower == "when" => {
                // `when the transfer was executed`: a moment, `executed_at`.
                if let Some((np, next)) = moment_clause(words, i + 1, "at") {
                    out.push(Chunk::Noun(np));
                    i = next;
                    continue;
                }
                out.push(Chunk::Other(w.lower.clone()));
            }
            Tag::Det
            | Tag::Quant
            | Tag::Adj
            | Tag::Noun
            | Tag::Num
            | Tag::Pron
            | Tag::Poss
            | Tag::Meta => {
                if let Some((np, next)) = noun_phrase(words, i) {
                    if let Some(Chunk::Noun(owner)) = out.last() {
                        if words.get(i).is_some_and(|w| w.tag == Tag::Poss) {
                            let owner = owner.clone();
                            out.pop();
                            let mut np = np;
                            np.owner = Some(Box::new(owner));
                            out.push(Chunk::Noun(np));
                            i = next;
                            continue;
                        }
                    }
                    // `the date it was taken`: `taken_on`.
                    let mut np = np;
                    let mut next = next;
                    let moment_words = ["date", "day", "time", "moment"];
                    if np.words.iter().all(|w| moment_words.contains(&w.as_str())) {
                        let from = if words.get(next).is_some_and(|w| w.tag == Tag::Rel) {
                            next + 1
                        } else {
                            next
                        };
                        let suffix = if np.head == "date" || np.head == "day" {
                            "on"
                        } else {
                            "at"
                        };
                        if let Some((moment, after)) = moment_clause(words, from, suffix) {
                            np.words = moment.words;
                            np.head = moment.head;
                            next = after;
                        }
                    }
                    out.push(Chunk::Noun(np));
                    i = next;
                    continue;
                }
                out.push(Chunk::Other(w.lower.clone()));
            }
            _ => out.push(Chunk::Other(w.lower.clone())),
        }
        i += 1;
    }
    out
}

/// `it was executed`, `the product was added`: a subject, `be` and a participle, read as the
/// field `<participle>_<suffix>`.
fn moment_clause(words: &[Word], start: usize, suffix: &str) -> Option<(NounPhrase, usize)> {
    let mut i = start;
    while i < words.len()
        && i < start + 4
        && matches!(words[i].tag, Tag::Det | Tag::Noun | Tag::Pron | Tag::Adj)
    {
        i += 1;
    }
    if i == start || words.get(i)?.tag != Tag::Be {
        return None;
    }
    i += 1;
    while words
        .get(i)
        .is_some_and(|w| matches!(w.tag, Tag::Adv | Tag::Be))
    {
        i += 1;
    }
    let verb = words.get(i)?;
    if verb.tag != Tag::Verb || !matches!(verb.form, Some(VerbForm::Participle | VerbForm::Past)) {
        return None;
    }
    let mut np = NounPhrase::new();
    np.words = vec![verb.lower.clone(), suffix.to_string()];
    np.head = suffix.to_string();
    // A moment is a field: `added_on` a date, `executed_at` a timestamp.
    np.type_word = Some(if suffix == "on" { "date" } else { "datetime" }.to_string());
    Some((np, i + 1))
}

fn verb_group(words: &[Word], start: usize, before: &[Chunk]) -> Option<(VerbGroup, usize)> {
    let mut i = start;
    let mut group = VerbGroup {
        base: String::new(),
        passive: false,
        form: None,
        negated: false,
        modal: false,
        words: Vec::new(),
    };
    let mut saw_be = false;
    let mut saw_have = false;
    while i < words.len() {
        let w = &words[i];
        match w.tag {
            Tag::Modal => group.modal = true,
            Tag::Neg => group.negated = true,
            Tag::Adv => {}
            Tag::Be => saw_be = true,
            Tag::Have => {
                // `has been`, `have to`: auxiliaries; otherwise `have` is the verb.
                let next = words.get(i + 1).map(|w| w.tag);
                if matches!(next, Some(Tag::Be))
                    || (next == Some(Tag::Verb) && words[i + 1].form == Some(VerbForm::Participle))
                {
                    saw_have = true;
                } else {
                    group.base = "have".into();
                    group.words = words[start..=i].iter().map(|w| w.lower.clone()).collect();
                    return Some((group, i + 1));
                }
            }
            Tag::Verb => {
                group.base = w.lemma.clone();
                group.form = w.form;
                // `is run by`, `is set to`: a participle spelled like the base form.
                if saw_be
                    && w.form == Some(VerbForm::Base)
                    && LEXICON
                        .verb(&w.lemma)
                        .is_some_and(|v| v.participle == w.lower)
                {
                    group.form = Some(VerbForm::Participle);
                    group.passive = true;
                    group.words = words[start..=i].iter().map(|w| w.lower.clone()).collect();
                    return Some((group, i + 1));
                }
                group.words = words[start..=i].iter().map(|w| w.lower.clone()).collect();
                if matches!(w.form, Some(VerbForm::Participle | VerbForm::Past))
                    && (saw_be
                        || (!saw_have
                            && after_noun(before)
                            && start == i
                            && w.form == Some(VerbForm::Participle)))
                {
                    group.passive = saw_be || after_noun(before);
                }
                return Some((group, i + 1));
            }
            _ => break,
        }
        i += 1;
    }
    if saw_be {
        group.base = "be".into();
        group.words = words[start..i].iter().map(|w| w.lower.clone()).collect();
        return Some((group, i));
    }
    if group.modal || group.negated {
        return None;
    }
    None
}

fn after_noun(before: &[Chunk]) -> bool {
    matches!(before.last(), Some(Chunk::Noun(np)) if !np.pronoun)
}

fn noun_phrase(words: &[Word], start: usize) -> Option<(NounPhrase, usize)> {
    let mut np = NounPhrase::new();
    let mut i = start;
    while i < words.len() {
        let w = &words[i];
        match w.tag {
            Tag::Poss if i == start => {}
            Tag::Det => {
                if !np.words.is_empty() {
                    break;
                }
                np.determined = true;
                np.possessive |= matches!(
                    w.lower.as_str(),
                    "their" | "its" | "his" | "her" | "our" | "my" | "your"
                );
                if matches!(w.lower.as_str(), "another" | "other") {
                    np.count = Count::Other;
                }
            }
            Tag::Quant => {
                if !np.words.is_empty() {
                    break;
                }
                np.determined = true;
                np.count = match w.lower.as_str() {
                    "many" | "several" | "multiple" | "various" | "numerous" | "more" | "some"
                    | "all" | "few" | "two" | "three" => Count::Many,
                    "one" | "single" => {
                        if np.count == Count::Plain || np.count == Count::Each {
                            Count::One
                        } else {
                            np.count
                        }
                    }
                    "each" | "every" | "any" => Count::Each,
                    "another" | "other" => Count::Other,
                    _ => np.count,
                };
            }
            Tag::Adv
                if np.words.is_empty()
                    && matches!(w.lower.as_str(), "exactly" | "only" | "just" | "at_least") => {}
            Tag::Num if np.words.is_empty() => {
                if w.lower == "1" {
                    np.count = Count::One;
                } else {
                    np.count = Count::Many;
                }
            }
            Tag::Adj => {
                match w.lower.as_str() {
                    "optional" => np.optional = true,
                    "unique" | "distinct" => np.unique = true,
                    "required" | "mandatory" => {}
                    _ => {}
                }
                // An adjective after nouns ends the phrase.
                if !np.words.is_empty() {
                    break;
                }
                np.adjectives.push(w.lower.clone());
            }
            // `training courses`, `shipping address`: a gerund before a noun is part of it.
            Tag::Verb
                if w.form == Some(VerbForm::Gerund)
                    && words.get(i + 1).is_some_and(|n| n.tag == Tag::Noun) =>
            {
                np.words.push(w.lower.clone());
            }
            Tag::Verb
                if w.form == Some(VerbForm::Participle)
                    && np.words.is_empty()
                    && words.get(i + 1).is_some_and(|n| n.tag == Tag::Noun)
                    && i > start =>
            {
                np.adjectives.push(w.lower.clone());
            }
            Tag::Noun | Tag::Meta => {
                np.named |= i > 0
                    && w.text.starts_with(|c: char| c.is_uppercase())
                    && !w
                        .text
                        .chars()
                        .all(|c| c.is_uppercase() || !c.is_alphabetic());
                np.words.push(w.lower.clone());
                np.head = w.lemma.clone();
                np.plural = w.plural;
                if w.tag == Tag::Meta {
                    np.head = w.lower.clone();
                }
            }
            Tag::Pron if np.words.is_empty() && i == start => {
                np.words.push(w.lower.clone());
                np.head = w.lower.clone();
                np.pronoun = true;
                np.plural = matches!(w.lower.as_str(), "they" | "them");
                return Some((np, i + 1));
            }
            _ => break,
        }
        i += 1;
    }
    // `a list of tasks`, `number of seats`: handled by the clause layer through `of`.
    if np.words.is_empty() {
        // A bare quantifier (`each`, `many`) is a pronoun-like phrase.
        if np.count != Count::Plain && i > start {
            np.pronoun = true;
            return Some((np, i));
        }
        return None;
    }
    Some((np, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{pos::tag, tokens::sentences};

    fn chunks(s: &str) -> Vec<Chunk> {
        chunk(&tag(&sentences(s)[0]))
    }

    #[test]
    fn phrases_carry_values_ranges_and_owners() {
        let c = chunks("a status (open, closed) and a rating from 1 to 5");
        let Chunk::Noun(status) = &c[0] else {
            panic!("{c:?}")
        };
        assert_eq!(status.values, vec!["open", "closed"]);
        let Chunk::Noun(rating) = &c[2] else {
            panic!("{c:?}")
        };
        assert_eq!(rating.range, Some((1.0, 5.0)));
        let c = chunks("a customer's orders");
        let Chunk::Noun(orders) = &c[0] else {
            panic!("{c:?}")
        };
        assert_eq!(orders.head, "order");
        assert_eq!(
            orders.owner.as_ref().map(|o| o.head.as_str()),
            Some("customer")
        );
    }

    #[test]
    fn passives_and_participles() {
        let c = chunks("posts are written by authors");
        assert!(
            matches!(&c[1], Chunk::Verb(v) if v.passive && v.base == "write"),
            "{c:?}"
        );
        let c = chunks("notes organized into notebooks");
        assert!(
            matches!(&c[1], Chunk::Verb(v) if v.passive && v.base == "organize"),
            "{c:?}"
        );
        let c = chunks("each checkout records the return date");
        assert!(
            matches!(&c[1], Chunk::Verb(v) if !v.passive && v.base == "record"),
            "{c:?}"
        );
    }
}
