//! Layer 5, meaning: clauses become entities, fields and links, each decision that could have
//! gone another way noted as a diagnostic.
//!
//! Two passes. The first weighs every noun phrase as a possible entity by where it stands
//! (subject, heading, object of a linking verb, after `belongs to`), so a thing named only as an
//! object (`held in a room`) is found. The second reads each clause by its verb's class from
//! `tables/verbs.txt`: `has`/`records` give fields or children, `belongs to` and passives give
//! parents, `own` verbs give the object to the subject, `assoc` verbs join subject and object
//! through an event entity when the prompt names one (`students borrow laptops; each checkout
//! ...`), and a verb with both an object and a prepositional object makes the object the link
//! (`attendees buy tickets for events`).

use codebegen_schema::names::snake_case;
use codebegen_schema::{Diagnostic, FieldType, RelationKind};

use super::chunks::{Count, NounPhrase};
use super::clauses::Clause;
use super::lexicon::{VerbClass, LEXICON};

/// A link between two entities, by key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkDraft {
    pub kind: RelationKind,
    pub from: String,
    pub to: String,
    pub required: bool,
    /// A foreign-key stem (`parent`, `author`).
    pub hint: Option<String>,
    /// Guessed from a plain verb; a stated link on the same pair wins.
    pub weak: bool,
}

impl LinkDraft {
    /// A many-to-one link.
    pub fn many_to_one(from: &str, to: &str, required: bool) -> LinkDraft {
        LinkDraft {
            kind: RelationKind::ManyToOne,
            from: from.into(),
            to: to.into(),
            required,
            hint: None,
            weak: false,
        }
    }
}

/// A field as read, before it is typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldDraft {
    pub phrase: NounPhrase,
    pub name: String,
}

/// One entity as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntityDraft {
    /// snake_case singular key (`shipment_line`).
    pub key: String,
    pub fields: Vec<FieldDraft>,
}

/// What the prompt means.
#[derive(Debug, Default)]
pub(crate) struct Meaning {
    pub entities: Vec<EntityDraft>,
    pub links: Vec<LinkDraft>,
    pub notes: Vec<Diagnostic>,
    /// People who only appear as who may do what (`support agents may view orders`) while
    /// login is on: roles, not records.
    pub roles: Vec<String>,
}

/// Adjectives that say how a field is kept, not what it is, left out of its name.
const NAME_DROPPED_ADJECTIVES: &[&str] = &[
    "optional",
    "required",
    "mandatory",
    "unique",
    "distinct",
    "new",
    "own",
    "other",
    "various",
    "specific",
    "certain",
    "individual",
    "personal",
    "short",
    "brief",
    "small",
    "simple",
    "basic",
    "free",
    "main",
    "registered",
    "existing",
    "same",
    "different",
    "separate",
];

/// Schema words that may follow a record's name (`a Comment entity`).
const SCHEMA_WORDS: &[&str] = &[
    "entity",
    "entities",
    "model",
    "models",
    "table",
    "tables",
    "resource",
    "resources",
    "object",
    "objects",
    "record",
    "records",
];

/// Words that only stand in for the project or for records in general.
fn is_meta(np: &NounPhrase) -> bool {
    if SCHEMA_WORDS.contains(&np.head.as_str())
        && np.words.iter().any(|w| LEXICON.closed_class(w).is_none())
    {
        return false;
    }
    matches!(LEXICON.closed_class(&np.head), Some("meta" | "unit"))
        || np
            .words
            .iter()
            .all(|w| LEXICON.closed_class(w) == Some("meta"))
        || matches!(np.head.as_str(), "user_story" | "story" | "i")
}

fn key_of(np: &NounPhrase) -> String {
    let mut words: Vec<String> = np
        .singular_words()
        .into_iter()
        .filter(|w| LEXICON.closed_class(w) != Some("meta") && w != "of")
        .collect();
    // `book fields: ...`, `the users table`: schema words after a name.
    while words.len() > 1
        && words
            .last()
            .is_some_and(|w| matches!(w.as_str(), "field" | "table" | "column" | "attribute"))
    {
        words.pop();
    }
    // `a parent ledger account`, `an earlier comment` name another record of the same kind.
    while words.len() > 1 && SELF_MODIFIERS.contains(&words[0].as_str()) {
        words.remove(0);
    }
    snake_case(&words.join(" "))
}

/// Words before a record's name that point to another record of the same kind.
const SELF_MODIFIERS: &[&str] = &[
    "parent",
    "earlier",
    "original",
    "previous",
    "next",
    "older",
    "newer",
    "later",
    "prior",
    "preceding",
    "following",
];

/// Whether values in parentheses after a phrase are its fields (`drivers (name, licence
/// number, phone)`) rather than the values of an enum (`status (open, closed)`).
fn values_are_fields(np: &NounPhrase) -> bool {
    let field_like = np
        .values
        .iter()
        .filter(|v| {
            let last = v.split_whitespace().last().unwrap_or_default();
            LEXICON.field_type(&snake_case(v)).is_some() || LEXICON.field_type(last).is_some()
        })
        .count();
    // `addresses (street, city, postcode)`: a plural record whose values name fields.
    !np.values.is_empty()
        && (LEXICON.field_type(&np.head).is_none()
            || (np.plural && field_like * 2 >= np.values.len()))
        && (np.plural || field_like * 2 >= np.values.len())
}

fn is_field_phrase(np: &NounPhrase) -> bool {
    if np.named && np.values.is_empty() {
        return false;
    }
    // `a Comment entity` names a record whatever its words.
    if np.words.len() > 1
        && np
            .words
            .last()
            .is_some_and(|w| SCHEMA_WORDS.contains(&w.as_str()))
    {
        return false;
    }
    np.flag
        || (!np.values.is_empty() && !values_are_fields(np))
        || np.range.is_some()
        || np.type_word.is_some()
        || LEXICON.field_type(&key_of(np)).is_some()
        || LEXICON.field_type(&np.head).is_some()
        || np
            .words
            .last()
            .is_some_and(|w| LEXICON.field_type(w).is_some())
        || np.words.iter().any(|w| w == "of")
}

/// Evidence that each phrase names an entity, with the first reason that counted.
#[derive(Default)]
struct Weights {
    scores: Vec<(String, i32)>,
    reasons: Vec<(String, &'static str)>,
}

impl Weights {
    fn add(&mut self, np: &NounPhrase, score: i32, reason: &'static str) {
        if score > 0 && !np.pronoun && !is_meta(np) {
            let key = key_of(np);
            if !self.reasons.iter().any(|(k, _)| *k == key) {
                self.reasons.push((key, reason));
            }
        }
        self.add_score(np, score);
    }

    fn reason(&self, key: &str) -> &'static str {
        self.reasons
            .iter()
            .find(|(k, _)| k == key)
            .map_or("it is named", |(_, r)| r)
    }

    fn add_score(&mut self, np: &NounPhrase, score: i32) {
        if np.pronoun || is_meta(np) || np.head.is_empty() || np.flag {
            return;
        }
        let key = key_of(np);
        if key.is_empty() {
            return;
        }
        match self.scores.iter_mut().find(|(k, _)| *k == key) {
            Some((_, s)) => *s += score,
            None => self.scores.push((key, score)),
        }
    }
}

/// Whether a clause describes the app itself: verbless, and the first clause of the prompt or
/// one whose subject is a word for software (`a blog platform with users, posts and tags`).
fn app_clause(clause: &Clause, all: &[&Clause]) -> bool {
    clause.verb.is_none()
        && (all
            .first()
            .is_some_and(|first| std::ptr::eq(*first, clause))
            || clause.subject.iter().any(|np| {
                np.words
                    .iter()
                    .any(|w| LEXICON.closed_class(w) == Some("meta"))
            }))
}

/// Whether a phrase names people (`members`, `support agents`, `the owner`).
fn is_person(np: &NounPhrase) -> bool {
    is_person_word(&np.head)
}

