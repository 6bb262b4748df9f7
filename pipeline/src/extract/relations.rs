//! Relations: the links read from the prompt settled into a consistent set (many-to-many wins
//! over a guessed owner, opposite owners become many-to-many), plus links inferred from domain
//! knowledge (a card sits in a column) and from auth (records belong to their user).

use codebegen_schema::names::is_reserved;
use codebegen_schema::{Diagnostic, OnDelete, Relation, RelationKind};

use super::entities::{Registry, USER_KEY};
use super::lexicon::is_person_word;

/// A relation between entity keys, before names are fixed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkDraft {
    /// Cardinality.
    pub kind: RelationKind,
    /// The child (foreign-key holder), or the left side of many-to-many.
    pub from: String,
    /// The parent.
    pub to: String,
    /// Whether the foreign key is mandatory.
    pub required: bool,
    /// A foreign-key stem to use when the parent is the user entity (`author`).
    pub hint: Option<String>,
    /// Guessed from a plain verb (`authors write books`), so a stated many-to-many overrides it.
    pub weak: bool,
}

impl LinkDraft {
    /// A many-to-one link.
    pub fn many_to_one(from: &str, to: &str, required: bool) -> LinkDraft {
        LinkDraft {
            kind: RelationKind::ManyToOne,
            from: from.to_string(),
            to: to.to_string(),
            required,
            hint: None,
            weak: false,
        }
    }

    fn pair(&self) -> (&str, &str) {
        if self.from <= self.to {
            (&self.from, &self.to)
        } else {
            (&self.to, &self.from)
        }
    }

    fn joins(&self, a: &str, b: &str) -> bool {
        self.pair() == if a <= b { (a, b) } else { (b, a) }
    }
}

