//! Rule-based extraction: a plain-English backend description becomes a spec plus diagnostics,
//! in layers that each read only the one below:
//!
//! 1. `tokens`: words, numbers and punctuation, cut into sentences;
//! 2. `pos`: parts of speech from the word tables (`lexicon`, `tables/*.txt`);
//! 3. `chunks`: noun phrases and verb groups;
//! 4. `clauses`: subject, verb, objects, prepositional phrases, lists, headings;
//! 5. `meaning`: entities, fields and links (with `auth` for login and roles, `types` for
//!    column types), each guess noted as a diagnostic;
//! 6. the spec: names and relations, domain `templates` for terse prompts (`url shortener`),
//!    and `finish` to make it pass validation.
//!
//! Pure and deterministic; never panics. `explain` shows every layer's reading of a prompt.

mod auth;
mod chunks;
mod clauses;
mod finish;
mod lexicon;
mod meaning;
mod naming;
mod pos;
mod templates;
mod tokens;
mod types;

use codebegen_schema::names::{pascal_case, pluralize, snake_case, IMPLICIT_FIELDS};
use codebegen_schema::{
    AppSpec, Auth, Diagnostic, Entity, Field, FieldType, OnDelete, Relation, RelationKind,
};

use meaning::{EntityDraft, LinkDraft, Meaning};
use tokens::{first_sentence, MAX_PROMPT_CHARS};

/// Longest description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// The result of reading a prompt: a best-effort spec and what was guessed or ignored.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The spec read from the prompt; `codebegen_schema::check` accepts it without errors.
    pub spec: AppSpec,
    /// Notes about guesses and things not understood.
    pub diagnostics: Vec<Diagnostic>,
}

const USER_KEY: &str = "user";

/// Reads a prompt into a spec. Deterministic, pure, and total: any input gives a spec that
/// passes `codebegen_schema::check` without errors.
pub fn extract(prompt: &str) -> Extraction {
    let mut diagnostics = Vec::new();
    if prompt.chars().nth(MAX_PROMPT_CHARS).is_some() {
        diagnostics.push(Diagnostic::warning(
            "prompt_truncated",
            "",
            format!("only the first {MAX_PROMPT_CHARS} characters of the prompt were read"),
        ));
    }
    let sentences = tokens::sentences(prompt);
    let tagged: Vec<Vec<pos::Word>> = sentences.iter().map(|s| pos::tag(s)).collect();
    let chunked: Vec<Vec<chunks::Chunk>> = tagged.iter().map(|s| chunks::chunk(s)).collect();
    let read: Vec<Vec<clauses::Clause>> = chunked.iter().map(|s| clauses::read(s)).collect();
    let auth = auth::detect(&tagged);
    let mut auth = auth;
    let mut meaning = meaning::read(&read, &auth.roles, auth.enabled);
    for role in &meaning.roles {
        if !auth.roles.contains(role) {
            auth.roles.push(role.clone());
        }
    }

    // Terse prompts (`url shortener`, `todo app`) take a domain template.
    let first_words: Vec<String> = tagged
        .first()
        .into_iter()
        .flatten()
        .map(|w| w.lower.clone())
        .collect();
    let mut template_name = None;
    if let Some(template) = templates::find(&first_words) {
        let (template_entities, links) = templates::instantiate(template);
        let domain: Vec<&EntityDraft> = meaning
            .entities
            .iter()
            .filter(|e| e.key != USER_KEY)
            .collect();
        let fits = domain.is_empty()
            || (domain.len() == 1
                && domain[0].fields.len() <= 2
                && template_entities.iter().any(|(k, _)| *k == domain[0].key));
        if fits {
            template_name = Some(template.name);
            diagnostics.push(Diagnostic::info(
                "template_used",
                "entities",
                format!(
                    "the prompt is short; used the `{}` template for its usual entities",
                    template.name
                ),
            ));
            let mut typed_fields: Vec<(String, Vec<Field>)> = template_entities;
            meaning.entities.retain(|e| e.key == USER_KEY);
            meaning.links = links;
            let spec_auth = template.auth || auth.enabled;
            return finish_spec(
                prompt,
                meaning,
                &mut typed_fields,
                auth_with(auth, spec_auth, template.auth),
                template_name,
                &tagged,
                diagnostics,
            );
        }
    }
    finish_spec(
        prompt,
        meaning,
        &mut Vec::new(),
        auth,
        template_name,
        &tagged,
        diagnostics,
    )
}