/// Whether a noun names people: in the person or role tables, or an agent noun (`-er`,
/// `-or`, `-ist`, `-ant`, `-ent`).
fn is_person_word(head: &str) -> bool {
    LEXICON.noun_is(head, "person")
        || LEXICON.noun_is(head, "role")
        || ["er", "or", "ist", "ant", "ent"]
            .iter()
            .any(|x| head.ends_with(x))
}

/// Verbs by which the writer says the app keeps records (`we track expenses`).
fn keeps_records(verb: &str) -> bool {
    matches!(
        verb,
        "keep"
            | "store"
            | "track"
            | "record"
            | "manage"
            | "list"
            | "catalog"
            | "catalogue"
            | "log"
            | "save"
            | "have"
            | "need"
            | "want"
    )
}

/// Verbs by which a sentence about the writer still speaks of data (`we sell plants`).
fn keeps_data(verb: &str) -> bool {
    keeps_records(verb) || matches!(verb, "like" | "sell" | "rent" | "run" | "host")
}

/// Words for the writer's own organisation (`our sales team`).
fn writer_words(np: &NounPhrase) -> bool {
    matches!(
        np.head.as_str(),
        "team"
            | "company"
            | "business"
            | "startup"
            | "organisation"
            | "organization"
            | "agency"
            | "firm"
    )
}

/// Prepositions that link a record to another without a verb (`articles by authors in
/// sections`, `invoices per subscription`, `decks of cards`).
fn is_linking_prep(prep: &str) -> bool {
    matches!(
        prep,
        "by" | "in" | "at" | "on" | "under" | "for" | "from" | "per" | "of" | "within" | "inside"
    )
}

fn verb_class(clause: &Clause) -> Option<VerbClass> {
    let verb = clause.verb.as_ref()?;
    match verb.base.as_str() {
        "have" => Some(VerbClass::Contain),
        "be" => None,
        base => Some(
            LEXICON
                .verb(base)
                .map(|v| v.class)
                .unwrap_or(VerbClass::Other),
        ),
    }
}

fn is_auth_clause(clause: &Clause) -> bool {
    verb_class(clause) == Some(VerbClass::Auth)
}

