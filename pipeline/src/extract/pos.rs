//! Layer 2, parts of speech: each token gets a tag from the word tables (`lexicon`), and words
//! that can be a noun or a verb (`book`, `orders`, `reviews`) are settled by their neighbours.
//!
//! Unknown words are nouns; `-ly` words are adverbs. Nouns carry their singular form.

use codebegen_schema::names::{singular_word, snake_case};

use super::lexicon::{VerbClass, VerbForm, LEXICON};
use super::tokens::{Token, TokenKind};

/// A part of speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Det,
    Quant,
    Num,
    Pron,
    Rel,
    Prep,
    And,
    Or,
    Modal,
    Be,
    Have,
    Neg,
    Adv,
    Adj,
    Whether,
    Poss,
    Verb,
    Noun,
    Meta,
    Punct(char),
}

/// A tagged token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Word {
    /// As written.
    pub text: String,
    /// Lower-cased.
    pub lower: String,
    /// Its part of speech.
    pub tag: Tag,
    /// Singular for nouns, base form for verbs, the lower-cased word otherwise.
    pub lemma: String,
    /// For verbs: the form.
    pub form: Option<VerbForm>,
    /// For nouns: written in the plural.
    pub plural: bool,
}

impl Word {
    /// Whether this is a word or number rather than punctuation or a function word.
    pub fn kind_is_word(&self) -> bool {
        matches!(
            self.tag,
            Tag::Noun | Tag::Adj | Tag::Verb | Tag::Num | Tag::Meta | Tag::Adv
        )
    }

    /// Whether this is the punctuation `c`.
    pub fn is(&self, c: char) -> bool {
        self.tag == Tag::Punct(c)
    }
}

fn closed_tag(class: &str) -> Option<Tag> {
    Some(match class {
        "determiner" => Tag::Det,
        "quantifier" => Tag::Quant,
        "pronoun" => Tag::Pron,
        "relative" => Tag::Rel,
        "preposition" => Tag::Prep,
        "and" => Tag::And,
        "or" => Tag::Or,
        "modal" => Tag::Modal,
        "be" => Tag::Be,
        "have" => Tag::Have,
        "negation" => Tag::Neg,
        "adverb" => Tag::Adv,
        "adjective" => Tag::Adj,
        "whether" => Tag::Whether,
        "meta" | "unit" => Tag::Meta,
        _ => return None,
    })
}

/// Whether a word is written in CamelCase (`StockLevel`), a name of its own.
fn is_camel(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(2)
        .any(|p| p[0].is_lowercase() && p[1].is_uppercase())
}

fn noun(token: &Token) -> Word {
    // `StockLevel` reads as `stock_level`.
    let lower = if is_camel(&token.text) {
        snake_case(&token.text)
    } else {
        token.lower.clone()
    };
    let singular = match lower.rsplit_once('_') {
        Some((stem, last)) if is_camel(&token.text) => format!("{stem}_{}", singular_word(last)),
        _ => singular_word(&lower),
    };
    let token = &Token {
        lower,
        ..token.clone()
    };
    Word {
        text: token.text.clone(),
        lower: token.lower.clone(),
        tag: Tag::Noun,
        plural: singular != token.lower,
        lemma: singular,
        form: None,
    }
}

