//! Validation cases: each input spec JSON gives the expected diagnostics codes and normalized
//! names; the checked result always conforms to `spec.schema.json`.

use codebegen_schema::{check_value, Severity, SPEC_JSON_SCHEMA};
use serde_json::{json, Value};

/// Validates `spec` and returns (error codes, warning+info codes, normalized spec).
fn run(spec: Value) -> (Vec<String>, Vec<String>, Option<Value>) {
    let v = check_value(&spec);
    let codes = |keep: fn(Severity) -> bool| -> Vec<String> {
        v.diagnostics
            .iter()
            .filter(|d| keep(d.severity))
            .map(|d| d.code.clone())
            .collect()
    };
    let errors = codes(|s| s == Severity::Error);
    let notes = codes(|s| s != Severity::Error);
    if errors.is_empty() {
        let checked = serde_json::to_value(
            v.spec
                .as_ref()
                .expect("no errors means a checked spec")
                .spec(),
        )
        .expect("serializes");
        assert_conforms(&checked);
        (errors, notes, Some(checked))
    } else {
        assert!(v.spec.is_none(), "errors must withhold the checked spec");
        (errors, notes, None)
    }
}

fn assert_conforms(spec: &Value) {
    let schema: Value = serde_json::from_str(SPEC_JSON_SCHEMA).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let problems: Vec<String> = validator
        .iter_errors(spec)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        problems.is_empty(),
        "checked spec violates spec.schema.json: {problems:?}\n{spec:#}"
    );
}

fn spec_with(entities: Value, relations: Value) -> Value {
    json!({"version": 1, "name": "shop", "entities": entities, "relations": relations})
}

fn entity(name: &str, fields: Value) -> Value {
    json!({"name": name, "table": "", "fields": fields})
}