/// Settles links: drops self links, turns owners stated both ways into many-to-many, lets
/// many-to-many and one-to-one win over many-to-one on the same pair, and drops repeats.
pub(crate) fn settle(links: Vec<LinkDraft>, notes: &mut Vec<Diagnostic>) -> Vec<LinkDraft> {
    let links: Vec<LinkDraft> = links.into_iter().filter(|l| l.from != l.to).collect();
    let mut shared: Vec<(String, String)> = Vec::new();
    let mut single: Vec<(String, String)> = Vec::new();
    for l in &links {
        let (a, b) = l.pair();
        let key = (a.to_string(), b.to_string());
        match l.kind {
            RelationKind::ManyToMany if !l.weak && !shared.contains(&key) => shared.push(key),
            RelationKind::OneToOne if !single.contains(&key) => single.push(key),
            RelationKind::ManyToOne => {
                let both_ways = links
                    .iter()
                    .any(|o| o.kind == RelationKind::ManyToOne && o.from == l.to && o.to == l.from);
                if both_ways && !shared.contains(&key) {
                    notes.push(Diagnostic::info(
                        "inferred_many_to_many",
                        "relations",
                        format!(
                            "`{}` and `{}` each own many of the other; made many-to-many",
                            l.from, l.to
                        ),
                    ));
                    shared.push(key);
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<LinkDraft> = Vec::new();
    for mut l in links {
        let (a, b) = l.pair();
        let key = (a.to_string(), b.to_string());
        if shared.contains(&key) {
            if l.kind != RelationKind::ManyToMany && !l.weak {
                notes.push(Diagnostic::info(
                    "relation_merged",
                    "relations",
                    format!(
                        "`{}` → `{}` is covered by the many-to-many between them",
                        l.from, l.to
                    ),
                ));
            }
            l.kind = RelationKind::ManyToMany;
            l.required = false;
        } else if single.contains(&key) && l.kind != RelationKind::OneToOne {
            continue;
        }
        let repeat = out.iter_mut().find(|o| {
            o.kind == l.kind
                && (o.from == l.from && o.to == l.to
                    || (o.kind != RelationKind::ManyToOne && o.joins(&l.from, &l.to)))
        });
        match repeat {
            Some(o) => {
                if !l.weak && l.required && o.kind != RelationKind::ManyToMany {
                    o.required = true;
                }
                o.weak &= l.weak;
            }
            None => out.push(l),
        }
    }
    out
}

/// Children and the parents they usually sit in, most likely first.
#[rustfmt::skip]
const CONTAINMENT: &[(&str, &[&str])] = &[
    ("column", &["board"]),
    ("list", &["board"]),
    ("card", &["column", "list", "board"]),
    ("task", &["project", "list", "board", "column"]),
    ("subtask", &["task"]),
    (
        "comment",
        &[
            "post", "article", "issue", "task", "ticket", "card", "photo", "video", "recipe",
            "story",
        ],
    ),
    ("reply", &["comment", "thread", "post", "message"]),
    ("post", &["thread", "topic", "forum"]),
    ("thread", &["forum", "category", "board"]),
    (
        "message",
        &["conversation", "channel", "room", "chat", "thread"],
    ),
    ("chat_message", &["conversation", "channel", "room", "chat"]),
    ("order_item", &["order"]),
    ("line_item", &["order", "invoice"]),
    ("invoice_item", &["invoice"]),
    ("lesson", &["course", "module"]),
    ("module", &["course"]),
    ("chapter", &["book", "course"]),
    ("episode", &["podcast", "season", "show"]),
    ("season", &["show"]),
    ("track", &["album", "playlist"]),
    ("song", &["album"]),
    ("photo", &["album", "gallery"]),
    ("question", &["quiz", "survey", "exam", "poll"]),
    ("answer", &["question"]),
    ("choice", &["question", "poll"]),
    ("vote", &["poll", "choice"]),
    ("issue", &["project", "repository"]),
    ("sprint", &["project"]),
    ("milestone", &["project"]),
    ("payment", &["invoice", "order", "booking"]),
    ("room", &["hotel", "building"]),
    ("menu_item", &["menu", "restaurant"]),
    ("dish", &["menu", "restaurant"]),
    ("menu", &["restaurant"]),
    ("note", &["notebook", "folder"]),
    ("file", &["folder"]),
    ("document", &["folder"]),
    ("page", &["notebook", "wiki"]),
    ("expense", &["account", "budget", "trip"]),
    ("transaction", &["account", "wallet"]),
    ("entry", &["journal", "ledger"]),
    ("step", &["recipe"]),
    ("variant", &["product"]),
    ("image", &["product", "listing", "post"]),
    ("talk", &["conference", "event"]),
    ("exercise", &["workout"]),
    ("application", &["job"]),
    ("job", &["company"]),
    ("employee", &["department", "company"]),
    ("department", &["company"]),
    ("contact", &["company"]),
    ("deal", &["contact", "company"]),
    ("pet", &["shelter"]),
    (
        "review",
        &[
            "product",
            "book",
            "restaurant",
            "movie",
            "course",
            "hotel",
            "recipe",
        ],
    ),
    ("bid", &["auction", "listing"]),
    ("shift", &["employee"]),
    ("registration", &["event", "course"]),
    ("ticket", &["event"]),
];

/// Adds the usual parent of each entity that has no link to any of its usual parents.
pub(crate) fn infer_containment(
    keys: &[String],
    links: &mut Vec<LinkDraft>,
    notes: &mut Vec<Diagnostic>,
) {
    for (child, parents) in CONTAINMENT {
        if !keys.iter().any(|k| k == child) {
            continue;
        }
        let linked = parents
            .iter()
            .any(|p| links.iter().any(|l| l.joins(child, p)));
        if linked {
            continue;
        }
        if let Some(parent) = parents.iter().find(|p| keys.iter().any(|k| k == *p)) {
            notes.push(Diagnostic::info(
                "inferred_relation",
                "relations",
                format!("assumed each `{child}` belongs to one `{parent}`"),
            ));
            links.push(LinkDraft::many_to_one(child, parent, true));
        }
    }
}

/// Catalog entities that no single user owns.
#[rustfmt::skip]
const SHARED_WORDS: &[&str] = &[
    "tag", "category", "label", "genre", "topic", "skill", "ingredient", "color", "size", "brand",
    "language", "country", "city", "location", "room", "venue", "amenity", "permission", "role",
    "status", "type", "currency", "unit", "species", "breed", "specialty", "department",
];

/// With auth on, each entity that has no parent and is not a person or a shared catalog gets an
/// optional owner: the user.
pub(crate) fn attach_roots_to_user(
    keys: &[String],
    links: &mut Vec<LinkDraft>,
    notes: &mut Vec<Diagnostic>,
) {
    if !keys.iter().any(|k| k == USER_KEY) {
        return;
    }
    for key in keys {
        let last = key.rsplit('_').next().unwrap_or(key);
        if key == USER_KEY || is_person_word(last) || SHARED_WORDS.contains(&last) {
            continue;
        }
        let has_parent = links
            .iter()
            .any(|l| l.from == *key && l.kind != RelationKind::ManyToMany);
        let touches_user = links.iter().any(|l| l.joins(key, USER_KEY));
        if has_parent || touches_user {
            continue;
        }
        notes.push(Diagnostic::info(
            "inferred_owner",
            "relations",
            format!("auth is on, so each `{key}` gets an optional owner (a user)"),
        ));
        links.push(LinkDraft {
            hint: Some("owner".into()),
            ..LinkDraft::many_to_one(key, USER_KEY, false)
        });
    }
}

/// The spec relation for a link, with a foreign-key name that avoids reserved words
/// (`user_id` → `owner_id`, `column_id` → `column_ref_id`).
pub(crate) fn to_relation(link: &LinkDraft, registry: &Registry) -> Option<Relation> {
    let from = registry.name_of(&link.from)?;
    let to = registry.name_of(&link.to)?;
    let to_key = registry
        .find(&link.to)
        .map(|i| registry.key(i).to_string())
        .unwrap_or_default();
    let field = match link.kind {
        RelationKind::ManyToMany => String::new(),
        _ if to_key == USER_KEY => format!("{}_id", link.hint.as_deref().unwrap_or("owner")),
        _ if is_reserved(&to_key) || is_reserved(&format!("{to_key}_id")) => {
            format!("{to_key}_ref_id")
        }
        _ => String::new(),
    };
    let on_delete = if link.required || link.kind == RelationKind::ManyToMany {
        OnDelete::Cascade
    } else {
        OnDelete::SetNull
    };
    Some(Relation {
        kind: link.kind,
        from,
        to,
        field,
        required: link.required,
        on_delete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> LinkDraft {
        let (kind, sep) = if spec.contains("<->") {
            (RelationKind::ManyToMany, "<->")
        } else if spec.contains("-1-") {
            (RelationKind::OneToOne, "-1-")
        } else {
            (RelationKind::ManyToOne, "->")
        };
        let (from, rest) = spec.split_once(sep).unwrap_or((spec, ""));
        let weak = rest.ends_with(" weak");
        let to = rest.trim_end_matches(" weak").trim();
        LinkDraft {
            kind,
            weak,
            ..LinkDraft::many_to_one(from.trim(), to, kind != RelationKind::ManyToMany)
        }
    }

    fn show(l: &LinkDraft) -> String {
        let sep = match l.kind {
            RelationKind::ManyToOne => "->",
            RelationKind::ManyToMany => "<->",
            RelationKind::OneToOne => "-1-",
        };
        format!("{} {sep} {}", l.from, l.to)
    }

    fn check(input: &[&str], expected: &[&str]) {
        let mut notes = Vec::new();
        let got: Vec<String> = settle(input.iter().map(|s| parse(s)).collect(), &mut notes)
            .iter()
            .map(show)
            .collect();
        assert_eq!(got, expected, "settle {input:?}");
    }

    #[test]
    fn settling() {
        check(
            &["book -> author weak", "book <-> author"],
            &["book <-> author"],
        );
        check(
            &["course -> student", "student -> course"],
            &["course <-> student"],
        );
        check(
            &["profile -1- user", "profile -> user"],
            &["profile -1- user"],
        );
        check(&["a -> a", "a -> b", "a -> b"], &["a -> b"]);
        check(&["a <-> b", "b <-> a"], &["a <-> b"]);
    }

    #[test]
    fn containment_and_owners() {
        let keys: Vec<String> = ["user", "board", "column", "card", "member", "tag"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut links = vec![parse("member <-> card")];
        let mut notes = Vec::new();
        infer_containment(&keys, &mut links, &mut notes);
        attach_roots_to_user(&keys, &mut links, &mut notes);
        let got: Vec<String> = links.iter().map(show).collect();
        assert_eq!(
            got,
            [
                "member <-> card",
                "column -> board",
                "card -> column",
                "board -> user"
            ]
        );
    }
}