/// First reading of a token, before neighbours are looked at. Returns the word and whether it
/// could also be a noun.
fn first_reading(token: &Token) -> (Word, bool) {
    let plain = |tag: Tag| Word {
        text: token.text.clone(),
        lower: token.lower.clone(),
        tag,
        lemma: token.lower.clone(),
        form: None,
        plural: false,
    };
    match token.kind {
        TokenKind::Number => return (plain(Tag::Num), false),
        TokenKind::Punct(c) => return (plain(Tag::Punct(c)), false),
        TokenKind::Word => {}
    }
    let w = token.lower.as_str();
    if w == "'s" {
        return (plain(Tag::Poss), false);
    }
    if matches!(w, "that" | "which" | "who" | "whom" | "where") {
        return (plain(Tag::Rel), false);
    }
    if let Some(tag) = LEXICON.closed_class(w).and_then(closed_tag) {
        return (plain(tag), false);
    }
    if is_camel(&token.text) {
        return (noun(token), false);
    }
    if let Some((verb, form)) = LEXICON.verb_form(w) {
        let mut word = plain(Tag::Verb);
        word.lemma = verb.base.clone();
        word.form = Some(form);
        // A verb that is also a noun: its base or `-s` form, or an event noun of its own.
        let noun_too = matches!(form, VerbForm::Base | VerbForm::Third)
            && (LEXICON.field_type(&singular_word(w)).is_some()
                || verb.nouns.iter().any(|n| *n == singular_word(w))
                || NOUN_VERBS.contains(&verb.base.as_str()));
        return (word, noun_too);
    }
    if w.len() > 4
        && w.ends_with("ly")
        && !matches!(
            w,
            "supply"
                | "family"
                | "reply"
                | "assembly"
                | "rally"
                | "jelly"
                | "belly"
                | "ally"
                | "anomaly"
                | "monthly"
                | "weekly"
                | "daily"
                | "yearly"
                | "hourly"
        )
    {
        return (plain(Tag::Adv), false);
    }
    (noun(token), false)
}

/// Verbs whose base form is a common noun too, beyond their event nouns.
const NOUN_VERBS: &[&str] = &[
    "book",
    "order",
    "post",
    "review",
    "comment",
    "rate",
    "like",
    "record",
    "list",
    "log",
    "note",
    "file",
    "issue",
    "release",
    "design",
    "draft",
    "plan",
    "stock",
    "tag",
    "pin",
    "archive",
    "report",
    "contact",
    "message",
    "email",
    "call",
    "share",
    "check",
    "bid",
    "vote",
    "star",
    "favorite",
    "favourite",
    "bookmark",
    "reply",
    "answer",
    "request",
    "claim",
    "transfer",
    "deposit",
    "repair",
    "service",
    "walk",
    "ride",
    "trip",
    "water",
    "plant",
    "grade",
    "score",
    "visit",
    "view",
    "play",
    "match",
    "run",
    "lead",
    "host",
    "feature",
    "offer",
    "supply",
    "fund",
    "invoice",
    "bill",
    "charge",
    "support",
    "search",
    "update",
    "edit",
    "mark",
    "rent",
    "lease",
    "hire",
    "use",
    "need",
    "work",
    "sign",
    "train",
    "coach",
    "sort",
    "group",
    "link",
    "park",
    "house",
    "cover",
    "harvest",
    "measure",
    "reference",
    "mention",
    "upload",
    "build",
    "return",
];

/// Whether the `to` that ends `words` marks an infinitive (`want to book`, `able to rent`)
/// rather than a preposition (`belong to support groups`).
fn infinitive_before(words: &[Word]) -> bool {
    let Some(before) = words.len().checked_sub(2).and_then(|k| words.get(k)) else {
        return true;
    };
    match before.tag {
        Tag::Verb | Tag::Have => {
            !matches!(
                LEXICON.verb(&before.lemma).map(|v| v.class),
                Some(VerbClass::Belong | VerbClass::Place | VerbClass::Join)
            ) && !matches!(
                before.lemma.as_str(),
                "link" | "point" | "refer" | "send" | "give" | "report"
            )
        }
        Tag::Noun | Tag::Adj | Tag::Be | Tag::Modal | Tag::Adv | Tag::Pron => true,
        // `log in to request leave`: a particle after a verb.
        Tag::Prep => words
            .len()
            .checked_sub(3)
            .and_then(|k| words.get(k))
            .is_some_and(|w| w.tag == Tag::Verb),
        _ => false,
    }
}