#[test]
fn a_good_spec_passes_untouched() {
    let (errors, notes, spec) = run(spec_with(
        json!([
            {"name": "Customer", "table": "customers", "fields": [{"name": "email", "type": "email", "required": true, "unique": true}]},
            {"name": "Order", "table": "orders", "fields": [{"name": "total", "type": "decimal", "required": true, "unique": false, "min": 0}]}
        ]),
        json!([{"kind": "many_to_one", "from": "Order", "to": "Customer", "field": "customer_id", "required": true, "on_delete": "cascade"}]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        spec.expect("checked")["relations"][0]["field"],
        "customer_id"
    );
}

#[test]
fn unknown_types_are_errors_and_synonyms_are_read() {
    let (errors, _, _) = run(spec_with(
        json!([entity("Item", json!([{"name": "x", "type": "blob"}]))]),
        json!([]),
    ));
    assert_eq!(errors, ["unknown_type"]);
    let (errors, notes, spec) = run(spec_with(
        json!([entity(
            "Item",
            json!([{"name": "n", "type": "int"}, {"name": "price", "type": "money"}])
        )]),
        json!([]),
    ));
    assert!(errors.is_empty());
    assert_eq!(notes.iter().filter(|c| *c == "type_synonym").count(), 2);
    let spec = spec.expect("checked");
    assert_eq!(spec["entities"][0]["fields"][0]["type"], "integer");
    assert_eq!(spec["entities"][0]["fields"][1]["type"], "decimal");
}

#[test]
fn duplicates_and_collisions_are_errors() {
    let (errors, _, _) = run(spec_with(
        json!([entity("Item", json!([])), entity("Item", json!([]))]),
        json!([]),
    ));
    assert_eq!(errors, ["duplicate_name"]);
    let (errors, _, _) = run(spec_with(
        json!([entity(
            "Item",
            json!([{"name": "a", "type": "string"}, {"name": "A", "type": "string"}])
        )]),
        json!([]),
    ));
    assert_eq!(errors, ["duplicate_name"]);
    // Two entities, one table.
    let (errors, _, _) = run(spec_with(
        json!([{"name": "Person", "table": "people", "fields": []}, {"name": "People", "table": "people", "fields": []}]),
        json!([]),
    ));
    assert_eq!(errors, ["duplicate_name"], "People singularizes to Person");
    let (errors, _, _) = run(spec_with(
        json!([{"name": "Person", "table": "people", "fields": []}, {"name": "Human", "table": "people", "fields": []}]),
        json!([]),
    ));
    assert_eq!(errors, ["name_collision"]);
    // A field that collides with a relation attribute.
    let (errors, _, _) = run(spec_with(
        json!([
            entity("Post", json!([{"name": "author", "type": "text"}])),
            entity("User", json!([]))
        ]),
        json!([{"kind": "many_to_one", "from": "Post", "to": "User", "field": "author_id"}]),
    ));
    assert_eq!(errors, ["name_collision"]);
    // A field that collides with a range filter of another field.
    let (errors, _, _) = run(spec_with(
        json!([entity(
            "Item",
            json!([{"name": "price", "type": "integer"}, {"name": "price_min", "type": "integer"}])
        )]),
        json!([]),
    ));
    assert_eq!(errors, ["name_collision"]);
    // Generated class names: `Post` + `Read` vs an entity called `PostRead`.
    let (errors, _, _) = run(spec_with(
        json!([entity("Post", json!([])), entity("PostRead", json!([]))]),
        json!([]),
    ));
    assert_eq!(errors, ["name_collision"]);
}

#[test]
fn relations_to_missing_entities_are_errors() {
    let (errors, _, _) = run(spec_with(
        json!([entity("Post", json!([]))]),
        json!([{"kind": "many_to_one", "from": "Post", "to": "Blog"}]),
    ));
    assert_eq!(errors, ["unknown_entity"]);
    let (errors, _, _) = run(spec_with(
        json!([entity("Post", json!([]))]),
        json!([{"kind": "one_to_many", "from": "Post", "to": "Post"}]),
    ));
    assert_eq!(errors, ["unknown_relation_kind"]);
}

#[test]
fn relations_resolve_tables_and_lowercase_names() {
    let (errors, _, spec) = run(spec_with(
        json!([entity("Post", json!([])), entity("Tag", json!([]))]),
        json!([{"kind": "many_to_many", "from": "posts", "to": "tag"}]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let spec = spec.expect("checked");
    assert_eq!(spec["relations"][0]["from"], "Post");
    assert_eq!(spec["relations"][0]["to"], "Tag");
    assert_eq!(spec["relations"][0]["field"], "posts_tags");
}

#[test]
fn reserved_names_are_renamed_with_a_diagnostic() {
    let (errors, notes, spec) = run(spec_with(
        json!([
            {"name": "User", "table": "user", "fields": [{"name": "class", "type": "string"}, {"name": "from", "type": "date"}]},
            {"name": "Order", "table": "order", "fields": [{"name": "order", "type": "integer"}, {"name": "limit", "type": "integer"}]},
            {"name": "Base", "table": "bases", "fields": []},
            {"name": "Class", "table": "classes", "fields": []}
        ]),
        json!([]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        notes.iter().filter(|c| *c == "renamed_reserved").count() >= 6,
        "{notes:?}"
    );
    let spec = spec.expect("checked");
    assert_eq!(spec["entities"][0]["table"], "users");
    assert_eq!(spec["entities"][0]["fields"][0]["name"], "class_name");
    assert_eq!(spec["entities"][0]["fields"][1]["name"], "from_value");
    assert_eq!(spec["entities"][1]["table"], "orders");
    assert_eq!(spec["entities"][1]["fields"][0]["name"], "sort_order");
    assert_eq!(spec["entities"][1]["fields"][1]["name"], "limit_value");
    assert_eq!(spec["entities"][2]["name"], "BaseRecord");
    assert_eq!(
        spec["entities"][3]["name"], "ClassRecord",
        "its module `class` would be a keyword"
    );
}

#[test]
fn names_are_normalized() {
    let (errors, _, spec) = run(spec_with(
        json!([{"name": "blog posts", "fields": [{"name": "Published At", "type": "datetime"}]}]),
        json!([]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let spec = spec.expect("checked");
    assert_eq!(spec["entities"][0]["name"], "BlogPost");
    assert_eq!(spec["entities"][0]["table"], "blog_posts");
    assert_eq!(spec["entities"][0]["fields"][0]["name"], "published_at");
}

#[test]
fn implicit_fields_and_foreign_keys_are_merged() {
    let (errors, notes, spec) = run(spec_with(
        json!([
            entity(
                "Book",
                json!([{"name": "id", "type": "integer"}, {"name": "publisher_id", "type": "integer"}, {"name": "title", "type": "string"}])
            ),
            entity("Publisher", json!([]))
        ]),
        json!([{"kind": "many_to_one", "from": "Book", "to": "Publisher"}]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        notes.contains(&"implicit_field".to_string())
            && notes.contains(&"merged_foreign_key".to_string()),
        "{notes:?}"
    );
    let spec = spec.expect("checked");
    assert_eq!(
        spec["entities"][0]["fields"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn field_constraints_are_checked() {
    let (errors, _, _) = run(spec_with(
        json!([entity("Item", json!([{"name": "status", "type": "enum"}]))]),
        json!([]),
    ));
    assert_eq!(errors, ["missing_enum_values"]);
    let (errors, _, _) = run(spec_with(
        json!([entity(
            "Item",
            json!([{"name": "n", "type": "integer", "min": 5, "max": 1}])
        )]),
        json!([]),
    ));
    assert_eq!(errors, ["invalid_bounds"]);
    let (errors, notes, spec) = run(spec_with(
        json!([entity(
            "Item",
            json!([{"name": "status", "type": "string", "enum_values": ["open", "in progress", "Open"], "default": "closed"}])
        )]),
        json!([]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        notes.contains(&"type_from_enum_values".into())
            && notes.contains(&"duplicate_enum_value".into())
            && notes.contains(&"invalid_default".into()),
        "{notes:?}"
    );
    let spec = spec.expect("checked");
    assert_eq!(
        spec["entities"][0]["fields"][0]["enum_values"],
        json!(["open", "in progress"])
    );
}

#[test]
fn auth_adds_a_user_with_a_login_email() {
    let (errors, notes, spec) = run(
        json!({"version": 1, "name": "x", "entities": [entity("Note", json!([]))], "auth": {"enabled": false, "roles": ["Admin", "member"]}}),
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        notes.contains(&"auth_enabled".into()) && notes.contains(&"user_entity_added".into()),
        "{notes:?}"
    );
    let spec = spec.expect("checked");
    assert_eq!(spec["auth"]["roles"], json!(["admin", "member"]));
    assert_eq!(spec["entities"][0]["name"], "User");
    assert_eq!(
        spec["entities"][0]["fields"][0],
        json!({"name": "email", "type": "email", "required": true, "unique": true})
    );
}

#[test]
fn required_cycles_and_self_references_are_relaxed() {
    let (errors, notes, spec) = run(spec_with(
        json!([
            entity("A", json!([])),
            entity("B", json!([])),
            entity("Category", json!([]))
        ]),
        json!([
            {"kind": "many_to_one", "from": "A", "to": "B", "required": true},
            {"kind": "many_to_one", "from": "B", "to": "A", "required": true},
            {"kind": "many_to_one", "from": "Category", "to": "Category", "field": "parent", "required": true}
        ]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        notes.contains(&"required_cycle".into())
            && notes.contains(&"optional_self_reference".into()),
        "{notes:?}"
    );
    let spec = spec.expect("checked");
    assert_eq!(spec["relations"][2]["field"], "parent_id");
    let required: Vec<bool> = spec["relations"]
        .as_array()
        .expect("relations")
        .iter()
        .map(|r| r["required"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(required.iter().filter(|r| **r).count(), 1);
}

#[test]
fn structural_garbage_gives_diagnostics_not_panics() {
    for bad in [
        json!(null),
        json!([]),
        json!("spec"),
        json!({"entities": 3}),
        json!({"entities": [1, "x", null]}),
        json!({"version": 2, "entities": []}),
    ] {
        let v = check_value(&bad);
        assert!(v.spec.is_none(), "{bad} should not validate");
        assert!(!v.diagnostics.is_empty());
    }
    let (errors, _, _) = run(
        json!({"version": 1, "name": "x", "entities": [entity("A", json!([]))], "colour": "red"}),
    );
    assert_eq!(errors, ["unknown_key"]);
}

#[test]
fn reserved_renames_keep_relations_and_plain_foreign_keys() {
    let (errors, _, spec) = run(spec_with(
        json!([
            {"name": "Message", "table": "messages", "fields": []},
            {"name": "User", "table": "users", "fields": []},
            {"name": "Group", "table": "groups", "fields": []}
        ]),
        json!([
            {"kind": "many_to_one", "from": "Message", "to": "User", "field": "user_id"},
            {"kind": "many_to_one", "from": "Message", "to": "Group"}
        ]),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let spec = spec.expect("checked");
    assert_eq!(spec["entities"][0]["name"], "MessageRecord");
    assert_eq!(
        spec["relations"][0]["from"], "MessageRecord",
        "relations follow the rename"
    );
    assert_eq!(
        spec["relations"][0]["field"], "user_id",
        "user_id is not reserved"
    );
    assert_eq!(
        spec["entities"][2]["table"], "app_groups",
        "a reserved plural table gets a prefix"
    );
}
