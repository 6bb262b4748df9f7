//! Layer 4, clauses: a sentence's chunks become clauses — subject phrases, a verb group,
//! object phrases and prepositional phrases — with lists (`a, b and c`), relative clauses
//! (`members who join clubs`), headings (`Book: title, isbn`) and `with` lists
//! (`books with a title`). `X of Y` is folded here: `a list of tasks` is `tasks`, `the title of
//! a book` is a title owned by the book, `date of birth` one phrase.

use super::chunks::{Chunk, Count, NounPhrase, VerbGroup};
use super::lexicon::{VerbClass, VerbForm, LEXICON};

/// One clause.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Clause {
    /// The subject list.
    pub subject: Vec<NounPhrase>,
    /// The verb, if any.
    pub verb: Option<VerbGroup>,
    /// The direct objects.
    pub objects: Vec<NounPhrase>,
    /// Prepositional phrases, in order: the preposition and its list.
    pub preps: Vec<(String, Vec<NounPhrase>)>,
    /// `Subject: a, b, c`.
    pub heading: bool,
    /// A relative clause about the phrase before it (`who`, `which`).
    pub relative: bool,
    /// Prepositional phrases inside the subject, before the verb (`a review for a product
    /// has ...`).
    pub subject_preps: Vec<(String, Vec<NounPhrase>)>,
    /// Read from a user story: the subject is its persona (`As a member I want to ...`).
    pub persona: bool,
}

impl Clause {
    fn is_empty(&self) -> bool {
        self.subject.is_empty()
            && self.verb.is_none()
            && self.objects.is_empty()
            && self.preps.is_empty()
    }
}

fn is_field_word(np: &NounPhrase) -> bool {
    let name = np.singular_words().join("_");
    LEXICON.field_type(&name).is_some() || LEXICON.field_type(&np.head).is_some()
}

/// `X of Y` folded into one phrase.
fn fold_of(first: NounPhrase, second: NounPhrase) -> Option<NounPhrase> {
    // `a number of servings`: a count named by what it counts.
    if first.head == "number" && first.words.len() == 1 && second.plural {
        let mut np = second;
        np.type_word = Some("integer".into());
        np.plural = false;
        np.count = Count::Plain;
        return Some(np);
    }
    if LEXICON.noun_is(&first.head, "collection") && first.head != "number" {
        let mut np = second;
        np.count = Count::Many;
        return Some(np);
    }
    // `decks of cards`: two records, linked by the clause layer's reader.
    if first.plural && second.plural && !is_field_word(&first) && !is_field_word(&second) {
        return None;
    }
    // `the title of the book`, `each member of the coworking space`: the second owns the
    // first.
    if ((is_field_word(&first) && !is_field_word(&second) && (second.determined || second.plural))
        || (!is_field_word(&first)
            && !is_field_word(&second)
            && second.determined
            && !second.plural))
        && first.values.is_empty()
    {
        // `the title of the book`
        let mut np = first;
        np.owner = Some(Box::new(second));
        return Some(np);
    }
    // `date of birth`, `number of seats`
    let mut np = first;
    np.words.push("of".into());
    np.words.extend(second.words.iter().cloned());
    np.head = second.head.clone();
    np.plural = false;
    np.values.extend(second.values);
    np.range = np.range.or(second.range);
    Some(np)
}

