//! Refinement: a parent spec plus a follow-up prompt → an edited spec plus diagnostics.
//!
//! Renames ("rename Customer to Client", "rename the title field of posts to headline") and
//! removals ("remove the tag entity", "drop the notes field from tasks") are read by rules here;
//! additions ("add a Comment entity with a body, belonging to posts", "posts get a published
//! flag") are read by the extractor and merged into the parent. The result still goes through
//! validation.

use codebegen_schema::names::{pascal_case, pluralize, singularize, snake_case};
use codebegen_schema::{AppSpec, Diagnostic, Severity};

use crate::extract::{extract, Extraction};

/// Applies a follow-up prompt to a parent spec.
pub fn refine(parent: &AppSpec, prompt: &str) -> Extraction {
    let mut spec = parent.clone();
    let mut diagnostics = Vec::new();
    for clause in clauses(prompt) {
        let before = diagnostics.len();
        let applied = apply_rename(&mut spec, &clause, &mut diagnostics)
            || apply_removal(&mut spec, &clause, &mut diagnostics)
            || apply_addition(&mut spec, &clause, &mut diagnostics);
        if !applied && diagnostics.len() == before {
            diagnostics.push(Diagnostic::warning(
                "refinement_not_understood",
                "",
                format!("could not apply \"{clause}\"; nothing changed for it"),
            ));
        }
    }
    Extraction { spec, diagnostics }
}

