//! Names derived from a spec that validation checks and renderers use: relation attributes,
//! nested routes, association tables, generated class names and query parameters. One function
//! each, so the checker and the templates can never disagree.

use crate::names::{pascal_case, snake_case};
use crate::spec::{AppSpec, Entity, FieldType, RelationKind};

/// The derived names of one relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationNames {
    /// Position in `spec.relations`.
    pub index: usize,
    /// Cardinality.
    pub kind: RelationKind,
    /// The `from` entity (child, or left side of many-to-many).
    pub from: String,
    /// The `to` entity (parent, or right side).
    pub to: String,
    /// Table of `from`.
    pub from_table: String,
    /// Table of `to`.
    pub to_table: String,
    /// The foreign-key column on `from` (many-to-one, one-to-one).
    pub fk_column: Option<String>,
    /// Attribute on `from`: the parent object, or the collection for many-to-many (`book.authors`).
    pub from_attr: String,
    /// Attribute on `to`: the children collection, the single child for one-to-one, or the
    /// collection for many-to-many (`author.books`). Also the nested route segment under `to`.
    pub to_attr: String,
    /// The association table for many-to-many.
    pub association_table: Option<String>,
    /// Association columns for many-to-many: (`from` side, `to` side).
    pub association_columns: Option<(String, String)>,
}

/// The derived names of every relation, in spec order. Assumes entity names resolve; unresolved
/// relations are skipped (validation reports them).
pub fn relation_names(spec: &AppSpec) -> Vec<RelationNames> {
    let mut out = Vec::new();
    for (index, rel) in spec.relations.iter().enumerate() {
        let (Some(from), Some(to)) = (spec.entity(&rel.from), spec.entity(&rel.to)) else {
            continue;
        };
        let to_snake = snake_case(&to.name);
        match rel.kind {
            RelationKind::ManyToOne | RelationKind::OneToOne => {
                let fk = if rel.field.is_empty() {
                    format!("{to_snake}_id")
                } else {
                    rel.field.clone()
                };
                let stem = fk.strip_suffix("_id").unwrap_or(&fk).to_string();
                let children = match rel.kind {
                    RelationKind::OneToOne => snake_case(&from.name),
                    _ => from.table.clone(),
                };
                let to_attr = if from.name == to.name {
                    if stem == "parent" {
                        "children".to_string()
                    } else {
                        format!("{stem}_{children}")
                    }
                } else if stem == to_snake {
                    children
                } else {
                    format!("{stem}_{children}")
                };
                out.push(RelationNames {
                    index,
                    kind: rel.kind,
                    from: from.name.clone(),
                    to: to.name.clone(),
                    from_table: from.table.clone(),
                    to_table: to.table.clone(),
                    fk_column: Some(fk),
                    from_attr: stem,
                    to_attr,
                    association_table: None,
                    association_columns: None,
                });
            }
            RelationKind::ManyToMany => {
                let table = if rel.field.is_empty() {
                    format!("{}_{}", from.table, to.table)
                } else {
                    rel.field.clone()
                };
                let from_col = format!("{}_id", snake_case(&from.name));
                let to_col = format!("{}_id", snake_case(&to.name));
                out.push(RelationNames {
                    index,
                    kind: rel.kind,
                    from: from.name.clone(),
                    to: to.name.clone(),
                    from_table: from.table.clone(),
                    to_table: to.table.clone(),
                    fk_column: None,
                    from_attr: to.table.clone(),
                    to_attr: from.table.clone(),
                    association_table: Some(table),
                    association_columns: Some((from_col, to_col)),
                });
            }
        }
    }
    out
}

/// Where an attribute name on a generated model comes from, for collision messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeOrigin {
    /// `id`, `created_at`, `updated_at`, or an auth column on the user entity.
    Implicit,
    /// A spec field.
    Field,
    /// A foreign-key column.
    ForeignKey,
    /// A relationship attribute.
    Relationship,
}

/// Columns the auth machinery adds to the user entity.
pub fn auth_columns(spec: &AppSpec) -> Vec<&'static str> {
    if !spec.auth.enabled {
        return Vec::new();
    }
    let mut cols = vec!["hashed_password"];
    if !spec.auth.roles.is_empty() {
        cols.push("role");
    }
    cols
}

/// The name of the entity that holds users when auth is on.
pub const USER_ENTITY: &str = "User";