/// The items of a heading line, split at commas and `and`, each merged into one phrase.
fn heading_items(chunks: &[Chunk]) -> Vec<NounPhrase> {
    let mut items: Vec<NounPhrase> = Vec::new();
    let mut current: Option<NounPhrase> = None;
    let finish = |current: &mut Option<NounPhrase>, items: &mut Vec<NounPhrase>| {
        if let Some(np) = current.take() {
            if !np.words.is_empty() {
                items.push(np);
            }
        }
    };
    for chunk in chunks {
        match chunk {
            Chunk::Comma | Chunk::And | Chunk::Or | Chunk::Colon => {
                finish(&mut current, &mut items)
            }
            Chunk::Noun(np) => match current.as_mut() {
                None => current = Some(np.clone()),
                Some(item) => {
                    item.words.extend(np.words.iter().cloned());
                    item.head = np.head.clone();
                    item.plural = np.plural;
                    item.values.extend(np.values.iter().cloned());
                    item.range = item.range.or(np.range);
                    item.optional |= np.optional;
                    item.unique |= np.unique;
                }
            },
            Chunk::Verb(v) => {
                let item = current.get_or_insert_with(NounPhrase::new);
                let words: Vec<String> = v
                    .words
                    .iter()
                    .filter(|w| LEXICON.closed_class(w).is_none())
                    .cloned()
                    .collect();
                if let Some(last) = words.last() {
                    item.head = last.clone();
                }
                item.words.extend(words);
            }
            Chunk::Prep(p) => {
                if let Some(item) = current.as_mut() {
                    item.words.push(p.clone());
                }
            }
            Chunk::Rel(_) | Chunk::Other(_) => {}
        }
    }
    finish(&mut current, &mut items);
    // A trailing preposition (`quantity on`) is not part of a name, nor are units
    // (`weight in kg`).
    for item in &mut items {
        if let Some(at) = item
            .words
            .iter()
            .position(|w| matches!(w.as_str(), "in" | "per"))
        {
            let rest = &item.words[at + 1..];
            if !rest.is_empty()
                && rest
                    .iter()
                    .all(|w| matches!(LEXICON.closed_class(w), Some("unit" | "meta")))
            {
                item.words.truncate(at);
                item.head = item.words.last().cloned().unwrap_or_default();
            }
        }
        // `started at`, `closed on`: a participle and its preposition name a moment.
        let moment = item.words.len() == 2
            && matches!(item.words[1].as_str(), "at" | "on")
            && item.words[0].ends_with("ed");
        while !moment
            && item
                .words
                .last()
                .is_some_and(|w| LEXICON.closed_class(w) == Some("preposition"))
        {
            item.words.pop();
        }
    }
    items
}

/// `As a member I want to book a class so that ...`: the persona is the subject of the wanted
/// action, and the reason after `so that` is dropped.
fn user_story(chunks: &[Chunk]) -> Option<Vec<Chunk>> {
    let Some(Chunk::Prep(p)) = chunks.first() else {
        return None;
    };
    let Some(Chunk::Noun(persona)) = chunks.get(1) else {
        return None;
    };
    if p != "as" {
        return None;
    }
    let mut i = 2;
    while matches!(chunks.get(i), Some(Chunk::Comma)) {
        i += 1;
    }
    let Some(Chunk::Noun(me)) = chunks.get(i) else {
        return None;
    };
    if !me.pronoun {
        return None;
    }
    i += 1;
    // `want to`, `would like to`, `can`, `need to be able to`
    let mut saw_verb = false;
    while let Some(chunk) = chunks.get(i) {
        match chunk {
            Chunk::Verb(v) if !saw_verb || matches!(v.base.as_str(), "be" | "able") => {
                saw_verb = true;
                if !matches!(
                    v.base.as_str(),
                    "want" | "need" | "like" | "wish" | "be" | "have"
                ) && !v.modal
                {
                    break;
                }
                if v.modal && !matches!(v.base.as_str(), "want" | "need" | "like" | "be") {
                    break;
                }
            }
            Chunk::Prep(p) if p == "to" => {}
            Chunk::Noun(np) if np.words == ["able"] => {}
            Chunk::Other(_) => {}
            _ => break,
        }
        i += 1;
    }
    // `I want each bill item to record ...`: the wish is about that record, not the persona.
    if let (Some(Chunk::Noun(record)), Some(Chunk::Prep(to)), Some(Chunk::Verb(_))) =
        (chunks.get(i), chunks.get(i + 1), chunks.get(i + 2))
    {
        if to == "to" && !record.pronoun {
            let mut out = vec![Chunk::Noun(record.clone())];
            out.extend(
                chunks[i + 2..]
                    .iter()
                    .take_while(|c| !matches!(c, Chunk::Other(w) if w == "so"))
                    .cloned(),
            );
            return Some(out);
        }
    }
    let mut out = vec![Chunk::Noun(persona.clone())];
    for chunk in &chunks[i..] {
        if matches!(chunk, Chunk::Other(w) if w == "so") {
            break;
        }
        out.push(chunk.clone());
    }
    Some(out)
}

