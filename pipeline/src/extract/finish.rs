//! Finishing: the spec is made to pass validation. Fields that clash with relation attributes are
//! dropped; whatever `codebegen_schema::check` still rejects is removed piece by piece; a minimal
//! spec is the last resort. This is what guarantees every extraction checks without errors.

use std::collections::BTreeSet;

use codebegen_schema::derived::{auth_columns, relation_names, USER_ENTITY};
use codebegen_schema::names::IMPLICIT_FIELDS;
use codebegen_schema::{check, AppSpec, Diagnostic, Entity, Field, FieldType, Severity};

/// Most repair rounds before falling back.
const MAX_ROUNDS: usize = 16;

/// Drops fields whose names a relation, auth or a range filter already uses.
pub(crate) fn drop_clashing_fields(spec: &mut AppSpec, notes: &mut Vec<Diagnostic>) {
    let names = relation_names(spec);
    let auth_cols = auth_columns(spec);
    for (i, entity) in spec.entities.iter_mut().enumerate() {
        let mut taken: Vec<String> = IMPLICIT_FIELDS.iter().map(|s| s.to_string()).collect();
        if entity.name == USER_ENTITY {
            taken.extend(auth_cols.iter().map(|s| s.to_string()));
        }
        for rel in &names {
            if rel.from == entity.name {
                taken.extend(rel.fk_column.iter().cloned());
                taken.push(rel.from_attr.clone());
            }
            if rel.to == entity.name {
                taken.push(rel.to_attr.clone());
            }
        }
        let ranges: Vec<String> = entity
            .fields
            .iter()
            .filter(|f| f.field_type.is_ordered())
            .flat_map(|f| [format!("{}_min", f.name), format!("{}_max", f.name)])
            .collect();
        let before: Vec<String> = entity.fields.iter().map(|f| f.name.clone()).collect();
        entity
            .fields
            .retain(|f| !taken.contains(&f.name) && !ranges.contains(&f.name));
        for name in before
            .iter()
            .filter(|n| !entity.fields.iter().any(|f| &f.name == *n))
        {
            notes.push(Diagnostic::info(
                "field_merged",
                format!("entities[{i}].fields"),
                format!(
                    "`{}.{name}` is provided by a relation or auth; not a separate field",
                    entity.name
                ),
            ));
        }
    }
}

/// Returns a spec that `check` accepts without errors: this one, repaired, or a minimal one.
pub(crate) fn secure(mut spec: AppSpec, notes: &mut Vec<Diagnostic>) -> AppSpec {
    drop_clashing_fields(&mut spec, notes);
    for _ in 0..MAX_ROUNDS {
        let errors: Vec<Diagnostic> = check(&spec)
            .diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if errors.is_empty() {
            return spec;
        }
        if !repair(&mut spec, &errors, notes) {
            break;
        }
    }
    notes.push(Diagnostic::warning(
        "extraction_simplified",
        "",
        "what was read from the prompt did not make a valid spec; fell back to a minimal one",
    ));
    fallback_spec(&spec.name, &spec.description)
}

/// The index in `entities[3]...` or `relations[3]...`.
fn index_after(path: &str, prefix: &str) -> Option<usize> {
    let rest = path.strip_prefix(prefix)?.strip_prefix('[')?;
    rest.split(']').next()?.parse().ok()
}

