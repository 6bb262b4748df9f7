//! Hand-written specs shared by the render tests (included with `#[path]` by the other
//! `render_*` tests, and checked for validity here).

use codebegen_schema::{check_str, CheckedSpec};

/// A blog: auth with three roles, a many-to-many, enums, defaults, optional and required foreign
/// keys with cascade and set-null, PostgreSQL as the target.
pub const BLOG: &str = r#"{
  "version": 1,
  "name": "blog_api",
  "description": "A blog with authors, posts, tags and comments.",
  "entities": [
    {"name": "User", "table": "users", "fields": [
      {"name": "email", "type": "email", "unique": true},
      {"name": "display_name", "type": "string", "max_length": 80},
      {"name": "bio", "type": "text", "required": false}
    ]},
    {"name": "Post", "table": "posts", "fields": [
      {"name": "title", "type": "string", "max_length": 200},
      {"name": "slug", "type": "string", "unique": true, "max_length": 220},
      {"name": "body", "type": "text"},
      {"name": "status", "type": "enum", "enum_values": ["draft", "published", "in review"], "default": "draft"},
      {"name": "views", "type": "integer", "min": 0, "default": 0},
      {"name": "published_at", "type": "datetime", "required": false},
      {"name": "uuid", "type": "uuid", "required": false}
    ]},
    {"name": "Tag", "table": "tags", "fields": [
      {"name": "name", "type": "string", "max_length": 50, "unique": true}
    ]},
    {"name": "Comment", "table": "comments", "fields": [
      {"name": "body", "type": "text"},
      {"name": "rating", "type": "integer", "min": 1, "max": 5, "required": false}
    ]}
  ],
  "relations": [
    {"kind": "many_to_one", "from": "Post", "to": "User", "field": "author_id", "required": true},
    {"kind": "many_to_many", "from": "Post", "to": "Tag"},
    {"kind": "many_to_one", "from": "Comment", "to": "Post", "required": true},
    {"kind": "many_to_one", "from": "Comment", "to": "User", "field": "author_id", "on_delete": "set_null"}
  ],
  "auth": {"enabled": true, "roles": ["admin", "editor", "reader"]},
  "options": {"db": "postgresql"}
}"#;

/// A kanban board: self-references, one-to-one (also to itself), required chains, restrict and
/// set-null deletes, decimals and dates; no auth.
pub const KANBAN: &str = r#"{
  "version": 1,
  "name": "kanban",
  "description": "Boards with columns and cards",
  "entities": [
    {"name": "Board", "fields": [
      {"name": "name", "type": "string"},
      {"name": "archived", "type": "boolean", "default": false}
    ]},
    {"name": "BoardSetting", "fields": [
      {"name": "theme", "type": "enum", "enum_values": ["light", "dark"]},
      {"name": "wip_limit", "type": "integer", "min": 1, "max": 50, "required": false}
    ]},
    {"name": "Lane", "fields": [
      {"name": "title", "type": "string", "max_length": 60},
      {"name": "position", "type": "integer", "min": 0}
    ]},
    {"name": "Card", "fields": [
      {"name": "title", "type": "string"},
      {"name": "description", "type": "text", "required": false},
      {"name": "due_date", "type": "date", "required": false},
      {"name": "estimate", "type": "decimal", "min": 0, "max": 100},
      {"name": "priority", "type": "enum", "enum_values": ["low", "medium", "high"], "default": "medium"}
    ]},
    {"name": "Category", "fields": [
      {"name": "label", "type": "string", "unique": true}
    ]}
  ],
  "relations": [
    {"kind": "one_to_one", "from": "BoardSetting", "to": "Board", "required": true},
    {"kind": "many_to_one", "from": "Lane", "to": "Board", "required": true, "on_delete": "restrict"},
    {"kind": "many_to_one", "from": "Card", "to": "Lane", "required": true},
    {"kind": "many_to_one", "from": "Card", "to": "Card", "field": "parent_id", "on_delete": "set_null"},
    {"kind": "one_to_one", "from": "Card", "to": "Card", "field": "blocked_by_id", "on_delete": "set_null"},
    {"kind": "many_to_one", "from": "Category", "to": "Category", "field": "parent_id"}
  ]
}"#;

/// An inventory with every field type and constraint, names that shadow module aliases (`dt`,
/// `decimal`), an entity without fields, and a many-to-many with a custom table; no auth.
pub const INVENTORY: &str = r#"{
  "version": 1,
  "name": "inventory",
  "description": "Every field type",
  "entities": [
    {"name": "Item", "fields": [
      {"name": "name", "type": "string", "max_length": 40, "unique": true},
      {"name": "notes", "type": "text", "required": false, "max_length": 500},
      {"name": "quantity", "type": "integer", "min": -10, "max": 1000},
      {"name": "weight", "type": "float", "min": 0.5, "max": 99.5},
      {"name": "price", "type": "decimal", "min": 0.01, "default": 9.99},
      {"name": "active", "type": "boolean"},
      {"name": "released_on", "type": "date", "default": "2024-02-29"},
      {"name": "restocked_at", "type": "datetime", "default": "now"},
      {"name": "opens_at", "type": "time", "required": false},
      {"name": "contact", "type": "email", "required": false},
      {"name": "homepage", "type": "url"},
      {"name": "sku", "type": "uuid", "unique": true},
      {"name": "kind", "type": "enum", "enum_values": ["1st", "in progress", "Done!"]},
      {"name": "attributes", "type": "json", "required": false, "default": {"color": "red"}},
      {"name": "dt", "type": "date", "required": false},
      {"name": "decimal", "type": "integer", "required": false}
    ]},
    {"name": "Warehouse", "fields": [
      {"name": "city", "type": "string"}
    ]},
    {"name": "Shelf", "fields": []}
  ],
  "relations": [
    {"kind": "many_to_many", "from": "Item", "to": "Warehouse", "field": "stock"},
    {"kind": "many_to_one", "from": "Shelf", "to": "Warehouse", "required": true, "on_delete": "restrict"},
    {"kind": "many_to_one", "from": "Item", "to": "Shelf"}
  ]
}"#;

/// Every shared spec by name.
pub const ALL: [(&str, &str); 3] = [("blog", BLOG), ("kanban", KANBAN), ("inventory", INVENTORY)];

/// A shared spec, checked.
pub fn checked(text: &str) -> CheckedSpec {
    let validation = check_str(text);
    match validation.spec {
        Some(spec) => spec,
        None => panic!("invalid test spec: {:?}", validation.diagnostics),
    }
}

#[test]
fn shared_specs_are_valid() {
    for (name, text) in ALL {
        let validation = check_str(text);
        assert!(
            validation.spec.is_some(),
            "{name}: {:?}",
            validation.diagnostics
        );
    }
}