/// Reads clauses (one list per sentence) into entities, fields and links.
pub(crate) fn read(sentences: &[Vec<Clause>], roles: &[String], auth_enabled: bool) -> Meaning {
    let clauses: Vec<&Clause> = sentences.iter().flatten().collect();
    let mut weights = Weights::default();
    // Keys seen as the subject of a permission (`admins can ...`) and keys seen anywhere else.
    let mut permission_subjects: Vec<String> = Vec::new();
    let mut other_uses: Vec<String> = Vec::new();
    for clause in &clauses {
        let permission = clause
            .verb
            .as_ref()
            .is_some_and(|v| v.modal && !v.passive && v.base != "have" && v.base != "be")
            || is_auth_clause(clause);
        for np in &clause.subject {
            let key = key_of(np);
            if permission && !clause.heading {
                permission_subjects.push(key);
            } else {
                other_uses.push(key);
            }
        }
        // `each user is either an owner or a member` names kinds, not uses.
        let naming_kinds = clause.verb.as_ref().is_some_and(|v| v.base == "be");
        for np in clause.objects.iter().filter(|_| !naming_kinds).chain(
            clause
                .preps
                .iter()
                .chain(&clause.subject_preps)
                .flat_map(|(_, l)| l),
        ) {
            other_uses.push(key_of(np));
        }
    }
    // Sentences about the writer (`We're a distributor and our sales team lives in
    // spreadsheets`, `I'm building a marketplace where ...`): nothing in them is data unless
    // the writer keeps it.
    let writer_clauses: Vec<*const Clause> = sentences
        .iter()
        .filter(|sentence| {
            sentence.first().is_some_and(|first| {
                first
                    .subject
                    .iter()
                    .any(|np| np.pronoun && matches!(np.head.as_str(), "we" | "i"))
                    && !first.verb.as_ref().is_some_and(|v| keeps_data(&v.base))
            })
        })
        .flatten()
        .map(|c| c as *const Clause)
        .collect();
    for clause in &clauses {
        if is_auth_clause(clause) {
            continue;
        }
        let writer_sentence = writer_clauses.contains(&(*clause as *const Clause));
        let class = verb_class(clause);
        let linking_preps = clause
            .preps
            .iter()
            .any(|(p, l)| is_linking_prep(p) && !l.is_empty());
        // `we sell software to companies`: what the writer does is not data, unless they keep it.
        let first_person = clause.subject.iter().any(|np| {
            (np.pronoun && matches!(np.head.as_str(), "we" | "i" | "you" | "us"))
                || (np.possessive && np.words.len() <= 3 && !np.plural && writer_words(np))
        }) || writer_sentence;
        let keeps = clause.verb.as_ref().is_some_and(|v| keeps_records(&v.base));
        let object_cap = if first_person && !keeps { 1 } else { 3 };
        // A persona is a record only when the wanted action gives it something to own.
        let persona_acts = clause.persona
            && matches!(class, Some(VerbClass::Own | VerbClass::Assoc))
            && !clause.objects.is_empty();
        let subject_weight = match (clause.heading, class, &clause.verb) {
            // `our sales team lives in spreadsheets` in a sentence about the writer.
            _ if writer_sentence && !keeps => 1,
            _ if clause.persona => {
                if persona_acts {
                    2
                } else {
                    1
                }
            }
            (true, _, _) => 3,
            (_, _, None) if linking_preps => 2,
            // `a menu with dishes`: what holds records is a record.
            (_, _, None)
                if clause.preps.iter().any(|(p, l)| {
                    p == "with" && l.iter().any(|np| np.is_many() && !is_field_phrase(np))
                }) =>
            {
                2
            }
            // A bullet that is only a list of records with their fields.
            (_, _, None)
                if clause.subject.len() == 1
                    && clause.subject.iter().all(|np| {
                        values_are_fields(np)
                            || (np.plural && clause.preps.iter().any(|(p, _)| p == "with"))
                    }) =>
            {
                3
            }
            (_, _, None) => 1,
            (_, Some(VerbClass::Other), _) => 2,
            _ => 3,
        };
        for np in &clause.subject {
            // `companies post jobs`: a plural doer is a record even when its word can name a
            // field.
            let doer = np.plural
                && matches!(
                    class,
                    Some(VerbClass::Own | VerbClass::Assoc | VerbClass::Place | VerbClass::Belong)
                );
            // `a photo with its caption, aperture and ISO`: what has fields is a record.
            let described = clause.verb.is_none()
                && !np.pronoun
                && !app_clause(clause, &clauses)
                && clause.preps.iter().any(|(p, l)| {
                    p == "with" && l.iter().any(|item| is_field_phrase(item) && !item.plural)
                });
            if described {
                weights.add(np, 3, "it is described with fields");
                continue;
            }
            // `catalog of movies and their directors`, `podcasts, episodes, hosts`: a first
            // line that only lists plural nouns lists records.
            if clause.verb.is_none()
                && np.is_many()
                && !is_field_phrase(np)
                && app_clause(clause, &clauses)
                && clause.preps.is_empty()
                && clause.subject.iter().filter(|np| np.is_many()).count() >= 2
            {
                weights.add(np, 2, "the first line lists it");
                continue;
            }
            if doer
                || !(is_field_phrase(np) && !clause.heading && class != Some(VerbClass::Contain))
            {
                weights.add(np, subject_weight, "it is the subject of a sentence");
            }
            if let Some(owner) = &np.owner {
                // `the courier's name` is a field of what is being described, unless the
                // courier is a record elsewhere.
                weights.add(
                    owner,
                    if is_field_phrase(np) { 1 } else { 2 },
                    "something is its own",
                );
            }
        }
        let meta_heading = clause.subject.iter().all(is_meta);
        for np in &clause.objects {
            let weight = match class {
                _ if clause.heading && meta_heading => 3,
                _ if clause.heading && np.is_many() && !is_field_phrase(np) => 1,
                _ if clause.heading => 0,
                Some(VerbClass::Contain)
                    if (np.is_many() || np.count == Count::One || values_are_fields(np))
                        && !is_field_phrase(np) =>
                {
                    2
                }
                Some(VerbClass::Contain) => 0,
                Some(VerbClass::Own | VerbClass::Assoc) => {
                    if is_field_phrase(np) && !np.plural {
                        0
                    } else {
                        2
                    }
                }
                Some(VerbClass::Place | VerbClass::Belong | VerbClass::Other | VerbClass::Join) => {
                    if is_field_phrase(np) {
                        0
                    } else {
                        2
                    }
                }
                None => 0,
                Some(VerbClass::Auth) => 0,
            };
            // `make it faster`: a bare singular object of a command is not a record.
            let bare = clause.subject.is_empty() && !np.determined && !np.is_many();
            weights.add(
                np,
                if bare {
                    weight.min(1)
                } else {
                    weight.min(object_cap)
                },
                "it is the object of a verb",
            );
            if let Some(owner) = &np.owner {
                // `the courier's name` is a field of what is being described, unless the
                // courier is a record elsewhere.
                weights.add(
                    owner,
                    if is_field_phrase(np) { 1 } else { 2 },
                    "something is its own",
                );
            }
        }
        for (prep, list) in clause.preps.iter().chain(&clause.subject_preps) {
            let linking = prep == "of"
                || prep == "per"
                || matches!(
                    prep.as_str(),
                    "to" | "in"
                        | "into"
                        | "under"
                        | "for"
                        | "at"
                        | "on"
                        | "from"
                        | "by"
                        | "within"
                        | "inside"
                        | "through"
                        | "via"
                        | "between"
                        | "among"
                        | "about"
                );
            for np in list {
                let weight = if prep == "with"
                    && (meta_heading || clause.verb.is_none())
                    && (!is_field_phrase(np) || (np.plural && np.values.is_empty()))
                    && (clause.subject.iter().all(is_meta) || app_clause(clause, &clauses))
                {
                    3
                } else if (prep == "with"
                    && clause.verb.is_none()
                    && np.is_many()
                    && !is_field_phrase(np))
                    || (linking
                        && !is_field_phrase(np)
                        && (clause.verb.is_some()
                            || np.plural
                            || prep == "of"
                            || prep == "per"
                            || prep == "by"))
                {
                    2
                } else {
                    0
                };
                weights.add(np, weight, "a preposition links it");
            }
        }
    }
    // `a team leader, who is also a volunteer`, `subtasks, which are tasks themselves`, `a band
    // is stored as an artist too`: another name for a record of the same kind.
    let mut aliases: Vec<(String, String)> = Vec::new();
    for clause in &clauses {
        let Some(verb) = clause.verb.as_ref() else {
            continue;
        };
        let marked = clause.relative
            || verb
                .words
                .iter()
                .any(|w| matches!(w.as_str(), "also" | "too"))
            || (verb.passive && clause.preps.iter().any(|(p, _)| p == "as"));
        if !marked || verb.negated {
            continue;
        }
        let other: Option<&NounPhrase> = if verb.base == "be" {
            clause.objects.first()
        } else if verb.passive {
            clause
                .preps
                .iter()
                .find(|(p, _)| p == "as")
                .and_then(|(_, l)| l.first())
        } else {
            None
        };
        if let ([one], Some(other)) = (clause.subject.as_slice(), other) {
            if one.pronoun || other.pronoun || is_field_phrase(other) || is_meta(other) {
                continue;
            }
            let (from, to) = (key_of(one), key_of(other));
            if from != to && !aliases.iter().any(|(f, _)| *f == from) {
                aliases.push((from, to));
            }
        }
    }
    for (from, to) in &aliases {
        let moved = weights
            .scores
            .iter()
            .find(|(k, _)| k == from)
            .map_or(0, |(_, s)| *s);
        if let Some((_, score)) = weights.scores.iter_mut().find(|(k, _)| k == to) {
            *score += moved.max(2);
        } else {
            weights.scores.push((to.clone(), moved.max(2)));
        }
        if let Some((_, score)) = weights.scores.iter_mut().find(|(k, _)| k == from) {
            *score = i32::MIN / 2;
        }
    }
    // `Eyepieces and cameras are not important for now`: said not to matter.
    for clause in &clauses {
        let negated = clause.verb.as_ref().is_some_and(|v| {
            v.negated
                && matches!(
                    v.base.as_str(),
                    "be" | "need" | "want" | "track" | "store" | "keep"
                )
        });
        if negated {
            let dropped: Vec<&NounPhrase> = if clause.verb.as_ref().is_some_and(|v| v.base == "be")
            {
                clause.subject.iter().collect()
            } else {
                clause.objects.iter().collect()
            };
            for np in dropped {
                let key = key_of(np);
                if let Some((_, score)) = weights.scores.iter_mut().find(|(k, _)| *k == key) {
                    *score = i32::MIN / 2;
                }
            }
        }
    }
    // `guest artists` is an `artist` unless it stood on its own (a subject or heading).
    let singles: Vec<String> = weights
        .scores
        .iter()
        .filter(|(k, s)| !k.contains('_') && *s >= 2)
        .map(|(k, _)| k.clone())
        .collect();
    // `adoption requests ... every request`: a short name met after the long one refers back
    // to it.
    let order: Vec<String> = weights.scores.iter().map(|(k, _)| k.clone()).collect();
    let position = |k: &str| order.iter().position(|o| o == k).unwrap_or(usize::MAX);
    let mut folded_singles: Vec<String> = Vec::new();
    for (key, score) in &mut weights.scores {
        if let Some(base) = singles.iter().find(|b| key.ends_with(&format!("_{b}"))) {
            if position(key) < position(base) && *score >= 2 {
                folded_singles.push(base.clone());
            } else if *score < 3 {
                *score = 0;
            }
        }
    }
    for (key, score) in &mut weights.scores {
        if folded_singles.contains(key) {
            *score = 0;
        }
    }
    // `people register with real accounts`, `staff accounts`: with login on, accounts are the
    // users themselves.
    if auth_enabled {
        for (key, score) in &mut weights.scores {
            let words: Vec<&str> = key.split('_').collect();
            let account = words.last() == Some(&"account")
                && words.len() > 1
                && words[..words.len() - 1].iter().all(|w| {
                    matches!(*w, "user" | "staff" | "real" | "login" | "personal" | "own")
                });
            if account {
                *score = 0;
            }
        }
    }
    let role_words: Vec<String> = roles.to_vec();
    let mut meaning = Meaning::default();
    for (key, score) in &weights.scores {
        let head = key.rsplit('_').next().unwrap_or(key);
        let person = is_person_word(head);
        if auth_enabled
            && person
            && key != "user"
            && permission_subjects.contains(key)
            && !other_uses.contains(key)
        {
            meaning.notes.push(Diagnostic::info(
                "read_role",
                "auth.roles",
                format!("read `{key}` as a role: the prompt only says what they may do"),
            ));
            meaning.roles.push(key.clone());
            continue;
        }
        if *score >= 2
            && !role_words.iter().any(|r| {
                r == key
                    || r == head
                        && LEXICON.noun_is(head, "role")
                        && !LEXICON.noun_is(head, "person")
            })
        {
            meaning.notes.push(Diagnostic::info(
                "read_entity",
                "entities",
                format!("read `{key}` as a record: {}", weights.reason(key)),
            ));
            meaning.entities.push(EntityDraft {
                key: key.clone(),
                fields: Vec::new(),
            });
        }
    }
    if auth_enabled && !meaning.entities.iter().any(|e| e.key == "user") {
        meaning.entities.push(EntityDraft {
            key: "user".into(),
            fields: Vec::new(),
        });
    }
    for (from, to) in &aliases {
        meaning.notes.push(Diagnostic::info(
            "read_alias",
            "entities",
            format!("read `{from}` as another name for `{to}`"),
        ));
    }
    let mut reader = Reader {
        aliases,
        roles: roles.to_vec(),
        meaning,
        previous_subject: Vec::new(),
    };
    for (s, sentence) in sentences.iter().enumerate() {
        for clause in sentence {
            reader.clause(clause, sentences.get(s + 1));
        }
    }
    reader.finish(&clauses);
    // One note for each reading, however many links it made.
    let mut seen: Vec<String> = Vec::new();
    reader.meaning.notes.retain(|d| {
        let fresh = !seen.contains(&d.message);
        if fresh {
            seen.push(d.message.clone());
        }
        fresh
    });
    reader.meaning
}