/// Tags a sentence.
pub(crate) fn tag(tokens: &[Token]) -> Vec<Word> {
    let readings: Vec<(Word, bool)> = tokens.iter().map(first_reading).collect();
    let mut words: Vec<Word> = Vec::with_capacity(readings.len());
    for (i, (word, noun_too)) in readings.iter().enumerate() {
        let mut word = word.clone();
        // `to book`, `and run payroll`, `log in`: verbs whatever else they can be.
        let next_lower = tokens.get(i + 1).map(|t| t.lower.as_str()).unwrap_or("");
        let after_to = word.tag == Tag::Verb
            && ((words.last().is_some_and(|w| w.lower == "to")
                && word.form == Some(VerbForm::Base)
                && infinitive_before(&words))
                || (words
                    .last()
                    .is_some_and(|w| matches!(w.tag, Tag::And | Tag::Or))
                    && word.form == Some(VerbForm::Base)
                    && matches!(
                        readings.get(i + 1).map(|(w, _)| w.tag),
                        Some(Tag::Det | Tag::Noun | Tag::Quant)
                    ))
                || (matches!(word.lemma.as_str(), "log" | "sign")
                    && matches!(next_lower, "in" | "up" | "out" | "on")));
        // `readers save bookmarks`: a plural subject takes the bare form, and what follows a
        // verb is its object.
        let agrees_with_plural = word.form == Some(VerbForm::Base)
            && words.last().is_some_and(|w| w.tag == Tag::Noun && w.plural)
            && readings.get(i + 1).is_some_and(|(w, _)| {
                matches!(
                    w.tag,
                    Tag::Noun | Tag::Verb | Tag::Det | Tag::Quant | Tag::And | Tag::Or
                )
            });
        let object_of_verb = words.last().is_some_and(|w| {
            w.tag == Tag::Verb
                && matches!(
                    w.form,
                    Some(VerbForm::Base | VerbForm::Third | VerbForm::Past)
                )
        }) && word.form == Some(VerbForm::Third)
            // `the feed holds`: a "verb" after a determiner is a noun.
            && !(words.len() >= 2
                && matches!(words[words.len() - 2].tag, Tag::Det | Tag::Quant | Tag::Adj | Tag::Poss));
        if object_of_verb {
            word = noun(&tokens[i]);
        } else if *noun_too && !after_to && !agrees_with_plural {
            let prev = words.last().map(|w| w.tag);
            let next = readings.get(i + 1).map(|(w, _)| w.tag);
            if reads_as_noun(prev, next, word.form, i == 0) {
                word = noun(&tokens[i]);
            }
        }
        // `we decide on`, `a deal can also involve`: an unknown word after a subject pronoun or
        // a modal is a verb.
        if word.tag == Tag::Noun && !word.plural {
            let before: Vec<&Word> = words.iter().rev().take(2).collect();
            let after_pronoun = before.first().is_some_and(|p| {
                p.tag == Tag::Pron
                    && matches!(p.lower.as_str(), "we" | "they" | "i" | "you" | "he" | "she")
            });
            let after_modal = before
                .first()
                .is_some_and(|p| matches!(p.tag, Tag::Modal | Tag::Neg))
                || (before.first().is_some_and(|p| p.tag == Tag::Adv)
                    && before.get(1).is_some_and(|p| p.tag == Tag::Modal));
            if (after_pronoun || after_modal) && LEXICON.field_type(&word.lemma).is_none() {
                word.tag = Tag::Verb;
                word.form = Some(VerbForm::Base);
                word.lemma = word.lower.clone();
            }
        }
        // `take part in`: an idiom, not a record.
        if word.lower == "part" && words.last().is_some_and(|w| w.lemma == "take") {
            word.tag = Tag::Adv;
        }
        // An unknown word between a subject and its object is a verb we have no entry for
        // (`suppliers quote prices`, `each quote states a price`).
        let next_reading = readings.get(i + 1).map(|(w, _)| w);
        let determiner_follows = matches!(
            next_reading.map(|w| w.tag),
            Some(Tag::Det | Tag::Quant | Tag::Num | Tag::Pron)
        );
        if word.tag == Tag::Noun
            && (LEXICON.field_type(&word.lemma).is_none() || determiner_follows)
        {
            let prev = words.last();
            let next = next_reading.map(|w| w.tag);
            let after_subject = prev.is_some_and(|p| {
                p.tag == Tag::Noun && (p.plural != word.plural || (p.plural && !word.plural))
            });
            // `suppliers quote prices`: a plural subject, a bare word, a plural object.
            let plural_object = !word.plural
                && prev.is_some_and(|p| p.tag == Tag::Noun && p.plural)
                && next_reading.is_some_and(|n| n.tag == Tag::Noun && n.plural);
            // `the work continues`, `something goes wrong`: an `-s` word closing a singular
            // phrase is its verb.
            let intransitive = word.plural
                && prev.is_some_and(|p| p.tag == Tag::Noun && !p.plural)
                && words.len() >= 2
                && matches!(words[words.len() - 2].tag, Tag::Det | Tag::Quant)
                && matches!(next, None | Some(Tag::Punct(_) | Tag::Adv | Tag::Adj));
            let object_follows = matches!(next, Some(Tag::Det | Tag::Quant | Tag::Num | Tag::Pron))
                || plural_object
                || intransitive;
            if after_subject && object_follows && (word.plural || prev.is_none_or(|p| p.plural)) {
                let base = if word.plural {
                    word.lemma.clone()
                } else {
                    word.lower.clone()
                };
                word.tag = Tag::Verb;
                word.lemma = base;
                word.form = Some(if word.plural {
                    VerbForm::Third
                } else {
                    VerbForm::Base
                });
                word.plural = false;
            }
        }
        // `-ing` and `-ed` words before a noun modify it (`the returning customer`).
        if word.tag == Tag::Verb
            && matches!(word.form, Some(VerbForm::Gerund))
            && matches!(
                words.last().map(|w| w.tag),
                Some(Tag::Det | Tag::Quant | Tag::Adj | Tag::Poss)
            )
        {
            word = noun(&tokens[i]);
        }
        words.push(word);
    }
    repair_compounds(&mut words, tokens);
    // In a list after `has` or a heading colon (`has a title, start time and ...`), a bare verb
    // form before a noun is part of an item.
    let mut in_list = false;
    for i in 0..words.len() {
        match words[i].tag {
            Tag::Have | Tag::Punct(':' | '-') => in_list = true,
            // `each session logs the entry time, ...`: keeping verbs open a list too.
            Tag::Verb
                if LEXICON
                    .verb(&words[i].lemma)
                    .is_some_and(|v| v.class == VerbClass::Contain)
                    && matches!(words[i].form, Some(VerbForm::Third | VerbForm::Base)) =>
            {
                in_list = true
            }
            Tag::Rel | Tag::Modal => in_list = false,
            Tag::Verb
                if matches!(words[i].form, Some(VerbForm::Base | VerbForm::Third))
                    && in_list
                    && i > 0
                    && matches!(
                        words[i - 1].tag,
                        Tag::Punct(',') | Tag::And | Tag::Det | Tag::Adj
                    )
                    && words.get(i + 1).is_none_or(|n| {
                        matches!(n.tag, Tag::Noun | Tag::Punct(_) | Tag::And | Tag::Or)
                    }) =>
            {
                words[i] = noun(&tokens[i]);
            }
            // `the entry time, the exit time and the fee charged`: a participle after a listed
            // noun only says how it came about.
            Tag::Verb
                if in_list
                    && matches!(words[i].form, Some(VerbForm::Participle | VerbForm::Past))
                    && i > 0
                    && words[i - 1].tag == Tag::Noun
                    && words
                        .get(i + 1)
                        .is_none_or(|n| matches!(n.tag, Tag::Punct(_) | Tag::And | Tag::Or)) =>
            {
                words[i].tag = Tag::Adv;
            }
            Tag::Verb if matches!(words[i].form, Some(VerbForm::Third | VerbForm::Past)) => {
                in_list = false
            }
            _ => {}
        }
    }
    // `Training courses have ...`, `, shipping addresses`: a gerund opening a phrase before a
    // noun is part of the noun.
    for i in 0..words.len() {
        // `a star rating`, `hotel booking API`: inside a phrase too.
        let inside = i > 0
            && matches!(words[i - 1].tag, Tag::Noun | Tag::Det | Tag::Adj)
            && words[i].form == Some(VerbForm::Gerund)
            && words.get(i + 1).is_none_or(|n| {
                matches!(
                    n.tag,
                    Tag::Noun | Tag::Meta | Tag::Punct(_) | Tag::And | Tag::Or
                )
            });
        if inside {
            words[i] = noun(&tokens[i]);
            continue;
        }
        let opens = i == 0
            || matches!(
                words[i - 1].tag,
                Tag::Punct(_) | Tag::And | Tag::Or | Tag::Prep
            );
        if opens
            && words[i].form == Some(VerbForm::Gerund)
            && words.get(i + 1).is_some_and(|n| n.tag == Tag::Noun)
        {
            words[i] = noun(&tokens[i]);
        }
    }
    // `catalog of movies ...`: a sentence that opens with a word and `of` opens with a noun.
    if words.len() > 1
        && words[0].tag == Tag::Verb
        && words[1].lower == "of"
        && !matches!(
            words[0].lemma.as_str(),
            "consist" | "think" | "approve" | "speak" | "hear"
        )
    {
        words[0] = noun(&tokens[0]);
    }
    // `Show: title, ...`: the word before a heading's colon names a record.
    if words.len() > 1 && words[1].is(':') && words[0].tag == Tag::Verb {
        words[0] = noun(&tokens[0]);
    }
    words
}