/// `For each agreement we keep the start date and ...`, `For cars we need the make`: what the
/// writer keeps for a record is that record's.
fn kept_for(chunks: &[Chunk]) -> Option<Vec<Chunk>> {
    let [Chunk::Prep(p), Chunk::Noun(record), rest @ ..] = chunks else {
        return None;
    };
    if p != "for" || record.pronoun {
        return None;
    }
    let rest: Vec<&Chunk> = rest
        .iter()
        .skip_while(|c| matches!(c, Chunk::Comma))
        .collect();
    let Some(Chunk::Noun(writer)) = rest.first() else {
        return None;
    };
    if !(writer.pronoun && matches!(writer.head.as_str(), "we" | "i")) {
        return None;
    }
    // Skip `would like to`, `need to`, `want to`: the verb that keeps things comes last.
    let mut i = 1;
    let mut kept = false;
    while let Some(chunk) = rest.get(i) {
        match chunk {
            Chunk::Verb(v) => {
                kept = matches!(
                    v.base.as_str(),
                    "keep"
                        | "store"
                        | "need"
                        | "want"
                        | "track"
                        | "record"
                        | "have"
                        | "save"
                        | "capture"
                        | "log"
                        | "like"
                        | "note"
                );
                i += 1;
            }
            Chunk::Prep(p) if p == "to" => i += 1,
            Chunk::Other(_) => i += 1,
            _ => break,
        }
    }
    if !kept {
        return None;
    }
    let mut out = vec![
        Chunk::Noun(record.clone()),
        Chunk::Verb(VerbGroup {
            base: "have".into(),
            passive: false,
            form: None,
            negated: false,
            modal: false,
            words: vec!["has".into()],
        }),
    ];
    out.extend(rest[i..].iter().map(|c| (*c).clone()));
    Some(out)
}

/// Reads a sentence's chunks into clauses.
pub(crate) fn read(chunks: &[Chunk]) -> Vec<Clause> {
    if let Some(kept) = kept_for(chunks) {
        return read_plain(&kept);
    }
    if let Some(story) = user_story(chunks) {
        let mut clauses = read_plain(&story);
        if let Some(first) = clauses.first_mut() {
            first.persona = true;
        }
        return clauses;
    }
    read_plain(chunks)
}