/// Splits a follow-up prompt into clauses: sentences and `;`-separated parts, and "and also".
fn clauses(prompt: &str) -> Vec<String> {
    prompt
        .split(['.', ';', '\n'])
        .flat_map(|s| {
            s.split(", and also ")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .flat_map(|s| {
            s.split(" and then ")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn tokens(clause: &str) -> Vec<String> {
    clause
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

const FILLER: &[&str] = &[
    "the",
    "a",
    "an",
    "entity",
    "entities",
    "model",
    "models",
    "table",
    "tables",
    "resource",
    "resources",
    "field",
    "fields",
    "column",
    "columns",
    "attribute",
    "property",
];

fn strip_filler(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter(|w| !FILLER.contains(&w.to_ascii_lowercase().as_str()))
        .cloned()
        .collect()
}

/// Finds an entity by any spelling: name, table, singular/plural, case-insensitive.
fn find_entity(spec: &AppSpec, raw: &str) -> Option<usize> {
    let snake = snake_case(raw);
    let single = singularize(&snake);
    spec.entities.iter().position(|e| {
        let name = snake_case(&e.name);
        name == snake || name == single || e.table == snake || e.table == pluralize(&single)
    })
}

fn find_field(spec: &AppSpec, entity: Option<usize>, raw: &str) -> Option<(usize, usize)> {
    let name = snake_case(raw);
    let candidates: Vec<usize> = match entity {
        Some(i) => vec![i],
        None => (0..spec.entities.len()).collect(),
    };
    let found: Vec<(usize, usize)> = candidates
        .into_iter()
        .filter_map(|i| {
            spec.entities[i]
                .fields
                .iter()
                .position(|f| f.name == name)
                .map(|j| (i, j))
        })
        .collect();
    (found.len() == 1).then(|| found[0])
}

fn apply_rename(spec: &mut AppSpec, clause: &str, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let words = tokens(clause);
    let Some(start) = words.iter().position(|w| w.eq_ignore_ascii_case("rename")) else {
        return false;
    };
    let rest = &words[start + 1..];
    let Some(to_at) = rest
        .iter()
        .rposition(|w| w.eq_ignore_ascii_case("to") || w.eq_ignore_ascii_case("as"))
    else {
        return false;
    };
    let new_name = strip_filler(&rest[to_at + 1..]).join(" ");
    let subject = &rest[..to_at];
    if new_name.is_empty() || subject.is_empty() {
        return false;
    }
    // "the title field of posts", "title in posts", "posts.title", "posts title".
    let (field_part, owner_part) = match subject
        .iter()
        .position(|w| matches!(w.to_ascii_lowercase().as_str(), "of" | "in" | "on" | "from"))
    {
        Some(i) => (strip_filler(&subject[..i]), strip_filler(&subject[i + 1..])),
        None => (strip_filler(subject), Vec::new()),
    };
    let subject_text = field_part.join(" ");
    let is_field_clause = subject.iter().any(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "field" | "column" | "attribute" | "property"
        )
    }) || !owner_part.is_empty();
    if !is_field_clause {
        if let Some(i) = find_entity(spec, &subject_text) {
            let old = spec.entities[i].name.clone();
            let new = pascal_case(&singularize(&snake_case(&new_name)));
            if find_entity(spec, &new).is_some_and(|j| j != i) {
                diagnostics.push(Diagnostic::error(
                    "name_collision",
                    "",
                    format!("cannot rename {old} to {new}: {new} exists"),
                ));
                return true;
            }
            spec.entities[i].name = new.clone();
            spec.entities[i].table = pluralize(&snake_case(&new));
            for rel in &mut spec.relations {
                if rel.from == old {
                    rel.from = new.clone();
                }
                if rel.to == old {
                    rel.to = new.clone();
                }
                let old_fk = format!("{}_id", snake_case(&old));
                if rel.field == old_fk {
                    rel.field = format!("{}_id", snake_case(&new));
                }
                let old_table = pluralize(&snake_case(&old));
                if rel.field.contains(&old_table)
                    && rel.kind == codebegen_schema::RelationKind::ManyToMany
                {
                    rel.field = String::new();
                }
            }
            diagnostics.push(Diagnostic::info(
                "refined_rename",
                "",
                format!("renamed entity {old} to {new}"),
            ));
            return true;
        }
    }
    let owner = owner_part.first().and_then(|o| {
        find_entity(spec, &strip_filler(&owner_part).join(" ")).or_else(|| find_entity(spec, o))
    });
    if let Some((i, j)) = find_field(spec, owner, &subject_text) {
        let old = spec.entities[i].fields[j].name.clone();
        let new = snake_case(&new_name);
        spec.entities[i].fields[j].name = new.clone();
        diagnostics.push(Diagnostic::info(
            "refined_rename",
            "",
            format!("renamed field {}.{old} to {new}", spec.entities[i].name),
        ));
        return true;
    }
    diagnostics.push(Diagnostic::warning(
        "refinement_not_understood",
        "",
        format!("\"{clause}\": nothing named `{subject_text}` to rename"),
    ));
    true
}

fn apply_removal(spec: &mut AppSpec, clause: &str, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let words = tokens(clause);
    let Some(start) = words.iter().position(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "remove" | "drop" | "delete"
        )
    }) else {
        return false;
    };
    let rest = &words[start + 1..];
    let (target, owner) = match rest
        .iter()
        .position(|w| matches!(w.to_ascii_lowercase().as_str(), "from" | "of" | "in" | "on"))
    {
        Some(i) => (strip_filler(&rest[..i]), strip_filler(&rest[i + 1..])),
        None => (strip_filler(rest), Vec::new()),
    };
    let target_text = target.join(" ");
    if target_text.is_empty() {
        return false;
    }
    let says_field = rest.iter().any(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "field" | "column" | "attribute" | "property"
        )
    });
    if owner.is_empty() && !says_field {
        if let Some(i) = find_entity(spec, &target_text) {
            let removed = spec.entities.remove(i);
            let before = spec.relations.len();
            spec.relations
                .retain(|r| r.from != removed.name && r.to != removed.name);
            let dropped = before - spec.relations.len();
            diagnostics.push(Diagnostic::info(
                "refined_remove",
                "",
                format!("removed entity {} and {dropped} relation(s)", removed.name),
            ));
            return true;
        }
    }
    let owner_index = (!owner.is_empty())
        .then(|| find_entity(spec, &owner.join(" ")))
        .flatten();
    if !owner.is_empty() && owner_index.is_none() {
        diagnostics.push(Diagnostic::warning(
            "refinement_not_understood",
            "",
            format!("\"{clause}\": no entity named `{}`", owner.join(" ")),
        ));
        return true;
    }
    if let Some((i, j)) = find_field(spec, owner_index, &target_text) {
        let field = spec.entities[i].fields.remove(j);
        diagnostics.push(Diagnostic::info(
            "refined_remove",
            "",
            format!("removed field {}.{}", spec.entities[i].name, field.name),
        ));
        return true;
    }
    // A relation: "remove the author from posts" when `author_id` is a foreign key.
    let fk = format!("{}_id", snake_case(&target_text));
    if let Some(r) = spec
        .relations
        .iter()
        .position(|r| r.field == fk && owner_index.is_none_or(|i| spec.entities[i].name == r.from))
    {
        let rel = spec.relations.remove(r);
        diagnostics.push(Diagnostic::info(
            "refined_remove",
            "",
            format!("removed relation {} → {}", rel.from, rel.to),
        ));
        return true;
    }
    diagnostics.push(Diagnostic::warning(
        "refinement_not_understood",
        "",
        format!("\"{clause}\": nothing named `{target_text}` to remove"),
    ));
    true
}