struct Reader {
    meaning: Meaning,
    /// Other names for records (`team leader` → `volunteer`).
    aliases: Vec<(String, String)>,
    /// Login roles named by the prompt.
    roles: Vec<String>,
    previous_subject: Vec<String>,
}

impl Reader {
    /// The entity a phrase stands for: its key, or an entity with the same head when only one
    /// has it (`the line` for `shipment_line`).
    fn resolve(&self, np: &NounPhrase) -> Option<String> {
        if np.pronoun {
            return None;
        }
        let mut key = key_of(np);
        if let Some((_, to)) = self.aliases.iter().find(|(from, _)| *from == key) {
            key = to.clone();
        }
        // `assigned to a developer` when developers are a login role: the user.
        if (self.meaning.roles.contains(&key) || self.roles.contains(&key))
            && self.meaning.entities.iter().any(|e| e.key == "user")
        {
            return Some("user".into());
        }
        if self.meaning.entities.iter().any(|e| e.key == key) {
            return Some(key);
        }
        let head = snake_case(&np.head);
        let same_head: Vec<&EntityDraft> = self
            .meaning
            .entities
            .iter()
            .filter(|e| e.key == head || e.key.ends_with(&format!("_{head}")))
            .collect();
        // `each job` after `delivery jobs`: a phrase pointing back.
        if same_head.len() == 1 && (!is_field_phrase(np) || (np.determined && np.values.is_empty()))
        {
            return Some(same_head[0].key.clone());
        }
        // `library members` when `member` is the entity.
        self.meaning
            .entities
            .iter()
            .find(|e| key.ends_with(&format!("_{}", e.key)))
            .map(|e| e.key.clone())
    }

    fn subjects(&mut self, clause: &Clause) -> Vec<String> {
        let mut out = Vec::new();
        for np in &clause.subject {
            // `they`, `it`, `each one` point back; `we` and `I` are the writer.
            let writer = matches!(
                np.head.as_str(),
                "we" | "i" | "you" | "us" | "someone" | "everyone" | "anyone"
            );
            // `we also store its width`: what the writer keeps of the record just described.
            let keeps_fields = verb_class(clause) == Some(VerbClass::Contain)
                && !clause.objects.is_empty()
                && clause.objects.iter().all(is_field_phrase);
            if np.pronoun && (!writer || keeps_fields) {
                out.extend(self.previous_subject.iter().cloned());
            } else if let Some(key) = self.resolve(np) {
                out.push(key);
            }
        }
        if !out.is_empty() {
            self.previous_subject = out.clone();
        }
        out
    }

    fn link(&mut self, kind: RelationKind, from: &str, to: &str, weak: bool, why: String) {
        let draft = LinkDraft {
            kind,
            from: from.into(),
            to: to.into(),
            required: kind == RelationKind::ManyToOne && from != to,
            hint: (from == to).then(|| "parent".to_string()),
            weak,
        };
        if !self.meaning.links.contains(&draft) {
            self.meaning.links.push(draft);
            self.meaning
                .notes
                .push(Diagnostic::info("read_relation", "relations", why));
        }
    }

    fn add_field(&mut self, entity: &str, np: &NounPhrase) {
        // `a published flag` is `published`; `the current balance` keeps its adjective.
        let mut words: Vec<String> = np
            .adjectives
            .iter()
            .filter(|a| !NAME_DROPPED_ADJECTIVES.contains(&a.as_str()))
            .chain(&np.words)
            .cloned()
            .collect();
        let mut np = np.clone();
        if words.len() > 1 && words.last().is_some_and(|w| w == "flag") {
            words.pop();
            np.flag = true;
        }
        let np = &np;
        let name = snake_case(&words.join(" "));
        if name.is_empty() || name.len() > 60 {
            return;
        }
        let Some(e) = self.meaning.entities.iter_mut().find(|e| e.key == entity) else {
            return;
        };
        if let Some(existing) = e.fields.iter_mut().find(|f| f.name == name) {
            if existing.phrase.values.is_empty() && !np.values.is_empty() {
                existing.phrase = np.clone();
            }
            return;
        }
        e.fields.push(FieldDraft {
            phrase: np.clone(),
            name,
        });
    }

    /// The event entity an `assoc` verb names: one of its event nouns, or an entity the next
    /// sentence opens with `each` that nothing links yet.
    fn event_entity(
        &self,
        verb: &str,
        next: Option<&Vec<Clause>>,
        parties: &[&str],
    ) -> Option<String> {
        let nouns = LEXICON
            .verb(verb)
            .map(|v| v.nouns.clone())
            .unwrap_or_default();
        for noun in nouns.iter().chain(std::iter::once(&verb.to_string())) {
            if let Some(e) = self.meaning.entities.iter().find(|e| {
                e.key == *noun
                    || e.key.ends_with(&format!("_{noun}"))
                    || e.key.starts_with(&format!("{noun}_"))
            }) {
                if !parties.contains(&e.key.as_str()) {
                    return Some(e.key.clone());
                }
            }
        }
        let first = next?.first()?;
        let np = first.subject.first()?;
        if np.count != Count::Each
            && !matches!(
                first.verb.as_ref().map(|v| v.base.as_str()),
                Some(
                    "record"
                        | "store"
                        | "have"
                        | "track"
                        | "keep"
                        | "capture"
                        | "include"
                        | "note"
                        | "log"
                )
            )
        {
            return None;
        }
        let key = self.resolve(np)?;
        let linked = self.meaning.links.iter().any(|l| l.from == key);
        (!linked && !parties.contains(&key.as_str())).then_some(key)
    }

    fn clause(&mut self, clause: &Clause, next: Option<&Vec<Clause>>) {
        if is_auth_clause(clause) {
            return;
        }
        let before = self.meaning.links.len();
        self.read_clause(clause, next);
        // `an author can write for several newsletters`, `one item can be supplied by many
        // vendors`: a parent side written with `many` or `several` makes the link shared.
        let many: Vec<String> = clause
            .subject
            .iter()
            .chain(&clause.objects)
            .chain(clause.preps.iter().flat_map(|(_, l)| l))
            .filter(|np| np.count == Count::Many)
            .filter_map(|np| self.resolve(np))
            .collect();
        for link in self.meaning.links.iter_mut().skip(before) {
            if link.kind == RelationKind::ManyToOne
                && link.from != link.to
                && many.contains(&link.to)
            {
                link.kind = RelationKind::ManyToMany;
            }
        }
    }