/// Every attribute name of an entity's model, with its origin, in a stable order.
pub fn entity_attributes(spec: &AppSpec, entity: &Entity) -> Vec<(String, AttributeOrigin)> {
    let mut out: Vec<(String, AttributeOrigin)> = crate::names::IMPLICIT_FIELDS
        .iter()
        .map(|n| (n.to_string(), AttributeOrigin::Implicit))
        .collect();
    if entity.name == USER_ENTITY {
        for col in auth_columns(spec) {
            out.push((col.to_string(), AttributeOrigin::Implicit));
        }
    }
    for field in &entity.fields {
        out.push((field.name.clone(), AttributeOrigin::Field));
    }
    for rel in relation_names(spec) {
        if rel.from == entity.name {
            if let Some(fk) = &rel.fk_column {
                out.push((fk.clone(), AttributeOrigin::ForeignKey));
            }
            out.push((rel.from_attr.clone(), AttributeOrigin::Relationship));
        }
        if rel.to == entity.name {
            out.push((rel.to_attr.clone(), AttributeOrigin::Relationship));
        }
    }
    out
}

/// Query parameters that are not fields: paging, sorting and search.
pub const LIST_PARAMS: &[&str] = &["limit", "offset", "sort", "q"];

/// Every query parameter of an entity's list endpoint: paging, equality filters, ranges.
pub fn list_query_params(spec: &AppSpec, entity: &Entity) -> Vec<String> {
    let mut out: Vec<String> = LIST_PARAMS.iter().map(|p| p.to_string()).collect();
    for field in &entity.fields {
        if field.field_type != FieldType::Json {
            out.push(field.name.clone());
        }
        if field.field_type.is_ordered() {
            out.push(format!("{}_min", field.name));
            out.push(format!("{}_max", field.name));
        }
    }
    for rel in relation_names(spec) {
        if rel.from == entity.name {
            if let Some(fk) = &rel.fk_column {
                out.push(fk.clone());
            }
        }
    }
    out
}

/// The Python class name of an enum field (`Task` + `status` → `TaskStatus`).
pub fn enum_class_name(entity: &Entity, field_name: &str) -> String {
    format!("{}{}", entity.name, pascal_case(field_name))
}

/// Every Python class name the renderer generates for the spec, with the entity it belongs to.
pub fn class_names(spec: &AppSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entity in &spec.entities {
        for suffix in ["", "Create", "Update", "Read", "List"] {
            out.push((format!("{}{suffix}", entity.name), entity.name.clone()));
        }
        for field in &entity.fields {
            if field.field_type == FieldType::Enum {
                out.push((enum_class_name(entity, &field.name), entity.name.clone()));
            }
        }
    }
    out
}

/// The Python enum member name for a value (`"in progress"` → `IN_PROGRESS`, `"1st"` → `V_1ST`).
pub fn enum_member_name(value: &str) -> String {
    let snake = snake_case(value).to_ascii_uppercase();
    if snake.is_empty() {
        return "EMPTY".to_string();
    }
    if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V_{snake}")
    } else {
        snake
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Field, OnDelete, Relation};

    fn entity(name: &str, table: &str) -> Entity {
        Entity {
            name: name.into(),
            table: table.into(),
            fields: vec![Field::new("title", FieldType::String)],
        }
    }

    fn rel(kind: RelationKind, from: &str, to: &str, field: &str) -> Relation {
        Relation {
            kind,
            from: from.into(),
            to: to.into(),
            field: field.into(),
            required: false,
            on_delete: OnDelete::Cascade,
        }
    }

    #[test]
    fn relation_attribute_names() {
        let spec = AppSpec {
            version: 1,
            name: "blog".into(),
            description: String::new(),
            entities: vec![
                entity("User", "users"),
                entity("Post", "posts"),
                entity("Tag", "tags"),
                entity("Category", "categories"),
            ],
            relations: vec![
                rel(RelationKind::ManyToOne, "Post", "User", "author_id"),
                rel(RelationKind::ManyToOne, "Post", "User", ""),
                rel(RelationKind::ManyToMany, "Post", "Tag", ""),
                rel(RelationKind::ManyToOne, "Category", "Category", "parent_id"),
            ],
            auth: Default::default(),
            options: Default::default(),
        };
        let names = relation_names(&spec);
        assert_eq!(names[0].from_attr, "author");
        assert_eq!(names[0].to_attr, "author_posts");
        assert_eq!(names[1].fk_column.as_deref(), Some("user_id"));
        assert_eq!(names[1].to_attr, "posts");
        assert_eq!(names[2].association_table.as_deref(), Some("posts_tags"));
        assert_eq!(names[2].from_attr, "tags");
        assert_eq!(names[2].to_attr, "posts");
        assert_eq!(names[3].to_attr, "children");
    }

    #[test]
    fn enum_members() {
        assert_eq!(enum_member_name("in progress"), "IN_PROGRESS");
        assert_eq!(enum_member_name("1st"), "V_1ST");
        assert_eq!(enum_member_name("High"), "HIGH");
    }
}