fn auth_with(mut auth: auth::AuthInfo, enabled: bool, from_template: bool) -> auth::AuthInfo {
    if enabled && !auth.enabled && from_template {
        auth.reason = "the template".into();
    }
    auth.enabled = enabled;
    auth
}

fn finish_spec(
    prompt: &str,
    meaning: Meaning,
    template_entities: &mut Vec<(String, Vec<Field>)>,
    auth: auth::AuthInfo,
    template_name: Option<&str>,
    tagged: &[Vec<pos::Word>],
    mut diagnostics: Vec<Diagnostic>,
) -> Extraction {
    let Meaning {
        entities: drafts,
        links,
        notes,
        ..
    } = meaning;
    diagnostics.extend(notes);
    let mut entities: Vec<(String, Entity)> = Vec::new();
    for draft in &drafts {
        let mut fields: Vec<Field> = Vec::new();
        for f in &draft.fields {
            let name = types::rename_reserved(&f.name);
            if IMPLICIT_FIELDS.contains(&name.as_str())
                || matches!(name.as_str(), "password" | "password_hash")
                || fields.iter().any(|x| x.name == name)
            {
                continue;
            }
            let (field_type, why) = meaning::field_type(f);
            let mut field = types::typed(&name, field_type);
            if field_type == FieldType::Enum {
                let values: Vec<String> = f
                    .phrase
                    .values
                    .iter()
                    .map(|v| snake_case(v.trim()))
                    .filter(|v| !v.is_empty())
                    .collect();
                if values.len() < 2 {
                    field = types::typed(&name, FieldType::String);
                } else {
                    field.enum_values = Some(values);
                }
            }
            if let Some((lo, hi)) = f.phrase.range {
                if matches!(
                    field.field_type,
                    FieldType::Integer | FieldType::Float | FieldType::Decimal
                ) {
                    field.min = Some(lo);
                    field.max = Some(hi);
                }
            }
            if f.phrase.optional {
                field.required = false;
            }
            if f.phrase.unique {
                field.unique = true;
            }
            if let Some(why) = why {
                diagnostics.push(Diagnostic::info(
                    "field_type_guessed",
                    "",
                    format!(
                        "typed `{}.{}` as {}: {why}",
                        draft.key,
                        name,
                        field.field_type.as_str()
                    ),
                ));
            }
            fields.push(field);
        }
        entities.push((
            draft.key.clone(),
            Entity {
                name: pascal_case(&draft.key),
                table: pluralize(&draft.key),
                fields,
            },
        ));
    }
    for (key, fields) in template_entities.drain(..) {
        entities.push((
            key.clone(),
            Entity {
                name: pascal_case(&key),
                table: pluralize(&key),
                fields,
            },
        ));
    }
    if auth.enabled {
        let at = entities.iter().position(|(k, _)| k == USER_KEY);
        let mut user = match at {
            Some(i) => entities.remove(i).1,
            None => Entity {
                name: "User".into(),
                table: "users".into(),
                fields: Vec::new(),
            },
        };
        user.fields.retain(|f| f.name != "email");
        let mut email = Field::new("email", FieldType::Email);
        email.unique = true;
        user.fields.insert(0, email);
        entities.insert(0, (USER_KEY.to_string(), user));
        diagnostics.push(Diagnostic::info(
            "auth_enabled",
            "auth.enabled",
            format!("auth is on: the prompt mentions `{}`", auth.reason),
        ));
    }
    for (key, entity) in &mut entities {
        if entity.fields.is_empty() {
            let mut name = Field::new("name", FieldType::String);
            name.max_length = Some(200);
            entity.fields.push(name);
            diagnostics.push(Diagnostic::info(
                "default_field",
                "",
                format!("no fields were given for `{key}`; added `name`"),
            ));
        }
    }
    let relations = relations(&entities, links);
    let first_table = entities
        .iter()
        .find(|(k, _)| k != USER_KEY)
        .or(entities.first())
        .map(|(_, e)| e.table.clone());
    let hint = name_hint(tagged);
    let name = naming::project_name(hint.as_deref(), template_name, first_table.as_deref());
    let description = first_sentence(prompt, MAX_DESCRIPTION_CHARS);
    let understood = !entities.is_empty();
    let spec = if !understood {
        diagnostics.push(Diagnostic::warning(
            "not_understood",
            "entities",
            "no entities were recognized in the prompt; produced a generic `Item` entity — describe your data, \
             e.g. \"books have a title and a price\"",
        ));
        finish::fallback_spec(&name, &description)
    } else {
        AppSpec {
            version: codebegen_schema::SPEC_VERSION,
            name,
            description,
            entities: entities.into_iter().map(|(_, e)| e).collect(),
            relations,
            auth: Auth {
                enabled: auth.enabled,
                roles: auth.roles.iter().map(|r| snake_case(r)).collect(),
            },
            options: Default::default(),
        }
    };
    let spec = finish::secure(spec, &mut diagnostics);
    Extraction { spec, diagnostics }
}