/// Rewrites an addition clause into the descriptive form the extractor reads.
fn descriptive(clause: &str) -> String {
    let words = tokens(clause);
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    // "add X to Y" → "Y has X".
    if lower.first().is_some_and(|w| w == "add" || w == "include") {
        if let Some(to) = lower.iter().rposition(|w| w == "to") {
            if to + 1 < words.len()
                && !lower[1..to]
                    .iter()
                    .any(|w| w == "entity" || w == "model" || w == "table")
            {
                return format!(
                    "{} have {}",
                    words[to + 1..].join(" "),
                    words[1..to].join(" ")
                );
            }
        }
        // Keep the clause's own punctuation: "a Comment with a body, belonging to posts".
        let rest = clause.trim_start();
        let rest = rest.split_once(char::is_whitespace).map_or("", |(_, r)| r);
        return rest
            .split(' ')
            .filter(|w| {
                !matches!(
                    w.trim_matches(|c: char| !c.is_alphanumeric())
                        .to_ascii_lowercase()
                        .as_str(),
                    "entity" | "model" | "table" | "resource" | "new"
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    let replaced: Vec<String> = words
        .iter()
        .map(|w| match w.to_ascii_lowercase().as_str() {
            "get" | "gets" | "gain" | "gains" | "need" | "needs" | "should" => "have".to_string(),
            _ => w.clone(),
        })
        .collect();
    replaced.join(" ").replace("have have", "have")
}

fn apply_addition(spec: &mut AppSpec, clause: &str, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let text = descriptive(clause);
    // Give the extractor the existing entity names as context so references resolve.
    let extraction = extract(&text);
    if extraction
        .diagnostics
        .iter()
        .any(|d| d.severity >= Severity::Warning && d.code.contains("fallback"))
    {
        return false;
    }
    let mut changed = false;
    for entity in extraction.spec.entities {
        match find_entity(spec, &entity.name) {
            Some(i) => {
                for field in entity.fields {
                    if spec.entities[i].fields.iter().any(|f| f.name == field.name) {
                        continue;
                    }
                    diagnostics.push(Diagnostic::info(
                        "refined_add",
                        "",
                        format!(
                            "added field {}.{} ({})",
                            spec.entities[i].name,
                            field.name,
                            field.field_type.as_str()
                        ),
                    ));
                    spec.entities[i].fields.push(field);
                    changed = true;
                }
            }
            None => {
                let mentioned = clause
                    .to_ascii_lowercase()
                    .contains(&entity.name.to_ascii_lowercase())
                    || clause
                        .to_ascii_lowercase()
                        .contains(&entity.table.replace('_', " "));
                if !mentioned || (entity.name == "User" && spec.auth.enabled) {
                    continue;
                }
                diagnostics.push(Diagnostic::info(
                    "refined_add",
                    "",
                    format!(
                        "added entity {} with {} field(s)",
                        entity.name,
                        entity.fields.len()
                    ),
                ));
                spec.entities.push(entity);
                changed = true;
            }
        }
    }
    for mut rel in extraction.spec.relations {
        let (Some(from), Some(to)) = (find_entity(spec, &rel.from), find_entity(spec, &rel.to))
        else {
            continue;
        };
        rel.from = spec.entities[from].name.clone();
        rel.to = spec.entities[to].name.clone();
        let exists = spec.relations.iter().any(|r| {
            (r.from == rel.from && r.to == rel.to)
                || (r.kind == rel.kind && r.from == rel.to && r.to == rel.from)
        });
        if !exists {
            diagnostics.push(Diagnostic::info(
                "refined_add",
                "",
                format!("added relation {} → {}", rel.from, rel.to),
            ));
            spec.relations.push(rel);
            changed = true;
        }
    }
    // "..., belonging to posts": the parent may exist only in the parent spec, which the
    // extractor did not see.
    let words = tokens(clause);
    if let Some(at) = words
        .iter()
        .position(|w| w.to_ascii_lowercase().starts_with("belong"))
    {
        let parent = words[at + 1..]
            .iter()
            .filter(|w| {
                !matches!(
                    w.to_ascii_lowercase().as_str(),
                    "to" | "a" | "an" | "the" | "one" | "each"
                )
            })
            .find_map(|w| find_entity(spec, w));
        let child = words[..at]
            .iter()
            .filter(|w| {
                !matches!(
                    w.to_ascii_lowercase().as_str(),
                    "add" | "a" | "an" | "the" | "new"
                )
            })
            .find_map(|w| find_entity(spec, w));
        if let (Some(p), Some(c)) = (parent, child) {
            let (from, to) = (spec.entities[c].name.clone(), spec.entities[p].name.clone());
            if from != to && !spec.relations.iter().any(|r| r.from == from && r.to == to) {
                diagnostics.push(Diagnostic::info(
                    "refined_add",
                    "",
                    format!("added relation {from} → {to}"),
                ));
                spec.relations.push(codebegen_schema::Relation {
                    kind: codebegen_schema::RelationKind::ManyToOne,
                    from,
                    to,
                    field: String::new(),
                    required: true,
                    on_delete: codebegen_schema::OnDelete::Cascade,
                });
                changed = true;
            }
        }
    }
    if extraction.spec.auth.enabled && !spec.auth.enabled {
        spec.auth.enabled = true;
        diagnostics.push(Diagnostic::info(
            "refined_add",
            "",
            "enabled authentication",
        ));
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::{check, Entity, Field, FieldType, OnDelete, Relation, RelationKind};

    fn blog() -> AppSpec {
        let entity = |name: &str, table: &str, fields: Vec<Field>| Entity {
            name: name.into(),
            table: table.into(),
            fields,
        };
        AppSpec {
            version: 1,
            name: "blog".into(),
            description: String::new(),
            entities: vec![
                entity(
                    "Post",
                    "posts",
                    vec![
                        Field::new("title", FieldType::String),
                        Field::new("body", FieldType::Text),
                    ],
                ),
                entity("Tag", "tags", vec![Field::new("name", FieldType::String)]),
                entity(
                    "Customer",
                    "customers",
                    vec![
                        Field::new("name", FieldType::String),
                        Field::new("notes", FieldType::Text),
                    ],
                ),
            ],
            relations: vec![
                Relation {
                    kind: RelationKind::ManyToMany,
                    from: "Post".into(),
                    to: "Tag".into(),
                    field: "posts_tags".into(),
                    required: false,
                    on_delete: OnDelete::Cascade,
                },
                Relation {
                    kind: RelationKind::ManyToOne,
                    from: "Post".into(),
                    to: "Customer".into(),
                    field: "customer_id".into(),
                    required: false,
                    on_delete: OnDelete::Cascade,
                },
            ],
            auth: Default::default(),
            options: Default::default(),
        }
    }

    fn refined(prompt: &str) -> AppSpec {
        let out = refine(&blog(), prompt);
        let v = check(&out.spec);
        assert!(
            v.spec.is_some(),
            "{prompt}: {:?} / {:?}",
            v.diagnostics,
            out.diagnostics
        );
        v.spec.expect("checked").into_inner()
    }

    #[test]
    fn renames_an_entity_and_its_references() {
        let s = refined("rename Customer to Client");
        assert!(s.entity("Customer").is_none());
        assert_eq!(
            s.entity("Client").map(|e| e.table.as_str()),
            Some("clients")
        );
        assert!(s
            .relations
            .iter()
            .any(|r| r.to == "Client" && r.field == "client_id"));
    }

    #[test]
    fn renames_a_field() {
        let s = refined("rename the title field of posts to headline");
        assert!(s
            .entity("Post")
            .is_some_and(|e| e.field("headline").is_some() && e.field("title").is_none()));
    }

    #[test]
    fn removes_an_entity_with_its_relations() {
        let s = refined("remove the tag entity");
        assert!(s.entity("Tag").is_none());
        assert!(s.relations.iter().all(|r| r.to != "Tag" && r.from != "Tag"));
    }

    #[test]
    fn removes_a_field() {
        let s = refined("drop the notes field from customers");
        assert!(s
            .entity("Customer")
            .is_some_and(|e| e.field("notes").is_none() && e.field("name").is_some()));
    }

    #[test]
    fn adds_a_field_to_an_existing_entity() {
        let s = refined("posts get a published flag");
        let published = s
            .entity("Post")
            .and_then(|e| e.field("published").or_else(|| e.field("is_published")))
            .expect("a published field");
        assert_eq!(published.field_type, FieldType::Boolean);
    }

    #[test]
    fn adds_an_entity_belonging_to_another() {
        let s = refined("add a Comment entity with a body, belonging to posts");
        let comment = s.entity("Comment").expect("Comment added");
        assert!(comment.field("body").is_some());
        assert!(
            s.relations
                .iter()
                .any(|r| r.from == "Comment" && r.to == "Post"),
            "{:?}",
            s.relations
        );
    }

    #[test]
    fn unknown_requests_change_nothing_and_say_so() {
        let out = refine(&blog(), "make it faster");
        assert_eq!(out.spec, blog());
        assert!(out
            .diagnostics
            .iter()
            .any(|d| d.code == "refinement_not_understood"));
    }
}