/// Removes what the errors point at. Returns whether anything changed.
fn repair(spec: &mut AppSpec, errors: &[Diagnostic], notes: &mut Vec<Diagnostic>) -> bool {
    let mut drop_relations = BTreeSet::new();
    let mut drop_fields = BTreeSet::new();
    let mut dedupe = BTreeSet::new();
    let mut drop_entities = BTreeSet::new();
    let mut changed = false;
    for error in errors {
        let path = error.path.as_str();
        if let Some(r) = index_after(path, "relations") {
            drop_relations.insert(r);
        } else if let Some(e) = index_after(path, "entities") {
            let field_path = format!("entities[{e}].fields");
            match path.strip_prefix(&field_path) {
                Some(rest) if rest.starts_with('[') => {
                    if let Some(f) = index_after(
                        path.strip_prefix(&format!("entities[{e}].")).unwrap_or(""),
                        "fields",
                    ) {
                        drop_fields.insert((e, f));
                    }
                }
                Some(_) => {
                    dedupe.insert(e);
                }
                None => {
                    let name = spec
                        .entities
                        .get(e)
                        .map(|x| x.name.clone())
                        .unwrap_or_default();
                    let touching: Vec<usize> = (0..spec.relations.len())
                        .filter(|&r| spec.relations[r].from == name || spec.relations[r].to == name)
                        .collect();
                    if touching.is_empty() || path != format!("entities[{e}]") {
                        drop_entities.insert(e);
                    } else {
                        drop_relations.extend(touching);
                    }
                }
            }
        } else if path == "entities" {
            if let Some(last) = spec.entities.iter().rposition(|x| x.name != USER_ENTITY) {
                drop_entities.insert(last);
            }
        } else if path == "name" {
            spec.name = format!("{}_project", spec.name);
            changed = true;
        }
        notes.push(Diagnostic::warning(
            "extraction_repaired",
            path,
            format!("removed to satisfy validation: {}", error.message),
        ));
    }
    for &r in drop_relations.iter().rev() {
        if r < spec.relations.len() {
            spec.relations.remove(r);
            changed = true;
        }
    }
    for &(e, f) in drop_fields.iter().rev() {
        if let Some(entity) = spec.entities.get_mut(e) {
            if f < entity.fields.len() {
                entity.fields.remove(f);
                changed = true;
            }
        }
    }
    for &e in &dedupe {
        if let Some(entity) = spec.entities.get_mut(e) {
            let mut seen = BTreeSet::new();
            let before = entity.fields.len();
            entity.fields.retain(|f| seen.insert(f.name.clone()));
            changed |= entity.fields.len() != before;
        }
    }
    for &e in drop_entities.iter().rev() {
        if e < spec.entities.len() {
            let name = spec.entities.remove(e).name;
            spec.relations.retain(|r| r.from != name && r.to != name);
            changed = true;
        }
    }
    changed && !spec.entities.is_empty()
}

/// One `Item` entity with a name and a description.
pub(crate) fn fallback_spec(name: &str, description: &str) -> AppSpec {
    let valid_name = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let mut title = Field::new("name", FieldType::String);
    title.max_length = Some(200);
    let mut text = Field::new("description", FieldType::Text);
    text.required = false;
    AppSpec {
        version: codebegen_schema::SPEC_VERSION,
        name: if valid_name {
            name.to_string()
        } else {
            "app".to_string()
        },
        description: description.to_string(),
        entities: vec![Entity {
            name: "Item".into(),
            table: "items".into(),
            fields: vec![title, text],
        }],
        relations: Vec::new(),
        auth: Default::default(),
        options: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::{OnDelete, Relation, RelationKind};

    fn entity(name: &str, table: &str, fields: &[&str]) -> Entity {
        Entity {
            name: name.into(),
            table: table.into(),
            fields: fields
                .iter()
                .map(|f| Field::new(f, FieldType::String))
                .collect(),
        }
    }

    fn spec(entities: Vec<Entity>, relations: Vec<Relation>) -> AppSpec {
        AppSpec {
            entities,
            relations,
            ..fallback_spec("t", "")
        }
    }

    fn rel(kind: RelationKind, from: &str, to: &str) -> Relation {
        Relation {
            kind,
            from: from.into(),
            to: to.into(),
            field: String::new(),
            required: false,
            on_delete: OnDelete::Cascade,
        }
    }

    #[test]
    fn clashing_fields_are_dropped() {
        let mut s = spec(
            vec![
                entity("Post", "posts", &["title", "comments", "tags"]),
                entity("Comment", "comments", &["post"]),
                entity("Tag", "tags", &["name"]),
            ],
            vec![
                rel(RelationKind::ManyToOne, "Comment", "Post"),
                rel(RelationKind::ManyToMany, "Post", "Tag"),
            ],
        );
        let mut notes = Vec::new();
        let s2 = secure(s.clone(), &mut notes);
        drop_clashing_fields(&mut s, &mut notes);
        assert_eq!(s, s2);
        let fields: Vec<&str> = s.entities[0]
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(fields, ["title"]);
        assert_eq!(s.entities[1].fields.len(), 0);
    }

    #[test]
    fn invalid_parts_are_removed() {
        let s = spec(
            vec![
                entity("Post", "posts", &["title"]),
                entity("Tag", "tags", &["name"]),
            ],
            vec![
                rel(RelationKind::ManyToMany, "Post", "Post"),
                rel(RelationKind::ManyToOne, "Post", "Nope"),
            ],
        );
        let mut notes = Vec::new();
        let out = secure(s, &mut notes);
        assert!(out.relations.is_empty());
        assert_eq!(out.entities.len(), 2);
        assert!(!codebegen_schema::has_errors(&check(&out).diagnostics));
    }

    #[test]
    fn empty_spec_falls_back() {
        let mut notes = Vec::new();
        let out = secure(spec(Vec::new(), Vec::new()), &mut notes);
        assert_eq!(out.entities[0].name, "Item");
        assert!(notes.iter().any(|n| n.code == "extraction_simplified"));
    }
}