/// The words of the phrase that names the project (`A bookstore API`), when the first sentence
/// opens with one.
fn name_hint(tagged: &[Vec<pos::Word>]) -> Option<Vec<String>> {
    let first = tagged.first()?;
    // `Inventory management for a warehouse: ...`: the words before a colon name the app.
    if let Some(colon) = first.iter().position(|w| w.is(':')) {
        if (1..=6).contains(&colon) {
            let words: Vec<String> = first[..colon].iter().map(|w| w.lower.clone()).collect();
            return Some(words);
        }
    }
    // `Build a todo app`, `A bookstore API`: a leading command, then the phrase.
    let skip = usize::from(first.first().is_some_and(|w| {
        w.tag == pos::Tag::Verb
            && w.form == Some(lexicon::VerbForm::Base)
            && !matches!(
                w.lemma.as_str(),
                "track"
                    | "log"
                    | "record"
                    | "monitor"
                    | "manage"
                    | "organize"
                    | "organise"
                    | "plan"
                    | "schedule"
                    | "book"
                    | "store"
                    | "keep"
                    | "collect"
                    | "catalog"
                    | "catalogue"
                    | "share"
                    | "sell"
            )
    }));
    let words: Vec<String> = first
        .iter()
        .skip(skip)
        .enumerate()
        .take_while(|(i, w)| {
            (*i == 0 && w.tag == pos::Tag::Verb)
                || !matches!(
                    w.tag,
                    pos::Tag::Verb
                        | pos::Tag::Have
                        | pos::Tag::Be
                        | pos::Tag::Modal
                        | pos::Tag::Punct(':' | ',' | '(')
                        | pos::Tag::Rel
                ) && !matches!(w.lower.as_str(), "with" | "where" | "that" | "to")
        })
        .map(|(_, w)| w.lower.clone())
        .collect();
    let named =
        words.iter().any(|w| naming::is_domain_head(w)) || words.len() + skip == first.len();
    (named && !words.is_empty()).then_some(words)
}