    fn read_clause(&mut self, clause: &Clause, next: Option<&Vec<Clause>>) {
        // `an employee's training record for a course stores ...`: the subject's own
        // prepositional phrases name its parents.
        if !clause.subject_preps.is_empty() {
            let subjects: Vec<String> = clause
                .subject
                .iter()
                .filter_map(|np| self.resolve(np))
                .collect();
            for (prep, list) in &clause.subject_preps {
                if !matches!(
                    prep.as_str(),
                    "for"
                        | "of"
                        | "in"
                        | "at"
                        | "on"
                        | "per"
                        | "from"
                        | "under"
                        | "inside"
                        | "within"
                ) {
                    continue;
                }
                for np in list {
                    let Some(parent) = self.resolve(np) else {
                        continue;
                    };
                    for s in &subjects {
                        if *s != parent {
                            self.link(
                                RelationKind::ManyToOne,
                                s,
                                &parent,
                                false,
                                format!(
                                    "read \"{s} {prep} {parent}\" as {s} belonging to {parent}"
                                ),
                            );
                        }
                    }
                }
            }
        }
        // `teams and their players`: the possessed belong to the phrase before.
        let lists = [&clause.subject, &clause.objects]
            .into_iter()
            .chain(clause.preps.iter().map(|(_, l)| l));
        for list in lists {
            for pair in list.windows(2) {
                if !pair[1].possessive || pair[1].pronoun {
                    continue;
                }
                if let (Some(owner), Some(owned)) = (self.resolve(&pair[0]), self.resolve(&pair[1]))
                {
                    if owner != owned {
                        self.link(RelationKind::ManyToOne, &owned, &owner, false, format!("read \"{owner} and their {owned}\" as {owned} belonging to {owner}"));
                    }
                }
            }
        }
        // `Playlists and tracks are many-to-many`, `Teams and matches (many-to-many)`.
        let stated = clause
            .objects
            .iter()
            .chain(&clause.subject)
            .flat_map(|np| np.words.iter().chain(&np.values).chain(np.type_word.iter()))
            .find_map(|w| match w.as_str() {
                "many-to-many" | "many_to_many" => Some(RelationKind::ManyToMany),
                "one-to-one" | "one_to_one" => Some(RelationKind::OneToOne),
                _ => None,
            });
        if let Some(kind) = stated {
            let named: Vec<String> = clause
                .subject
                .iter()
                .filter_map(|np| self.resolve(np))
                .collect();
            if let [a, b] = named.as_slice() {
                self.link(
                    kind,
                    a,
                    b,
                    false,
                    format!("read \"{a} and {b}\" as stated: {kind:?}"),
                );
                return;
            }
        }
        let subjects = self.subjects(clause);
        let class = verb_class(clause);
        let verb = clause
            .verb
            .as_ref()
            .map(|v| v.base.clone())
            .unwrap_or_default();
        let passive = clause.verb.as_ref().is_some_and(|v| v.passive);
        // Owners written with `'s` or `of`: `a customer's orders`, `the title of a book`.
        for np in clause
            .subject
            .iter()
            .chain(&clause.objects)
            .chain(clause.preps.iter().flat_map(|(_, l)| l))
        {
            if let Some(owner_np) = np.owner.as_deref().filter(|o| self.resolve(o).is_none()) {
                if is_field_phrase(np)
                    && (clause.heading || verb_class(clause) == Some(VerbClass::Contain))
                {
                    let mut field = np.clone();
                    field.words = owner_np.words.iter().chain(&np.words).cloned().collect();
                    field.owner = None;
                    for s in self.subjects(clause) {
                        self.add_field(&s, &field);
                    }
                }
            }
            if let Some(owner) = np.owner.as_deref().and_then(|o| self.resolve(o)) {
                match self.resolve(np) {
                    Some(child) if child != owner => self.link(
                        RelationKind::ManyToOne,
                        &child,
                        &owner,
                        false,
                        format!(
                            "read \"{}'s {}\" as {child} belonging to {owner}",
                            owner, np.head
                        ),
                    ),
                    Some(_) => {}
                    None if is_field_phrase(np) || clause.verb.is_none() => {
                        self.add_field(&owner, np)
                    }
                    None => {}
                }
            }
        }
        if clause.verb.is_none() && !clause.heading {
            // `articles by authors in sections`: each record belongs to what the preposition
            // names; `decks of cards` gives the cards to the deck.
            for (prep, list) in &clause.preps {
                if !is_linking_prep(prep) {
                    continue;
                }
                let targets: Vec<String> = list.iter().filter_map(|np| self.resolve(np)).collect();
                for s in &subjects {
                    for t in &targets {
                        if s == t {
                            continue;
                        }
                        // `decks of cards` gives the cards to the deck; `bookings of rooms`
                        // names what each booking is of.
                        let event = LEXICON.is_event_noun(s);
                        // `one producer per episode`: each episode has one producer.
                        let one_per =
                            prep == "per" && clause.subject.iter().any(|np| np.count == Count::One);
                        if one_per {
                            self.link(
                                RelationKind::ManyToOne,
                                t,
                                s,
                                false,
                                format!("read \"one {s} per {t}\" as {t} belonging to {s}"),
                            );
                        } else if prep == "of" && !event {
                            self.link(
                                RelationKind::ManyToOne,
                                t,
                                s,
                                false,
                                format!("read \"{s} of {t}\" as {t} belonging to {s}"),
                            );
                        } else {
                            self.link(
                                RelationKind::ManyToOne,
                                s,
                                t,
                                false,
                                format!("read \"{s} {prep} {t}\" as {s} belonging to {t}"),
                            );
                        }
                    }
                }
            }
        }
        // `their own addresses (street, city, postcode)`: values listed after a record are
        // its fields.
        for np in clause
            .subject
            .iter()
            .chain(&clause.objects)
            .chain(clause.preps.iter().flat_map(|(_, l)| l))
        {
            if np.values.is_empty() {
                continue;
            }
            if !values_are_fields(np) {
                continue;
            }
            if let Some(owner) = self.resolve(np) {
                for value in &np.values {
                    let mut field = NounPhrase::new();
                    field.words = value.split_whitespace().map(str::to_string).collect();
                    field.head = codebegen_schema::names::singular_word(
                        field.words.last().map(String::as_str).unwrap_or_default(),
                    );
                    // `delivery lines (plant, quantity)`: a record named among the fields is
                    // a parent.
                    self.has(&owner, &field);
                }
            }
        }
        let with_items: Vec<&NounPhrase> = clause
            .preps
            .iter()
            .filter(|(p, _)| p == "with" || p == "including")
            .flat_map(|(_, l)| l)
            .collect();
        if clause.heading
            || (class == Some(VerbClass::Contain) && !passive)
            || (clause.verb.is_none() && !with_items.is_empty())
        {
            let items: Vec<&NounPhrase> = if clause.heading || class == Some(VerbClass::Contain) {
                clause
                    .objects
                    .iter()
                    .chain(with_items.iter().copied())
                    .collect()
            } else {
                with_items
            };
            if clause.subject.iter().all(is_meta) && !clause.subject.is_empty() {
                return;
            }
            // `Store the location code, its kind and ...`: a command to keep fields is about
            // the record just described.
            let subjects = if subjects.is_empty() && clause.subject.is_empty() && !clause.heading {
                self.previous_subject.clone()
            } else {
                subjects
            };
            for s in &subjects {
                for np in &items {
                    self.has(s, np);
                }
            }
            // `a wishlist holds products through wishlist entries`: the link entity.
            let through: Vec<String> = clause
                .preps
                .iter()
                .filter(|(p, _)| matches!(p.as_str(), "through" | "via"))
                .flat_map(|(_, l)| l)
                .filter_map(|np| self.resolve(np))
                .collect();
            let objects: Vec<String> = clause
                .objects
                .iter()
                .filter_map(|np| self.resolve(np))
                .collect();
            for e in &through {
                for s in subjects.iter().chain(&objects) {
                    if s != e {
                        self.meaning.links.retain(|l| {
                            !(l.from == *s || l.to == *s)
                                || !objects.contains(&l.from) && !objects.contains(&l.to)
                                || l.from == *e
                        });
                        self.link(
                            RelationKind::ManyToOne,
                            e,
                            s,
                            false,
                            format!("read \"through {e}\" as {e} linking {s}"),
                        );
                    }
                }
            }
            // `Loan: member, book`: entity items are parents.
            return;
        }
        if !with_items.is_empty()
            && matches!(
                class,
                Some(VerbClass::Belong | VerbClass::Place | VerbClass::Join | VerbClass::Other)
            )
        {
            // `a Comment entity with a body, belonging to posts`
            for s in &subjects {
                for np in &with_items {
                    self.has(s, np);
                }
            }
        }
        if matches!(
            verb.as_str(),
            "tag" | "label" | "categorize" | "categorise" | "mark" | "classify"
        ) && !passive
        {
            // `they tag threads with keywords`: labels are shared.
            let labels: Vec<String> = with_items
                .iter()
                .filter_map(|np| self.resolve(np))
                .collect();
            let tagged: Vec<String> = clause
                .objects
                .iter()
                .filter_map(|np| self.resolve(np))
                .collect();
            for t in &tagged {
                for l in &labels {
                    if t != l {
                        self.link(
                            RelationKind::ManyToMany,
                            t,
                            l,
                            false,
                            format!("read \"{verb} {t} with {l}\" as many-to-many"),
                        );
                    }
                }
            }
        }
        let agents: Vec<String> = clause
            .preps
            .iter()
            .filter(|(p, _)| p == "by")
            .flat_map(|(_, l)| l)
            .filter_map(|np| self.resolve(np))
            .collect();
        let prep_entities: Vec<(String, String)> = clause
            .preps
            .iter()
            .filter(|(p, _)| p != "by" && p != "with" && p != "of")
            .flat_map(|(p, l)| l.iter().map(move |np| (p.clone(), np)))
            .filter_map(|(p, np)| self.resolve(np).map(|k| (p, k)))
            .collect();
        let objects: Vec<String> = clause
            .objects
            .iter()
            .filter_map(|np| self.resolve(np))
            .collect();
        let all_prep_entities: Vec<(String, String)> = clause
            .preps
            .iter()
            .filter(|(p, _)| p != "with")
            .flat_map(|(p, l)| l.iter().map(move |np| (p.clone(), np)))
            .filter_map(|(p, np)| self.resolve(np).map(|k| (p, k)))
            .collect();
        let existential = clause.subject.is_empty()
            || clause
                .subject
                .iter()
                .all(|np| np.pronoun && np.head == "there");
        if verb == "be" && existential {
            // `inside each greenhouse there are several zones`
            self.belong_all(
                &objects,
                all_prep_entities.iter().map(|(_, p)| p),
                false,
                |o, p| format!("read \"there are {o} in {p}\" as {o} belonging to {p}"),
            );
            return;
        }
        if verb == "be" {
            // `X is part of Y`, `X is in Y`, `each track is by one artist`, `every observation
            // is of one target`.
            self.belong_all(
                &subjects,
                all_prep_entities.iter().map(|(_, p)| p),
                false,
                |s, p| format!("read \"{s} is in {p}\" as {s} belonging to {p}"),
            );
            return;
        }
        if passive
            && matches!(
                verb.as_str(),
                "make" | "compose" | "build" | "form" | "split" | "divide" | "partition"
            )
        {
            // `each entry is made of journal lines`: the lines belong to the entry.
            for s in &subjects {
                for (p, e) in &all_prep_entities {
                    // `each building is split into units`: the units are its parts.
                    if (p == "of"
                        || (p == "into"
                            && matches!(verb.as_str(), "split" | "divide" | "partition")))
                        && s != e
                    {
                        self.link(
                            RelationKind::ManyToOne,
                            e,
                            s,
                            false,
                            format!("read \"{s} is made of {e}\" as {e} belonging to {s}"),
                        );
                    }
                }
            }
            return;
        }
        // `each route is driven by one driver`: a single subject holds the key whatever the
        // verb; plural ones (`books are borrowed by members`) read as the active clause.
        let single_subject = clause.subject.iter().all(|np| !np.is_many());
        if passive
            && !agents.is_empty()
            && (single_subject || !matches!(class, Some(VerbClass::Assoc | VerbClass::Own)))
        {
            // `each shipment is carried by a truck`, `a route is driven by one driver in one
            // vehicle`: the subject holds the key to the agent and to the rest.
            for s in &subjects {
                for a in agents.iter().chain(prep_entities.iter().map(|(_, p)| p)) {
                    if s != a {
                        self.link(
                            RelationKind::ManyToOne,
                            s,
                            a,
                            false,
                            format!("read \"{s} is {verb} by {a}\" as {s} belonging to {a}"),
                        );
                    }
                }
            }
            return;
        }
        if passive && !objects.is_empty() {
            // `each member is issued exactly one access card`: what is given belongs to the
            // subject.
            for s in &subjects {
                for np in &clause.objects {
                    let Some(o) = self.resolve(np) else { continue };
                    if o == *s {
                        continue;
                    }
                    let kind = if np.count == Count::One {
                        RelationKind::OneToOne
                    } else {
                        RelationKind::ManyToOne
                    };
                    self.link(
                        kind,
                        &o,
                        s,
                        false,
                        format!("read \"{s} is {verb} {o}\" as {o} belonging to {s}"),
                    );
                }
            }
            return;
        }
        // `members can be assigned to cards`: many on both sides, and `can`.
        let shared_passive = passive
            && !clause
                .preps
                .iter()
                .flat_map(|(_, l)| l)
                .any(|np| np.count == Count::Other)
            && clause.verb.as_ref().is_some_and(|v| v.modal)
            && clause.subject.iter().all(|np| np.plural)
            && clause.preps.iter().flat_map(|(_, l)| l).all(|np| np.plural);
        if shared_passive && agents.is_empty() && !prep_entities.is_empty() {
            for s in &subjects {
                for (_, p) in &prep_entities {
                    if s != p {
                        self.link(
                            RelationKind::ManyToMany,
                            s,
                            p,
                            false,
                            format!("read \"{s} can be {verb} to {p}\" as many-to-many"),
                        );
                    }
                }
            }
            return;
        }
        if passive {
            if !agents.is_empty() {
                // `posts are written by authors` = `authors write posts`.
                let active = Clause {
                    subject: Vec::new(),
                    verb: clause.verb.clone().map(|mut v| {
                        v.passive = false;
                        v
                    }),
                    objects: clause.subject.clone(),
                    preps: clause
                        .preps
                        .iter()
                        .filter(|(p, _)| p != "by")
                        .cloned()
                        .collect(),
                    ..Clause::default()
                };
                self.active(
                    &active,
                    &agents,
                    &subjects,
                    &prep_entities,
                    class,
                    &verb,
                    next,
                );
                return;
            }
            self.belong_all(
                &subjects,
                prep_entities.iter().map(|(_, p)| p),
                false,
                |s, p| format!("read \"{s} {verb} to {p}\" as {s} belonging to {p}"),
            );
            return;
        }
        // `give every coupon a code, an expiry date and an active flag`: the attributes after
        // a record are its fields.
        if let Some(first) = clause.objects.first().and_then(|np| self.resolve(np)) {
            let attributes: Vec<NounPhrase> = clause.objects[1..]
                .iter()
                .filter(|np| self.resolve(np).is_none() && is_field_phrase(np))
                .cloned()
                .collect();
            for np in &attributes {
                self.add_field(&first, np);
            }
        }
        self.active(
            clause,
            &subjects,
            &objects,
            &prep_entities,
            class,
            &verb,
            next,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn active(
        &mut self,
        clause: &Clause,
        subjects: &[String],
        objects: &[String],
        preps: &[(String, String)],
        class: Option<VerbClass>,
        verb: &str,
        next: Option<&Vec<Clause>>,
    ) {
        let many_objects = clause.objects.iter().any(|np| np.is_many());
        match class {
            Some(VerbClass::Place)
                if !objects.is_empty()
                    && !subjects.is_empty()
                    && clause
                        .subject
                        .iter()
                        .all(|np| !is_person(np) && !np.pronoun) =>
            {
                // `a planting puts one crop in one field`: a record that places things is the
                // link between them.
                for s in subjects {
                    for o in objects.iter().chain(preps.iter().map(|(_, p)| p)) {
                        if o != s {
                            self.link(
                                RelationKind::ManyToOne,
                                s,
                                o,
                                false,
                                format!("read \"{s} {verb} {o}\" as {s} linking {o}"),
                            );
                        }
                    }
                }
                return;
            }
            Some(VerbClass::Belong | VerbClass::Place) => {
                // People who place things (`dispatchers assign ...`) are not what is placed.
                let placers = class == Some(VerbClass::Place)
                    && clause.subject.iter().all(|np| is_person(np) || np.pronoun);
                let children: Vec<String> = if objects.is_empty() {
                    if placers {
                        return;
                    }
                    subjects.to_vec()
                } else {
                    objects.to_vec()
                };
                // A record cannot belong to itself: `a match points to the match it advances
                // to` is a link to another one.
                for c in &children {
                    for (_, p) in preps {
                        let why = if c == p {
                            format!("read \"{c} {verb} {p}\" as a reference to another {c}")
                        } else {
                            format!("read \"{verb}\" as {c} belonging to {p}")
                        };
                        self.link(RelationKind::ManyToOne, c, p, false, why);
                    }
                }
                return;
            }
            Some(VerbClass::Auth) => return,
            Some(VerbClass::Join) => {
                // `a roster entry links one player to one registration`: the subject is the
                // link and holds a key to each.
                for s in subjects {
                    for o in objects.iter().chain(preps.iter().map(|(_, p)| p)) {
                        if o != s {
                            self.link(
                                RelationKind::ManyToOne,
                                s,
                                o,
                                false,
                                format!("read \"{s} {verb} {o}\" as {s} linking {o}"),
                            );
                        }
                    }
                }
                if !subjects.is_empty() {
                    return;
                }
            }
            _ => {}
        }
        for s in subjects {
            if !objects.is_empty() && !preps.is_empty() {
                // `attendees buy tickets for events`: the object joins subject and the rest,
                // unless the preposition names the event (`repair cars in jobs`).
                for o in objects {
                    for (p, e) in preps {
                        let event_place = clause
                            .preps
                            .iter()
                            .filter(|(q, _)| q == p)
                            .flat_map(|(_, l)| l)
                            .any(|np| {
                                self.resolve(np).as_deref() == Some(e.as_str())
                                    && (np.plural || LEXICON.is_event_noun(&np.head))
                            });
                        // `drivers book vehicles for trips`: the trip is the event.
                        let event_noun = clause
                            .preps
                            .iter()
                            .filter(|(q, _)| q == p)
                            .flat_map(|(_, l)| l)
                            .any(|np| {
                                self.resolve(np).as_deref() == Some(e.as_str())
                                    && LEXICON.is_event_noun(&np.head)
                            })
                            && !clause
                                .objects
                                .iter()
                                .any(|np| LEXICON.is_event_noun(&np.head));
                        if ((matches!(p.as_str(), "in" | "through" | "via" | "during")
                            && event_place)
                            || (p == "for" && event_noun))
                            && LEXICON.verb(verb).is_none_or(|v| v.class != VerbClass::Own)
                            && e != s
                            && e != o
                        {
                            self.link(
                                RelationKind::ManyToOne,
                                e,
                                s,
                                false,
                                format!(
                                    "read \"{s} {verb} {o} {p} {e}\" as {e} linking {s} and {o}"
                                ),
                            );
                            self.link(
                                RelationKind::ManyToOne,
                                e,
                                o,
                                false,
                                format!(
                                    "read \"{s} {verb} {o} {p} {e}\" as {e} linking {s} and {o}"
                                ),
                            );
                        } else if o != s && o != e {
                            self.link(RelationKind::ManyToOne, o, s, false, format!("read \"{s} {verb} {o} {p} {e}\" as {o} with {s} and {e} parents"));
                            self.link(RelationKind::ManyToOne, o, e, false, format!("read \"{s} {verb} {o} {p} {e}\" as {o} with {s} and {e} parents"));
                        }
                    }
                }
                continue;
            }
            for o in objects {
                match class {
                    Some(VerbClass::Own) if o != s => self.link(
                        RelationKind::ManyToOne,
                        o,
                        s,
                        true,
                        format!("read \"{s} {verb} {o}\" as {o} belonging to {s}"),
                    ),
                    // `a post may quote one earlier post` refers to another; `users follow
                    // other users` links many.
                    _ if o == s => self.link(
                        if self.singular_object(clause, o) {
                            RelationKind::ManyToOne
                        } else {
                            RelationKind::ManyToMany
                        },
                        s,
                        o,
                        true,
                        format!("read \"{s} {verb} {o}\" as {s} linked to other {s}"),
                    ),
                    _ => {
                        if let Some(e) = self.event_entity(verb, next, &[s.as_str(), o.as_str()]) {
                            self.link(RelationKind::ManyToOne, &e, s, false, format!("read \"{s} {verb} {o}\" through {e}: {e} with {s} and {o} parents"));
                            self.link(RelationKind::ManyToOne, &e, o, false, format!("read \"{s} {verb} {o}\" through {e}: {e} with {s} and {o} parents"));
                        } else if self.possessed(clause, o) {
                            // `drivers register their cars`
                            self.link(
                                RelationKind::ManyToOne,
                                o,
                                s,
                                true,
                                format!("read \"{s} {verb} their {o}\" as {o} belonging to {s}"),
                            );
                        } else if many_objects
                            || (class == Some(VerbClass::Assoc) && !self.singular_object(clause, o))
                        {
                            self.link(
                                RelationKind::ManyToMany,
                                s,
                                o,
                                true,
                                format!("read \"{s} {verb} {o}\" as many-to-many"),
                            );
                        } else {
                            self.link(
                                RelationKind::ManyToOne,
                                s,
                                o,
                                true,
                                format!("read \"{s} {verb} a {o}\" as {s} belonging to {o}"),
                            );
                        }
                    }
                }
            }
            if objects.is_empty() {
                for (_, p) in preps {
                    if p == s {
                        continue;
                    }
                    // `readers comment on posts`: the verb's own noun is the link.
                    let event = self
                        .event_entity(verb, next, &[s.as_str(), p.as_str()])
                        .or_else(|| {
                            let noun = LEXICON
                                .verb(verb)
                                .filter(|v| {
                                    v.class == VerbClass::Assoc && v.nouns.iter().any(|n| n == verb)
                                })
                                .map(|v| v.base.clone())?;
                            self.meaning.entities.push(EntityDraft {
                                key: noun.clone(),
                                fields: Vec::new(),
                            });
                            Some(noun)
                        });
                    match event {
                        Some(e) => {
                            self.link(RelationKind::ManyToOne, &e, s, false, format!("read \"{s} {verb} {p}\" as a {e} entity with {s} and {p} parents"));
                            self.link(RelationKind::ManyToOne, &e, p, false, format!("read \"{s} {verb} {p}\" as a {e} entity with {s} and {p} parents"));
                        }
                        // `each pot comes from one tray`: one thing on the other side.
                        None if class == Some(VerbClass::Own)
                            || (class != Some(VerbClass::Assoc)
                                && self.singular_prep(clause, p)) =>
                        {
                            self.link(
                                RelationKind::ManyToOne,
                                s,
                                p,
                                true,
                                format!("read \"{s} {verb} {p}\" as {s} belonging to {p}"),
                            )
                        }
                        None => self.link(
                            RelationKind::ManyToMany,
                            s,
                            p,
                            true,
                            format!("read \"{s} {verb} {p}\" as many-to-many"),
                        ),
                    }
                }
            }
        }
        if subjects.is_empty() {
            // An imperative or subjectless clause: `track expenses by category`.
            self.belong_all(objects, preps.iter().map(|(_, p)| p), true, |o, p| {
                format!("read \"{verb} {o} ... {p}\" as {o} belonging to {p}")
            });
        }
    }

    /// Links every child to every parent as many-to-one, skipping a record and itself.
    fn belong_all<'a>(
        &mut self,
        children: &[String],
        parents: impl Iterator<Item = &'a String> + Clone,
        weak: bool,
        why: impl Fn(&str, &str) -> String,
    ) {
        for child in children {
            for parent in parents.clone() {
                if child != parent {
                    self.link(
                        RelationKind::ManyToOne,
                        child,
                        parent,
                        weak,
                        why(child, parent),
                    );
                }
            }
        }
    }

    /// Whether the object that names `key` is written with a possessive (`their cars`).
    fn possessed(&self, clause: &Clause, key: &str) -> bool {
        clause
            .objects
            .iter()
            .any(|np| np.possessive && self.resolve(np).as_deref() == Some(key))
    }

    /// Whether the object that names `key` speaks of one thing (`uses one telescope`).
    fn singular_object(&self, clause: &Clause, key: &str) -> bool {
        clause
            .objects
            .iter()
            .any(|np| !np.is_many() && self.resolve(np).as_deref() == Some(key))
    }

    /// Last steps over the whole prompt: the app's own name is not a record (`Library system:
    /// the library has books`), and the records an app-level list names in a row
    /// (`boards, columns and cards`) nest when nothing else links them.
    fn finish(&mut self, clauses: &[&Clause]) {
        // The title line (`Book club organiser: spec draft`, `Donation portal.`) names the app.
        let title: Option<String> = clauses
            .first()
            .filter(|c| (c.heading || c.verb.is_none()) && c.subject.len() == 1)
            .and_then(|c| c.subject.first())
            .map(key_of);
        let app_words: Vec<String> = clauses
            .iter()
            .filter(|c| c.heading || c.verb.is_none())
            .flat_map(|c| &c.subject)
            .filter(|np| {
                np.words
                    .iter()
                    .any(|w| LEXICON.closed_class(w) == Some("meta"))
            })
            .flat_map(|np| {
                np.words
                    .iter()
                    .filter(|w| LEXICON.closed_class(w).is_none())
                    .cloned()
            })
            .collect();
        // Records an app-level list names (`a kanban board backend with boards, ...`) stay.
        let listed: Vec<String> = clauses
            .iter()
            .filter(|c| app_clause(c, clauses))
            .flat_map(|c| {
                c.preps
                    .iter()
                    .filter(|(p, _)| p == "with")
                    .flat_map(|(_, l)| l)
            })
            .filter_map(|np| self.resolve(np))
            .collect();
        let no_parent = |m: &Meaning, key: &str| {
            m.links
                .iter()
                .all(|l| l.from != key || l.kind != RelationKind::ManyToOne)
        };
        let dropped: Vec<String> = self
            .meaning
            .entities
            .iter()
            .filter(|e| {
                (app_words.contains(&e.key) || title.as_deref() == Some(e.key.as_str()))
                    && e.fields.is_empty()
                    && no_parent(&self.meaning, &e.key)
                    && !listed.contains(&e.key)
            })
            .map(|e| e.key.clone())
            .collect();
        for key in &dropped {
            self.meaning.notes.push(Diagnostic::info(
                "read_app_name",
                "entities",
                format!("read `{key}` as the app's name, not a record"),
            ));
        }
        self.meaning.entities.retain(|e| !dropped.contains(&e.key));
        self.meaning
            .links
            .retain(|l| !dropped.contains(&l.from) && !dropped.contains(&l.to));
        let app_lists = clauses.iter().filter_map(|c| {
            if app_clause(c, clauses) && !c.heading {
                Some(
                    c.preps
                        .iter()
                        .filter(|(p, _)| p == "with")
                        .flat_map(|(_, l)| l)
                        .collect::<Vec<_>>(),
                )
            } else if c.heading
                && !c.subject.iter().any(|np| np.plural)
                && c.objects.iter().all(|np| np.plural)
            {
                // `vet clinic api: owners, pets, vaccinations`
                Some(c.objects.iter().collect())
            } else {
                None
            }
        });
        let lists: Vec<Vec<String>> = app_lists
            .map(|list| list.into_iter().filter_map(|np| self.resolve(np)).collect())
            .collect();
        for items in lists {
            if items.len() < 3 {
                continue;
            }
            for pair in items.windows(2) {
                let (parent, child) = (&pair[0], &pair[1]);
                let unlinked = !self.meaning.links.iter().any(|l| {
                    (l.from == *child && l.kind != RelationKind::ManyToMany)
                        || (l.to == *child && l.kind == RelationKind::ManyToOne)
                });
                if unlinked && parent != child {
                    self.link(
                        RelationKind::ManyToOne,
                        child,
                        parent,
                        true,
                        format!("read the list \"{parent}, {child}\" as {child} inside {parent}"),
                    );
                }
            }
        }
    }

    /// Whether the prepositional phrase that names `key` speaks of one thing (`from one tray`).
    fn singular_prep(&self, clause: &Clause, key: &str) -> bool {
        clause
            .preps
            .iter()
            .flat_map(|(_, l)| l)
            .any(|np| !np.is_many() && self.resolve(np).as_deref() == Some(key))
    }

    /// `S has NP`: a child, a parent, a self-reference or a field.
    fn has(&mut self, s: &str, np: &NounPhrase) {
        let head_is_self =
            LEXICON.noun_is(&np.head, "self") || np.words.first().is_some_and(|w| w == "parent");
        let same = self.resolve(np).filter(|k| k == s);
        if same.is_some() || (head_is_self && (np.count == Count::Other || np.words.len() > 1)) {
            if np.is_many()
                && !np.words.iter().any(|w| w.starts_with("sub"))
                && np.count != Count::Many
            {
                self.link(
                    RelationKind::ManyToMany,
                    s,
                    s,
                    false,
                    format!("read \"{s} has other {s}\" as a self link"),
                );
            } else {
                self.link(
                    RelationKind::ManyToOne,
                    s,
                    s,
                    false,
                    format!(
                        "read \"{s} has a {}\" as a reference to another {s}",
                        np.words.join(" ")
                    ),
                );
            }
            return;
        }
        if np.words.first().is_some_and(|w| w.starts_with("sub")) && np.head.ends_with(s) {
            self.link(
                RelationKind::ManyToOne,
                s,
                s,
                false,
                format!("read sub-{s} as {s} with a parent {s}"),
            );
            return;
        }
        match self.resolve(np) {
            Some(e) if np.count == Count::One => self.link(
                RelationKind::OneToOne,
                &e,
                s,
                false,
                format!("read \"{s} has one {e}\" as one-to-one"),
            ),
            Some(e) if np.is_many() => {
                // `a book can have several authors`: people are shared between records.
                let person = LEXICON.noun_is(&np.head, "person")
                    || ["er", "or", "ist"].iter().any(|x| np.head.ends_with(x));
                let shared = LEXICON.noun_is(&np.head, "shared")
                    || (np.count == Count::Many && person)
                    || self.meaning.links.iter().any(|l| {
                        l.from == s && l.to == e && l.kind == RelationKind::ManyToOne && !l.weak
                    });
                if shared {
                    self.meaning.links.retain(|l| !(l.from == s && l.to == e));
                    self.link(
                        RelationKind::ManyToMany,
                        s,
                        &e,
                        false,
                        format!("read \"{s} has many {e}\" as many-to-many: {e} is shared"),
                    );
                } else {
                    self.link(
                        RelationKind::ManyToOne,
                        &e,
                        s,
                        false,
                        format!("read \"{s} has many {e}\" as {e} belonging to {s}"),
                    );
                }
            }
            Some(e) => {
                if self
                    .meaning
                    .links
                    .iter()
                    .any(|l| l.from == e && l.to == s && !l.weak)
                {
                    return;
                }
                self.link(
                    RelationKind::ManyToOne,
                    s,
                    &e,
                    false,
                    format!("read \"{s} has a {e}\" as {s} belonging to {e}"),
                )
            }
            None => self.add_field(s, np),
        }
    }
}

/// The type a field draft gets, and a note when it was a guess.
pub(crate) fn field_type(draft: &FieldDraft) -> (FieldType, Option<String>) {
    let np = &draft.phrase;
    if np.flag {
        return (FieldType::Boolean, Some("it is a yes/no question".into()));
    }
    if !np.values.is_empty() {
        return (FieldType::Enum, Some("the prompt lists its values".into()));
    }
    if let Some(t) = np.type_word.as_deref().and_then(super::types::type_word) {
        return (t, Some("the prompt names its type".into()));
    }
    let (t, why) = super::types::infer_type(&draft.name);
    if let Some((lo, hi)) = np.range {
        if t == FieldType::String || t == FieldType::Integer {
            let integral = lo.fract() == 0.0 && hi.fract() == 0.0;
            return (
                if integral {
                    FieldType::Integer
                } else {
                    FieldType::Float
                },
                Some("the prompt gives a range".into()),
            );
        }
    }
    (
        t,
        (t != FieldType::String).then(|| format!("the name reads as {why}")),
    )
}