/// Second look at verbs that stand inside noun phrases and closed-class words that act as
/// verbs: `a track`, `an expected close date`, `each test drive has`, `sales reps own
/// opportunities`, `members like posts`, and unknown `-ed` words (`nested`) as participles.
fn repair_compounds(words: &mut [Word], tokens: &[Token]) {
    for i in 0..words.len() {
        let prev = if i > 0 { Some(words[i - 1].tag) } else { None };
        let before_prev = if i > 1 { Some(words[i - 2].tag) } else { None };
        let next = words.get(i + 1).map(|w| w.tag);
        let w = &words[i];
        if w.tag == Tag::Noun
            && !w.plural
            && w.lower.len() > 4
            && w.lower.ends_with("ed")
            && !w.lower.ends_with("eed")
            && LEXICON.field_type(&w.lower).is_none()
        {
            let stem = w.lower.trim_end_matches("ed").to_string();
            let word = &mut words[i];
            word.tag = Tag::Verb;
            word.form = Some(VerbForm::Participle);
            word.lemma = stem;
            continue;
        }
        if (w.lower == "own" || w.lower == "like")
            && matches!(prev, Some(Tag::Noun | Tag::Modal | Tag::Neg | Tag::Adv))
            && matches!(next, Some(Tag::Noun | Tag::Det | Tag::Quant))
        {
            let word = &mut words[i];
            word.tag = Tag::Verb;
            word.form = Some(VerbForm::Base);
            continue;
        }
        if w.tag != Tag::Verb || !matches!(w.form, Some(VerbForm::Base | VerbForm::Third)) {
            continue;
        }
        // `each one belongs to`, `one may own`: a pronoun-like quantifier is a subject.
        let pronoun_quantifier = prev == Some(Tag::Quant)
            && matches!(
                words[i - 1].lower.as_str(),
                "one" | "each" | "all" | "both" | "some" | "many" | "several" | "others"
            )
            && matches!(next, Some(Tag::Prep | Tag::Det | Tag::Quant | Tag::Num));
        // `an audio file url`: a bare verb form cannot follow a singular noun phrase as its verb
        // (that would take `-s`), so it is part of the phrase.
        let no_agreement = w.form == Some(VerbForm::Base)
            && prev == Some(Tag::Noun)
            && !words[i - 1].plural
            && matches!(
                before_prev,
                Some(
                    Tag::Det
                        | Tag::Quant
                        | Tag::Adj
                        | Tag::Poss
                        | Tag::Num
                        | Tag::Noun
                )
            )
            // Only where the phrase goes on (`an audio file url`); `the offer become an order`
            // is a verb, however it agrees.
            && matches!(next, Some(Tag::Noun | Tag::Meta));
        let after_determiner = !pronoun_quantifier
            && matches!(
                prev,
                Some(Tag::Det | Tag::Quant | Tag::Adj | Tag::Num | Tag::Poss | Tag::Have)
            )
            || (prev == Some(Tag::Prep) && !matches!(words[i - 1].lower.as_str(), "to"));
        let after_participle = prev == Some(Tag::Verb)
            && words[i - 1].form == Some(VerbForm::Participle)
            && matches!(before_prev, Some(Tag::Det | Tag::Quant))
            && next == Some(Tag::Noun);
        // `the manager approves or declines`: a verb agreeing with the noun before it.
        let agrees = w.form == Some(VerbForm::Third)
            && matches!(
                next,
                None | Some(
                    Tag::And
                        | Tag::Or
                        | Tag::Punct(_)
                        | Tag::Rel
                        | Tag::Det
                        | Tag::Quant
                        | Tag::Pron
                )
            );
        let closes_phrase = !agrees
            && prev == Some(Tag::Noun)
            && matches!(
                before_prev,
                Some(Tag::Det | Tag::Quant | Tag::Adj | Tag::Poss | Tag::Verb)
            )
            && (matches!(
                next,
                None | Some(
                    Tag::Have
                        | Tag::Be
                        | Tag::Modal
                        | Tag::Rel
                        | Tag::Punct(_)
                        | Tag::And
                        | Tag::Or
                )
            ) || (next == Some(Tag::Prep)
                && words
                    .get(i + 1)
                    .is_some_and(|n| matches!(n.lower.as_str(), "of" | "for" | "with"))));
        // `authors write posts`: a verb form right before a finite verb is its subject.
        let before_verb = matches!(next, Some(Tag::Modal | Tag::Have | Tag::Be))
            || (next == Some(Tag::Verb)
                && matches!(
                    words.get(i + 1).and_then(|n| n.form),
                    Some(VerbForm::Base | VerbForm::Third | VerbForm::Past)
                )
                && w.form == Some(VerbForm::Third));
        if after_determiner || after_participle || closes_phrase || before_verb || no_agreement {
            words[i] = noun(&tokens[i]);
        }
    }
}