/// Settles links into relations: drops links to unknown entities and repeats, lets stated
/// links win over guessed ones and many-to-many or one-to-one over many-to-one on a pair.
fn relations(entities: &[(String, Entity)], links: Vec<LinkDraft>) -> Vec<Relation> {
    let name_of = |key: &str| {
        entities
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, e)| e.name.clone())
    };
    let pair = |l: &LinkDraft| {
        if l.from <= l.to {
            (l.from.clone(), l.to.clone())
        } else {
            (l.to.clone(), l.from.clone())
        }
    };
    let mut kept: Vec<LinkDraft> = Vec::new();
    for link in links {
        if name_of(&link.from).is_none() || name_of(&link.to).is_none() {
            continue;
        }
        let p = pair(&link);
        if let Some(i) = kept
            .iter()
            .position(|k| pair(k) == p && (k.from != k.to || link.from == link.to))
        {
            let old = &kept[i];
            let rank = |l: &LinkDraft| {
                (!l.weak as u8) * 4
                    + match l.kind {
                        RelationKind::ManyToMany => 2,
                        RelationKind::OneToOne => 3,
                        _ => 1,
                    }
            };
            if old.kind == RelationKind::ManyToOne
                && link.kind == RelationKind::ManyToOne
                && old.from != link.from
                && (!old.weak || !link.weak)
            {
                // Owned both ways: shared.
                kept[i] = LinkDraft {
                    kind: RelationKind::ManyToMany,
                    ..link
                };
            } else if rank(&link) > rank(old) {
                kept[i] = link;
            }
            continue;
        }
        kept.push(link);
    }
    let mut out: Vec<Relation> = Vec::new();
    for l in kept {
        let (Some(from), Some(to)) = (name_of(&l.from), name_of(&l.to)) else {
            continue;
        };
        let field = match l.kind {
            RelationKind::ManyToMany => String::new(),
            _ if l.from == l.to => "parent_id".to_string(),
            _ if l.to == USER_KEY => format!("{}_id", l.hint.as_deref().unwrap_or("owner")),
            _ => String::new(),
        };
        // The user signs up before anything else exists: its keys are never required.
        let required = l.required && l.from != l.to && l.from != USER_KEY;
        out.push(Relation {
            kind: l.kind,
            from,
            to,
            field,
            required,
            on_delete: if required || l.kind == RelationKind::ManyToMany {
                OnDelete::Cascade
            } else {
                OnDelete::SetNull
            },
        });
    }
    out
}