fn read_plain(chunks: &[Chunk]) -> Vec<Clause> {
    // Fold `X of Y` first.
    let mut folded: Vec<Chunk> = Vec::new();
    let mut i = 0;
    while i < chunks.len() {
        if let (Some(Chunk::Prep(p)), Some(Chunk::Noun(second))) =
            (chunks.get(i), chunks.get(i + 1))
        {
            // `a duration in minutes`, `a price per night`: the unit joins the name.
            let unit = LEXICON.closed_class(&second.head) == Some("unit")
                || (p == "per" && second.words.len() == 1 && !second.plural && !second.determined);
            if (p == "in" || p == "per") && unit && second.words.len() <= 2 {
                if let Some(Chunk::Noun(first)) = folded.last_mut() {
                    if !first.pronoun && is_field_word(first) {
                        if p == "per" {
                            first.words.push("per".into());
                        }
                        first.words.extend(second.words.iter().cloned());
                        i += 2;
                        continue;
                    }
                }
            }
            if p == "of" {
                if let Some(Chunk::Noun(first)) = folded.last().cloned() {
                    if let Some(np) = fold_of(first, second.clone()) {
                        folded.pop();
                        folded.push(Chunk::Noun(np));
                        i += 2;
                        continue;
                    }
                }
            }
        }
        folded.push(chunks[i].clone());
        i += 1;
    }
    let chunks = folded;

    // A heading: one phrase, then a colon, before any verb.
    let colon = chunks.iter().position(|c| matches!(c, Chunk::Colon));
    if let Some(at) = colon {
        let before: Vec<&Chunk> = chunks[..at].iter().collect();
        let nouns: Vec<&NounPhrase> = before
            .iter()
            .filter_map(|c| match c {
                Chunk::Noun(np) => Some(np),
                _ => None,
            })
            .collect();
        if nouns.len() == 1 && !before.iter().any(|c| matches!(c, Chunk::Verb(_))) {
            let mut clause = Clause {
                subject: vec![nouns[0].clone()],
                heading: true,
                ..Clause::default()
            };
            // `Book: title, isbn, started at`: a list of items, each read whole whatever its
            // words' parts of speech, unless the line reads on as a sentence (`Book: has a title`).
            let after = &chunks[at + 1..];
            let sentence = matches!(after.first(), Some(Chunk::Verb(v)) if v.passive
                || v.base == "have"
                || v.base == "be"
                || LEXICON.verb(&v.base).is_some_and(|verb| matches!(verb.class, VerbClass::Contain | VerbClass::Belong)));
            // `music app: artists have albums, albums have tracks` reads on too.
            let clause_like = after.windows(2).any(|pair| {
                matches!(pair, [Chunk::Noun(_), Chunk::Verb(v)] if (v.base == "have" || v.base == "be" || !matches!(v.form, Some(VerbForm::Participle | VerbForm::Gerund))))
            });
            let meta_heading = LEXICON.closed_class(&nouns[0].head) == Some("meta");
            // `news: articles by authors in sections`: plural records after the colon make the
            // heading a name for the app.
            let first_item = after.iter().find_map(|c| match c {
                Chunk::Noun(np) => Some(np),
                _ => None,
            });
            let records_follow = !nouns[0].plural
                && first_item.is_some_and(|np| np.plural && !is_field_word(np))
                && after.iter().any(|c| matches!(c, Chunk::Prep(_)));
            if !sentence && !clause_like && !meta_heading && !records_follow {
                clause.objects = heading_items(after);
                return vec![clause];
            }
            let rest = read(after);
            if records_follow || meta_heading {
                // `Entities: teams, players, matches` is a list of records.
                if let [only] = rest.as_slice() {
                    if only.verb.is_none() && only.preps.is_empty() && only.objects.is_empty() {
                        clause.objects = only.subject.clone();
                        return vec![clause];
                    }
                }
                let mut out = vec![clause];
                out.extend(rest);
                return out;
            }
            // `Book: has a title` reads on; `Book: title, isbn` is a list.
            if rest
                .iter()
                .any(|c| c.verb.is_some() && !c.subject.is_empty())
                || rest.len() > 1
            {
                let mut out = vec![clause.clone()];
                for mut c in rest {
                    if c.subject.is_empty() {
                        c.subject = clause.subject.clone();
                    }
                    out.push(c);
                }
                return out;
            }
            if let Some(only) = rest.into_iter().next() {
                if only.verb.is_some() {
                    let mut c = only;
                    if c.subject.is_empty() {
                        c.subject = clause.subject.clone();
                    }
                    return vec![c];
                }
                clause.objects = only.subject;
                clause.objects.extend(only.objects);
                clause.preps = only.preps;
            }
            return vec![clause];
        }
    }

    let mut out: Vec<Clause> = Vec::new();
    let mut current = Clause::default();
    let mut in_prep = false;
    let mut last_np: Option<NounPhrase> = None;
    // Whether a phrase came since the last list boundary (`,`, `and`), and whether the last
    // phrase of a prepositional list opened after such a boundary.
    let mut after_boundary = true;
    let mut listed_in_prep = false;
    // The clause a relative clause interrupted, by its place in `out`, to go back to after
    // the relative clause's comma (`a serial number that must be unique, a kind ...`).
    let mut outer: Option<usize> = None;
    for (i, chunk) in chunks.iter().enumerate() {
        match chunk {
            Chunk::Noun(np) => {
                listed_in_prep = in_prep
                    && after_boundary
                    && current.preps.last().is_some_and(|(_, l)| !l.is_empty());
                if current.verb.is_none() && !in_prep {
                    current.subject.push(np.clone());
                } else if in_prep {
                    if let Some((_, list)) = current.preps.last_mut() {
                        list.push(np.clone());
                    }
                } else {
                    current.objects.push(np.clone());
                }
                last_np = Some(np.clone());
                after_boundary = false;
            }
            Chunk::Prep(p) => {
                // `several wishlists, each with a name`: the list after `with` describes the
                // object just named, not the subject.
                let owner = current.objects.iter().rev().find(|np| !np.pronoun).cloned();
                // `readers leave comments on posts with a body`: still the comments.
                let made = current.verb.as_ref().is_some_and(|v| {
                    LEXICON.verb(&v.base).is_some_and(|verb| {
                        matches!(
                            verb.class,
                            VerbClass::Own | VerbClass::Assoc | VerbClass::Contain
                        )
                    })
                });
                if p == "with" && current.verb.is_some() && (!in_prep || made) && owner.is_some() {
                    // `viewers review a title with a score`: the score is the review's; an
                    // event verb's noun carries what the `with` list gives.
                    let event = current
                        .verb
                        .as_ref()
                        .and_then(|v| LEXICON.verb(&v.base))
                        .filter(|v| v.class == VerbClass::Assoc)
                        .and_then(|v| v.nouns.first().cloned());
                    let subject: Vec<NounPhrase> = match event {
                        Some(noun) => {
                            let mut np = NounPhrase::new();
                            np.words = vec![noun.clone()];
                            np.head = noun;
                            np.determined = true;
                            vec![np]
                        }
                        None => owner.into_iter().collect(),
                    };
                    current.objects.retain(|np| !np.pronoun);
                    out.push(std::mem::take(&mut current));
                    current.subject = subject;
                }
                current.preps.push((p.clone(), Vec::new()));
                in_prep = true;
            }
            Chunk::Comma if current.relative && current.verb.is_some() && outer.is_some() => {
                if let Some(at) = outer.take() {
                    let relative = std::mem::take(&mut current);
                    current = out.remove(at);
                    out.push(relative);
                    in_prep = !current.preps.is_empty() && current.objects.is_empty();
                    after_boundary = true;
                }
            }
            Chunk::And | Chunk::Or | Chunk::Comma => {
                after_boundary = true;
                // `invoices per subscription, subscriptions per plan`: a new verbless phrase.
                let new_phrase = matches!(chunks.get(i + 1), Some(Chunk::Noun(_)))
                    && matches!(chunks.get(i + 2), Some(Chunk::Prep(p)) if p != "of" && p != "with");
                if matches!(chunk, Chunk::Comma)
                    && new_phrase
                    && current.verb.is_none()
                    && !current.preps.is_empty()
                {
                    out.push(std::mem::take(&mut current));
                    in_prep = false;
                }
            }
            Chunk::Rel(_) => {
                let antecedent = last_np.clone();
                outer = None;
                if !current.is_empty() {
                    if current.verb.is_some() && !current.relative {
                        outer = Some(out.len());
                    }
                    out.push(std::mem::take(&mut current));
                }
                current.relative = true;
                current.subject = antecedent.into_iter().collect();
                in_prep = false;
            }
            Chunk::Verb(group) => {
                if current.verb.is_some() {
                    outer = None;
                }
                let verbless_list =
                    current.verb.is_none() && in_prep && listed_in_prep && !after_boundary;
                if current.verb.is_some()
                    || verbless_list
                    || (current.subject.is_empty() && !out.is_empty() && current.relative)
                {
                    // A new clause: its subject is the phrase just before the verb, or the
                    // previous clause's subject when there is none (`... and belong to`).
                    let mut subject = Vec::new();
                    if !after_boundary {
                        if in_prep {
                            if let Some((_, list)) = current.preps.last_mut() {
                                subject.extend(list.pop());
                            }
                        } else {
                            subject.extend(current.objects.pop());
                        }
                    }
                    if subject.is_empty() {
                        subject = current.subject.clone();
                    }
                    let prev_relative = current.relative;
                    let inherited = subject.is_empty() || subject == current.subject;
                    let prev_modal = current.verb.as_ref().is_some_and(|v| v.modal);
                    out.push(std::mem::take(&mut current));
                    current.subject = subject;
                    if inherited && prev_modal {
                        // `agents may view orders and issue refunds`: the modal covers both.
                        let mut group = group.clone();
                        group.modal = true;
                        current.verb = Some(group);
                        in_prep = false;
                        after_boundary = true;
                        continue;
                    }
                    if prev_relative && current.subject.is_empty() {
                        current.subject = out.last().map(|c| c.subject.clone()).unwrap_or_default();
                    }
                }
                if current.verb.is_none()
                    && !current.subject.is_empty()
                    && !current.preps.is_empty()
                {
                    // `with` lists stay where the reader looks for fields.
                    let (with, others): (Vec<_>, Vec<_>) = std::mem::take(&mut current.preps)
                        .into_iter()
                        .partition(|(p, _)| p == "with" || p == "including");
                    current.preps = with;
                    current.subject_preps = others;
                }
                current.verb = Some(group.clone());
                in_prep = false;
                after_boundary = true;
            }
            Chunk::Colon => {
                // `every customer has one online profile: username, ...`: the list after the
                // colon describes the object just named.
                if current.verb.is_some() && !in_prep {
                    if let Some(owner) = current.objects.last().cloned().filter(|np| !np.pronoun) {
                        out.push(std::mem::take(&mut current));
                        current.subject = vec![owner];
                        current.verb = Some(VerbGroup {
                            base: "have".into(),
                            passive: false,
                            form: None,
                            negated: false,
                            modal: false,
                            words: Vec::new(),
                        });
                    }
                }
                after_boundary = true;
            }
            Chunk::Other(_) => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{chunks::chunk, pos::tag, tokens::sentences};

    fn clauses(s: &str) -> Vec<Clause> {
        read(&chunk(&tag(&sentences(s)[0])))
    }

    fn heads(list: &[NounPhrase]) -> Vec<&str> {
        list.iter().map(|np| np.head.as_str()).collect()
    }

    #[test]
    fn subjects_verbs_objects_and_preps() {
        let c = clauses("attendees buy tickets for events");
        assert_eq!(heads(&c[0].subject), ["attendee"]);
        assert_eq!(c[0].verb.as_ref().map(|v| v.base.as_str()), Some("buy"));
        assert_eq!(heads(&c[0].objects), ["ticket"]);
        assert_eq!(c[0].preps[0].0, "for");
        assert_eq!(heads(&c[0].preps[0].1), ["event"]);
    }

    #[test]
    fn coordinated_and_relative_clauses() {
        let c = clauses("books have a title and belong to a publisher");
        assert_eq!(c.len(), 2);
        assert_eq!(heads(&c[1].subject), ["book"]);
        let c = clauses("students take courses and teachers grade them");
        assert_eq!(heads(&c[1].subject), ["teacher"]);
        let c = clauses("an employee reports to a manager who is an employee");
        assert!(c[1].relative);
        assert_eq!(heads(&c[1].subject), ["manager"]);
    }

    #[test]
    fn headings_and_of() {
        let c = clauses("Book: title, isbn, price");
        assert!(c[0].heading);
        assert_eq!(heads(&c[0].objects), ["title", "isbn", "price"]);
        let c = clauses("a user has a list of tasks and a date of birth");
        assert_eq!(c[0].objects[0].head, "task");
        assert_eq!(c[0].objects[1].words.join("_"), "date_of_birth");
    }
}