/// Whether a word that may be a noun or a verb is a noun here.
fn reads_as_noun(
    prev: Option<Tag>,
    next: Option<Tag>,
    form: Option<VerbForm>,
    first: bool,
) -> bool {
    match prev {
        Some(Tag::Det | Tag::Quant | Tag::Adj | Tag::Num | Tag::Poss | Tag::Prep | Tag::Have) => {
            return true
        }
        Some(Tag::Modal | Tag::Pron | Tag::Rel | Tag::Neg | Tag::Adv) => return false,
        _ => {}
    }
    match next {
        // A verb is followed by its object or a preposition; a noun by a verb or the end.
        None => true,
        Some(Tag::Verb | Tag::Have | Tag::Be | Tag::Modal | Tag::Rel | Tag::Poss) => true,
        Some(Tag::Punct(_)) => true,
        Some(Tag::And | Tag::Or) => true,
        Some(Tag::Det | Tag::Quant | Tag::Pron | Tag::Num) => false,
        Some(Tag::Noun) => {
            // `members book classes`: after a noun, a plural noun follows a verb. At the start a
            // base form followed by a noun is a compound (`book titles`) or an imperative.
            let verb_here = if first {
                matches!(form, Some(VerbForm::Third))
            } else {
                matches!(prev, Some(Tag::Noun))
            };
            !verb_here
        }
        Some(Tag::Prep) => !matches!(prev, Some(Tag::Noun)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::tokens::sentences;

    fn check(sentence: &str, expected: &str) {
        let tokens = &sentences(sentence)[0];
        let got: Vec<String> = tag(tokens)
            .iter()
            .map(|w| format!("{}/{:?}", w.lower, w.tag))
            .collect();
        assert_eq!(got.join(" "), expected, "{sentence}");
    }

    #[test]
    fn nouns_and_verbs_are_told_apart() {
        check(
            "members book classes",
            "members/Noun book/Verb classes/Noun",
        );
        check(
            "a book has a title",
            "a/Det book/Noun has/Have a/Det title/Noun",
        );
        check(
            "customers place orders",
            "customers/Noun place/Verb orders/Noun",
        );
        check("orders have items", "orders/Noun have/Have items/Noun");
        check(
            "readers comment on posts",
            "readers/Noun comment/Verb on/Prep posts/Noun",
        );
        check(
            "each review has a rating",
            "each/Quant review/Noun has/Have a/Det rating/Noun",
        );
    }
}