/// Every layer's reading of a prompt, one sentence a block: the tags, the chunks and the
/// clauses. For people tuning the tables (`--example extract_explain`).
pub fn explain(prompt: &str) -> String {
    let mut out = String::new();
    for sentence in tokens::sentences(prompt) {
        let tagged = pos::tag(&sentence);
        let tags: Vec<String> = tagged
            .iter()
            .map(|w| format!("{}/{:?}", w.lower, w.tag))
            .collect();
        out.push_str(&format!("tags: {}\n", tags.join(" ")));
        let chunked = chunks::chunk(&tagged);
        out.push_str(&format!("chunks: {chunked:?}\n"));
        for clause in clauses::read(&chunked) {
            let names = |list: &[chunks::NounPhrase]| {
                list.iter()
                    .map(|np| np.words.join(" "))
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            let preps: Vec<String> = clause
                .preps
                .iter()
                .map(|(p, l)| format!("{p}: {}", names(l)))
                .collect();
            out.push_str(&format!(
                "clause: subject [{}] verb {:?} objects [{}] preps [{}]{}\n",
                names(&clause.subject),
                clause.verb.as_ref().map(|v| (v.base.as_str(), v.passive)),
                names(&clause.objects),
                preps.join("; "),
                if clause.heading { " heading" } else { "" }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is `Entity, Entity | From>To, A*B, A-B`: the entities (User left out), then
    /// the relations (`>` many-to-one, `*` many-to-many, `-` one-to-one).
    fn check(prompt: &str, expected: &str) {
        let spec = extract(prompt).spec;
        let mut entities: Vec<String> = spec
            .entities
            .iter()
            .map(|e| e.name.clone())
            .filter(|n| n != "User")
            .collect();
        entities.sort();
        let mut relations: Vec<String> = spec
            .relations
            .iter()
            .map(|r| match r.kind {
                RelationKind::ManyToOne => format!("{}>{}", r.from, r.to),
                RelationKind::ManyToMany => format!("{}*{}", r.from, r.to),
                RelationKind::OneToOne => format!("{}-{}", r.from, r.to),
            })
            .collect();
        relations.sort();
        let got = format!("{} | {}", entities.join(", "), relations.join(", "));
        assert_eq!(got, expected, "{prompt}");
    }

    #[test]
    fn sentences_become_entities_and_relations() {
        check(
            "Books have a title and belong to a publisher.",
            "Book, Publisher | Book>Publisher",
        );
        check("Authors write posts.", "Author, Post | Post>Author");
        check(
            "Posts are written by authors.",
            "Author, Post | Post>Author",
        );
        check(
            "Notes are organized into notebooks.",
            "Note, Notebook | Note>Notebook",
        );
        check(
            "Attendees buy tickets for events.",
            "Attendee, Event, Ticket | Ticket>Attendee, Ticket>Event",
        );
        check(
            "Readers comment on posts.",
            "Comment, Post, Reader | Comment>Post, Comment>Reader",
        );
        check(
            "Students borrow laptops; each checkout records the checkout date and the return date.",
            "Checkout, Laptop, Student | Checkout>Laptop, Checkout>Student",
        );
        check(
            "Speakers give talks at sessions; each session is held in a room.",
            "Room, Session, Speaker, Talk | Session>Room, Talk>Session, Talk>Speaker",
        );
        check(
            "A category can have a parent category.",
            "Category | Category>Category",
        );
        check(
            "Each employee has exactly one badge.",
            "Badge, Employee | Badge-Employee",
        );
        check("Posts can have many tags.", "Post, Tag | Post*Tag");
        check(
            "A book can have several authors.",
            "Author, Book | Book*Author",
        );
        check("Drivers register their cars.", "Car, Driver | Car>Driver");
        check(
            "articles by authors in sections",
            "Article, Author, Section | Article>Author, Article>Section",
        );
        check(
            "A roster entry links one player to one team.",
            "Player, RosterEntry, Team | RosterEntry>Player, RosterEntry>Team",
        );
        check(
            "Playlists and tracks are many-to-many.",
            "Playlist, Track | Playlist*Track",
        );
    }

    #[test]
    fn fields_types_and_values() {
        let spec = extract(
            "Tasks have a title, a priority (low, medium, high), a due date, a rating from 1 to 5 \
             and whether it was archived.",
        )
        .spec;
        let task = spec
            .entities
            .iter()
            .find(|e| e.name == "Task")
            .expect("Task");
        let field = |n: &str| task.fields.iter().find(|f| f.name == n).expect(n);
        assert_eq!(field("title").field_type, FieldType::String);
        assert_eq!(
            field("priority").enum_values.as_deref(),
            Some(&["low".to_string(), "medium".into(), "high".into()][..])
        );
        assert_eq!(field("due_date").field_type, FieldType::Date);
        assert_eq!(
            (field("rating").min, field("rating").max),
            (Some(1.0), Some(5.0))
        );
        assert_eq!(field("archived").field_type, FieldType::Boolean);
    }

    #[test]
    fn names_are_inflected_properly() {
        let spec = extract("Warehouses have menus and movies.").spec;
        let tables: Vec<(&str, &str)> = spec
            .entities
            .iter()
            .map(|e| (e.name.as_str(), e.table.as_str()))
            .collect();
        assert!(tables.contains(&("Warehouse", "warehouses")), "{tables:?}");
        assert!(tables.contains(&("Menu", "menus")), "{tables:?}");
        assert!(tables.contains(&("Movie", "movies")), "{tables:?}");
    }

    #[test]
    fn login_roles_and_the_app_name() {
        let spec = extract(
            "Library system: the library has books. Admins can delete books; members log in.",
        )
        .spec;
        assert!(spec.auth.enabled);
        assert!(
            spec.auth.roles.contains(&"admin".to_string()),
            "{:?}",
            spec.auth.roles
        );
        assert!(spec
            .entities
            .iter()
            .all(|e| e.name != "Library" && e.name != "Admin"));
    }

    #[test]
    fn decisions_are_diagnostics() {
        let extraction = extract("Readers comment on posts.");
        assert!(
            extraction
                .diagnostics
                .iter()
                .any(|d| d.code == "read_relation" && d.message.contains("comment")),
            "{:?}",
            extraction.diagnostics
        );
    }
}
