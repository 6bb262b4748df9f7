//! Validation: untrusted spec JSON → a [`CheckedSpec`] plus diagnostics. Never panics on input.
//!
//! It reads the JSON leniently (synonym types, missing tables, wrong case), normalizes names,
//! renames what breaks Python or SQL, and reports what cannot be repaired as errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::derived::{class_names, entity_attributes, list_query_params, USER_ENTITY};
use crate::diagnostics::{has_errors, Diagnostic};
use crate::names::{
    is_reserved, pascal_case, pluralize, singularize, snake_case, IMPLICIT_FIELDS, LIST_RESERVED,
    RESERVED_CLASS_NAMES,
};
use crate::spec::{
    AppSpec, Auth, CheckedSpec, Database, Entity, Field, FieldType, OnDelete, Options, Relation,
    RelationKind, SPEC_VERSION, STACK_FASTAPI_SQLALCHEMY,
};

/// Most entities a spec may hold.
pub const MAX_ENTITIES: usize = 60;
/// Most fields an entity may hold.
pub const MAX_FIELDS: usize = 120;

/// The outcome of validation.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The checked spec, present when there is no error diagnostic.
    pub spec: Option<CheckedSpec>,
    /// The normalized spec as far as it could be read, even with errors (for display).
    pub best_effort: Option<AppSpec>,
    /// Everything validation noticed, in order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Validates a spec already in typed form.
pub fn check(spec: &AppSpec) -> Validation {
    let value = serde_json::to_value(spec).expect("AppSpec is plain data and always serializes");
    check_value(&value)
}

/// Validates a spec given as JSON text.
pub fn check_str(text: &str) -> Validation {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => check_value(&value),
        Err(err) => Validation {
            spec: None,
            best_effort: None,
            diagnostics: vec![Diagnostic::error(
                "invalid_json",
                "",
                format!("the spec is not valid JSON: {err}"),
            )],
        },
    }
}

/// Validates a spec given as a JSON value.
pub fn check_value(value: &Value) -> Validation {
    let mut cx = Checker::default();
    let spec = cx.read_spec(value);
    let Some(mut spec) = spec else {
        return Validation {
            spec: None,
            best_effort: None,
            diagnostics: cx.diags,
        };
    };
    cx.normalize_auth(&mut spec);
    cx.check_relations(&mut spec);
    cx.check_collisions(&spec);
    let ok = !has_errors(&cx.diags);
    Validation {
        spec: ok.then(|| CheckedSpec::new_unchecked(spec.clone())),
        best_effort: Some(spec),
        diagnostics: cx.diags,
    }
}

#[derive(Default)]
struct Checker {
    diags: Vec<Diagnostic>,
    /// Original entity spellings → the names validation gave them (so relations still resolve).
    renamed_entities: Vec<(String, String)>,
}

fn keys_allowed(
    obj: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
    diags: &mut Vec<Diagnostic>,
) {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            diags.push(Diagnostic::error(
                "unknown_key",
                join(path, key),
                format!("unknown key `{key}`; allowed here: {}", allowed.join(", ")),
            ));
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A friendlier replacement for a reserved field name.
fn rename_reserved_field(name: &str) -> String {
    match name {
        "order" => "sort_order".into(),
        "class" => "class_name".into(),
        "from" => "from_value".into(),
        "to" => "to_value".into(),
        "key" => "key_name".into(),
        "group" => "group_name".into(),
        "limit" => "limit_value".into(),
        "offset" => "offset_value".into(),
        "sort" => "sort_key".into(),
        "q" => "q_value".into(),
        "rank" => "rank_value".into(),
        "user" => "user_name".into(),
        "index" => "index_value".into(),
        "default" => "default_value".into(),
        other => format!("{other}_value"),
    }
}

impl Checker {
    fn err(&mut self, code: &str, path: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, path, msg));
    }
    fn warn(&mut self, code: &str, path: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(code, path, msg));
    }
    fn info(&mut self, code: &str, path: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::info(code, path, msg));
    }

    fn read_spec(&mut self, value: &Value) -> Option<AppSpec> {
        let Some(obj) = value.as_object() else {
            self.err("not_an_object", "", "the spec must be a JSON object");
            return None;
        };
        keys_allowed(
            obj,
            &[
                "version",
                "name",
                "description",
                "entities",
                "relations",
                "auth",
                "options",
            ],
            "",
            &mut self.diags,
        );
        match obj.get("version") {
            None => self.warn("missing_version", "version", "no `version`; assuming 1"),
            Some(v) if v.as_u64() == Some(u64::from(SPEC_VERSION)) => {}
            Some(v) => self.err(
                "unsupported_version",
                "version",
                format!(
                    "spec version {v} is not supported; this build reads version {SPEC_VERSION}"
                ),
            ),
        }
        let raw_name = obj.get("name").and_then(Value::as_str).unwrap_or("");
        let mut name = snake_case(raw_name);
        if name.is_empty() {
            name = "app".into();
            self.warn("missing_name", "name", "no usable `name`; using `app`");
        } else if name != raw_name {
            self.info(
                "renamed",
                "name",
                format!("project name `{raw_name}` normalized to `{name}`"),
            );
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name = format!("app_{name}");
        }
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();

        let mut entities = Vec::new();
        match obj.get("entities") {
            Some(Value::Array(items)) => {
                if items.len() > MAX_ENTITIES {
                    self.err(
                        "too_many_entities",
                        "entities",
                        format!(
                            "{} entities; at most {MAX_ENTITIES} are supported",
                            items.len()
                        ),
                    );
                }
                for (i, item) in items.iter().enumerate().take(MAX_ENTITIES) {
                    if let Some(e) = self.read_entity(item, &format!("entities[{i}]")) {
                        entities.push(e);
                    }
                }
            }
            Some(_) => self.err(
                "invalid_entities",
                "entities",
                "`entities` must be an array",
            ),
            None => {}
        }
        self.dedupe_entities(&mut entities);

        let mut relations = Vec::new();
        match obj.get("relations") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(r) = self.read_relation(item, &format!("relations[{i}]")) {
                        relations.push(r);
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => self.err(
                "invalid_relations",
                "relations",
                "`relations` must be an array",
            ),
        }
        let auth = self.read_auth(obj.get("auth"));
        let options = self.read_options(obj.get("options"));
        let spec = AppSpec {
            version: SPEC_VERSION,
            name,
            description,
            entities,
            relations,
            auth,
            options,
        };
        if spec.entities.is_empty() && !spec.auth.enabled {
            self.err("no_entities", "entities", "the spec has no entities");
        }
        Some(spec)
    }

    fn read_entity(&mut self, value: &Value, path: &str) -> Option<Entity> {
        let Some(obj) = value.as_object() else {
            self.err("invalid_entity", path, "an entity must be an object");
            return None;
        };
        keys_allowed(
            obj,
            &["name", "table", "fields", "description"],
            path,
            &mut self.diags,
        );
        let raw_name = obj.get("name").and_then(Value::as_str).unwrap_or("").trim();
        let mut name = pascal_case(&singularize(&snake_case(raw_name)));
        if name.is_empty() {
            self.err(
                "invalid_name",
                join(path, "name"),
                "an entity needs a non-empty `name`",
            );
            return None;
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name = format!("Item{name}");
        }
        let module_is_keyword = crate::names::PYTHON_KEYWORDS.contains(&snake_case(&name).as_str());
        if RESERVED_CLASS_NAMES.contains(&name.as_str()) || module_is_keyword {
            let renamed = format!("{name}Record");
            self.renamed_entities.push((name.clone(), renamed.clone()));
            self.renamed_entities
                .push((raw_name.to_string(), renamed.clone()));
            self.warn(
                "renamed_reserved",
                join(path, "name"),
                format!(
                    "entity name `{name}` is used by the generated code; renamed to `{renamed}`"
                ),
            );
            name = renamed;
        } else if name != raw_name {
            self.info(
                "renamed",
                join(path, "name"),
                format!("entity `{raw_name}` normalized to `{name}` (PascalCase, singular)"),
            );
        }
        let raw_table = obj
            .get("table")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim();
        let mut table = if raw_table.is_empty() {
            pluralize(&snake_case(&name))
        } else {
            snake_case(raw_table)
        };
        if is_reserved(&table) {
            let already_plural = singularize(&table) != table;
            let renamed = if already_plural
                || is_reserved(&pluralize(&table))
                || pluralize(&table) == table
            {
                format!("app_{table}")
            } else {
                pluralize(&table)
            };
            self.warn(
                "renamed_reserved",
                join(path, "table"),
                format!("table name `{table}` is reserved in SQL; renamed to `{renamed}`"),
            );
            table = renamed;
        }
        if !raw_table.is_empty() && singularize(&table) == table && pluralize(&table) != table {
            let plural = pluralize(&table);
            self.info(
                "renamed",
                join(path, "table"),
                format!("table `{table}` is singular; using `{plural}`"),
            );
            table = plural;
        }
        let mut fields = Vec::new();
        match obj.get("fields") {
            Some(Value::Array(items)) => {
                if items.len() > MAX_FIELDS {
                    self.err(
                        "too_many_fields",
                        join(path, "fields"),
                        format!("{} fields; at most {MAX_FIELDS} are supported", items.len()),
                    );
                }
                for (i, item) in items.iter().enumerate().take(MAX_FIELDS) {
                    if let Some(f) = self.read_field(item, &format!("{path}.fields[{i}]")) {
                        fields.push(f);
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => self.err(
                "invalid_fields",
                join(path, "fields"),
                "`fields` must be an array",
            ),
        }
        let mut seen = BTreeSet::new();
        fields.retain(|f: &Field| {
            if IMPLICIT_FIELDS.contains(&f.name.as_str()) {
                self.diags.push(Diagnostic::info(
                    "implicit_field",
                    format!("{path}.fields"),
                    format!(
                        "field `{}` is generated for every entity; dropped from `{name}`",
                        f.name
                    ),
                ));
                return false;
            }
            if !seen.insert(f.name.clone()) {
                self.diags.push(Diagnostic::error(
                    "duplicate_name",
                    format!("{path}.fields"),
                    format!("field `{}` appears twice in `{name}`", f.name),
                ));
                return false;
            }
            true
        });
        Some(Entity {
            name,
            table,
            fields,
        })
    }

    fn read_field(&mut self, value: &Value, path: &str) -> Option<Field> {
        let Some(obj) = value.as_object() else {
            self.err("invalid_field", path, "a field must be an object");
            return None;
        };
        keys_allowed(
            obj,
            &[
                "name",
                "type",
                "required",
                "unique",
                "default",
                "enum_values",
                "max_length",
                "min",
                "max",
                "description",
            ],
            path,
            &mut self.diags,
        );
        let raw_name = obj.get("name").and_then(Value::as_str).unwrap_or("").trim();
        let mut name = snake_case(raw_name);
        if name.is_empty() {
            self.err(
                "invalid_name",
                join(path, "name"),
                "a field needs a non-empty `name`",
            );
            return None;
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name = format!("field_{name}");
        }
        if name != raw_name {
            self.info(
                "renamed",
                join(path, "name"),
                format!("field `{raw_name}` normalized to `{name}`"),
            );
        }
        if is_reserved(&name) || LIST_RESERVED.contains(&name.as_str()) {
            let renamed = rename_reserved_field(&name);
            self.warn(
                "renamed_reserved",
                join(path, "name"),
                format!("field name `{name}` breaks Python, SQL or the list endpoint; renamed to `{renamed}`"),
            );
            name = renamed;
        }
        let raw_type = obj.get("type").and_then(Value::as_str).unwrap_or("string");
        let mut field_type = match FieldType::parse_lenient(raw_type) {
            Some((t, false)) => t,
            Some((t, true)) => {
                self.info(
                    "type_synonym",
                    join(path, "type"),
                    format!("type `{raw_type}` read as `{}`", t.as_str()),
                );
                t
            }
            None => {
                let known: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
                self.err(
                    "unknown_type",
                    join(path, "type"),
                    format!(
                        "unknown type `{raw_type}` for field `{name}`; known types: {}",
                        known.join(", ")
                    ),
                );
                return None;
            }
        };
        let required = self.read_bool(obj, "required", path, true);
        let unique = self.read_bool(obj, "unique", path, false);
        let mut enum_values = match obj.get("enum_values") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut values: Vec<String> = Vec::new();
                for item in items {
                    let text = match item {
                        Value::String(s) => s.trim().to_string(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => String::new(),
                    };
                    if text.is_empty() {
                        self.warn(
                            "invalid_enum_value",
                            join(path, "enum_values"),
                            "dropped an empty or non-scalar enum value",
                        );
                        continue;
                    }
                    let member = crate::derived::enum_member_name(&text);
                    if values
                        .iter()
                        .any(|v| crate::derived::enum_member_name(v) == member)
                    {
                        self.warn(
                            "duplicate_enum_value",
                            join(path, "enum_values"),
                            format!("enum value `{text}` repeats another; dropped"),
                        );
                        continue;
                    }
                    values.push(text);
                }
                Some(values)
            }
            Some(_) => {
                self.err(
                    "invalid_enum_values",
                    join(path, "enum_values"),
                    "`enum_values` must be an array of strings",
                );
                None
            }
        };
        if enum_values.as_ref().is_some_and(|v| !v.is_empty()) && field_type != FieldType::Enum {
            if matches!(field_type, FieldType::String | FieldType::Text) {
                self.info(
                    "type_from_enum_values",
                    join(path, "type"),
                    format!("field `{name}` lists enum_values; typed as `enum`"),
                );
                field_type = FieldType::Enum;
            } else {
                self.warn(
                    "ignored_enum_values",
                    join(path, "enum_values"),
                    format!("`enum_values` only applies to enum fields; ignored on `{name}`"),
                );
                enum_values = None;
            }
        }
        if field_type == FieldType::Enum && enum_values.as_ref().is_none_or(|v| v.is_empty()) {
            self.err(
                "missing_enum_values",
                join(path, "enum_values"),
                format!("enum field `{name}` needs at least one value in `enum_values`"),
            );
        }
        let mut max_length = match obj.get("max_length") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=65_535).contains(&n) => Some(n as u32),
                _ => {
                    self.err(
                        "invalid_max_length",
                        join(path, "max_length"),
                        "`max_length` must be an integer from 1 to 65535",
                    );
                    None
                }
            },
        };
        if max_length.is_some()
            && !matches!(
                field_type,
                FieldType::String | FieldType::Email | FieldType::Url | FieldType::Text
            )
        {
            self.warn(
                "ignored_max_length",
                join(path, "max_length"),
                format!(
                    "`max_length` does not apply to {} fields; ignored",
                    field_type.as_str()
                ),
            );
            max_length = None;
        }
        let mut bound = |key: &str| -> Option<f64> {
            match obj.get(key) {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_f64() {
                    Some(n) if n.is_finite() => Some(n),
                    _ => {
                        self.diags.push(Diagnostic::error(
                            "invalid_bound",
                            join(path, key),
                            format!("`{key}` must be a number"),
                        ));
                        None
                    }
                },
            }
        };
        let mut min = bound("min");
        let mut max = bound("max");
        if (min.is_some() || max.is_some())
            && !matches!(
                field_type,
                FieldType::Integer | FieldType::Float | FieldType::Decimal
            )
        {
            self.warn(
                "ignored_bounds",
                path,
                format!("`min`/`max` only apply to numbers; ignored on `{name}`"),
            );
            min = None;
            max = None;
        }
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                self.err(
                    "invalid_bounds",
                    path,
                    format!("`min` {lo} is greater than `max` {hi} on `{name}`"),
                );
            }
        }
        let mut default = obj.get("default").cloned().filter(|v| !v.is_null());
        if let Some(d) = &default {
            if let Err(why) = default_fits(d, field_type, enum_values.as_deref(), min, max) {
                self.warn(
                    "invalid_default",
                    join(path, "default"),
                    format!("default {d} for `{name}` dropped: {why}"),
                );
                default = None;
            }
        }
        Some(Field {
            name,
            field_type,
            required,
            unique,
            default,
            enum_values: if field_type == FieldType::Enum {
                enum_values
            } else {
                None
            },
            max_length,
            min,
            max,
        })
    }

    fn read_bool(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        fallback: bool,
    ) -> bool {
        match obj.get(key) {
            None | Some(Value::Null) => fallback,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.warn(
                    "invalid_flag",
                    join(path, key),
                    format!("`{key}` must be true or false, got {other}; using {fallback}"),
                );
                fallback
            }
        }
    }

    fn dedupe_entities(&mut self, entities: &mut Vec<Entity>) {
        let mut names = BTreeSet::new();
        let mut tables = BTreeMap::new();
        let mut kept = Vec::new();
        for (i, e) in entities.drain(..).enumerate() {
            if !names.insert(e.name.clone()) {
                self.err(
                    "duplicate_name",
                    format!("entities[{i}].name"),
                    format!("entity `{}` is defined twice", e.name),
                );
                continue;
            }
            if let Some(other) = tables.insert(e.table.clone(), e.name.clone()) {
                self.err(
                    "name_collision",
                    format!("entities[{i}].table"),
                    format!(
                        "entities `{other}` and `{}` both use table `{}`",
                        e.name, e.table
                    ),
                );
                continue;
            }
            kept.push(e);
        }
        *entities = kept;
    }

    fn read_relation(&mut self, value: &Value, path: &str) -> Option<Relation> {
        let Some(obj) = value.as_object() else {
            self.err("invalid_relation", path, "a relation must be an object");
            return None;
        };
        keys_allowed(
            obj,
            &["kind", "from", "to", "field", "required", "on_delete"],
            path,
            &mut self.diags,
        );
        let raw_kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let kind = match snake_case(raw_kind).as_str() {
            "many_to_one" | "belongs_to" => RelationKind::ManyToOne,
            "many_to_many" => RelationKind::ManyToMany,
            "one_to_one" | "has_one" => RelationKind::OneToOne,
            _ => {
                self.err(
                    "unknown_relation_kind",
                    join(path, "kind"),
                    format!("unknown relation kind `{raw_kind}`; use many_to_one, many_to_many or one_to_one (one-to-many is many_to_one from the child)"),
                );
                return None;
            }
        };
        let from = obj
            .get("from")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let to = obj
            .get("to")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let field = snake_case(obj.get("field").and_then(Value::as_str).unwrap_or(""));
        let required = self.read_bool(obj, "required", path, false);
        let on_delete = match obj.get("on_delete").and_then(Value::as_str) {
            None => OnDelete::Cascade,
            Some(raw) => match snake_case(raw).as_str() {
                "cascade" => OnDelete::Cascade,
                "set_null" => OnDelete::SetNull,
                "restrict" | "protect" | "no_action" => OnDelete::Restrict,
                _ => {
                    self.warn(
                        "invalid_on_delete",
                        join(path, "on_delete"),
                        format!("unknown on_delete `{raw}`; using cascade"),
                    );
                    OnDelete::Cascade
                }
            },
        };
        Some(Relation {
            kind,
            from,
            to,
            field,
            required,
            on_delete,
        })
    }

    fn read_auth(&mut self, value: Option<&Value>) -> Auth {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Auth::default();
        };
        let Some(obj) = value.as_object() else {
            self.err("invalid_auth", "auth", "`auth` must be an object");
            return Auth::default();
        };
        keys_allowed(obj, &["enabled", "roles"], "auth", &mut self.diags);
        let enabled = self.read_bool(obj, "enabled", "auth", false);
        let mut roles: Vec<String> = Vec::new();
        if let Some(items) = obj.get("roles").and_then(Value::as_array) {
            for item in items {
                let role = snake_case(item.as_str().unwrap_or(""));
                if role.is_empty() || roles.contains(&role) {
                    self.warn(
                        "invalid_role",
                        "auth.roles",
                        format!("role {item} is empty or repeated; dropped"),
                    );
                    continue;
                }
                roles.push(role);
            }
        }
        Auth { enabled, roles }
    }

    fn read_options(&mut self, value: Option<&Value>) -> Options {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Options::default();
        };
        let Some(obj) = value.as_object() else {
            self.err("invalid_options", "options", "`options` must be an object");
            return Options::default();
        };
        keys_allowed(obj, &["db", "stack"], "options", &mut self.diags);
        let db = match obj.get("db").and_then(Value::as_str) {
            None => Database::default(),
            Some(raw) => Database::parse(raw).unwrap_or_else(|| {
                self.err(
                    "unknown_db",
                    "options.db",
                    format!("unknown database `{raw}`; use sqlite, postgresql or mysql"),
                );
                Database::default()
            }),
        };
        let stack = obj
            .get("stack")
            .and_then(Value::as_str)
            .unwrap_or(STACK_FASTAPI_SQLALCHEMY)
            .to_string();
        if stack != STACK_FASTAPI_SQLALCHEMY {
            self.err(
                "unknown_stack",
                "options.stack",
                format!("unknown stack `{stack}`; available: {STACK_FASTAPI_SQLALCHEMY}"),
            );
        }
        Options { db, stack }
    }

    fn normalize_auth(&mut self, spec: &mut AppSpec) {
        if !spec.auth.roles.is_empty() && !spec.auth.enabled {
            self.info(
                "auth_enabled",
                "auth.enabled",
                "roles are listed, so auth is enabled",
            );
            spec.auth.enabled = true;
        }
        if !spec.auth.enabled {
            return;
        }
        if spec.entity(USER_ENTITY).is_none() {
            self.info(
                "user_entity_added",
                "entities",
                "auth is enabled, so a `User` entity was added",
            );
            spec.entities.insert(
                0,
                Entity {
                    name: USER_ENTITY.into(),
                    table: "users".into(),
                    fields: Vec::new(),
                },
            );
        }
        let user_index = spec
            .entities
            .iter()
            .position(|e| e.name == USER_ENTITY)
            .expect("inserted above");
        let path = format!("entities[{user_index}]");
        let user = &mut spec.entities[user_index];
        let before = user.fields.len();
        user.fields.retain(|f| {
            !matches!(
                f.name.as_str(),
                "password" | "hashed_password" | "password_hash" | "role" | "role_value"
            )
        });
        if user.fields.len() != before {
            self.diags.push(Diagnostic::info(
                "auth_managed_field",
                format!("{path}.fields"),
                "password and role columns of `User` are managed by auth; removed from the field list",
            ));
        }
        match user.fields.iter().position(|f| f.name == "email") {
            Some(i) => {
                let email = &mut user.fields[i];
                if email.field_type != FieldType::Email || !email.unique || !email.required {
                    email.field_type = FieldType::Email;
                    email.unique = true;
                    email.required = true;
                    self.diags.push(Diagnostic::info(
                        "auth_email",
                        format!("{path}.fields"),
                        "`User.email` made a required, unique email for login",
                    ));
                }
            }
            None => {
                let mut email = Field::new("email", FieldType::Email);
                email.unique = true;
                user.fields.insert(0, email);
                self.diags.push(Diagnostic::info(
                    "auth_email",
                    format!("{path}.fields"),
                    "added `User.email` for login",
                ));
            }
        }
    }

    fn check_relations(&mut self, spec: &mut AppSpec) {
        let mut by_key: HashMap<String, String> = spec
            .entities
            .iter()
            .flat_map(|e| {
                [
                    (e.name.to_ascii_lowercase(), e.name.clone()),
                    (e.table.clone(), e.name.clone()),
                    (snake_case(&e.name), e.name.clone()),
                ]
            })
            .collect();
        for (original, renamed) in &self.renamed_entities {
            if spec.entity(renamed).is_some() {
                by_key
                    .entry(original.to_ascii_lowercase())
                    .or_insert_with(|| renamed.clone());
                by_key
                    .entry(snake_case(original))
                    .or_insert_with(|| renamed.clone());
            }
        }
        let resolve = |raw: &str| -> Option<String> {
            let lower = raw.to_ascii_lowercase();
            by_key
                .get(&lower)
                .or_else(|| by_key.get(&snake_case(raw)))
                .or_else(|| {
                    by_key.get(&pascal_case(&singularize(&snake_case(raw))).to_ascii_lowercase())
                })
                .cloned()
        };
        let mut kept: Vec<Relation> = Vec::new();
        for (i, mut rel) in std::mem::take(&mut spec.relations).into_iter().enumerate() {
            let path = format!("relations[{i}]");
            let mut missing = false;
            for (side, raw) in [("from", rel.from.clone()), ("to", rel.to.clone())] {
                match resolve(&raw) {
                    Some(name) => {
                        if side == "from" {
                            rel.from = name;
                        } else {
                            rel.to = name;
                        }
                    }
                    None => {
                        self.err(
                            "unknown_entity",
                            join(&path, side),
                            format!("relation {side} `{raw}`, which is not an entity"),
                        );
                        missing = true;
                    }
                }
            }
            if missing {
                continue;
            }
            match rel.kind {
                RelationKind::ManyToOne | RelationKind::OneToOne => {
                    let default_fk = format!("{}_id", snake_case(&rel.to));
                    if rel.field.is_empty() {
                        rel.field = default_fk;
                    } else if !rel.field.ends_with("_id") {
                        let fk = format!("{}_id", rel.field);
                        self.info(
                            "renamed",
                            join(&path, "field"),
                            format!("foreign key `{}` renamed to `{fk}`", rel.field),
                        );
                        rel.field = fk;
                    }
                    let stem = rel.field.trim_end_matches("_id").to_string();
                    if crate::names::PYTHON_RESERVED.contains(&stem.as_str())
                        || is_reserved(&rel.field)
                    {
                        let fk = format!("{}_id", rename_reserved_field(&stem));
                        self.warn("renamed_reserved", join(&path, "field"), format!("foreign key `{}` would make a reserved attribute name; renamed to `{fk}`", rel.field));
                        rel.field = fk;
                    }
                    if rel.from == rel.to && rel.required {
                        self.warn("optional_self_reference", join(&path, "required"), format!("a self-reference on `{}` cannot be required (the first row has no parent); made optional", rel.from));
                        rel.required = false;
                    }
                    if rel.required && rel.on_delete == OnDelete::SetNull {
                        self.warn(
                            "invalid_on_delete",
                            join(&path, "on_delete"),
                            "set_null needs an optional relation; using cascade",
                        );
                        rel.on_delete = OnDelete::Cascade;
                    }
                    if let Some(child) = spec.entities.iter_mut().find(|e| e.name == rel.from) {
                        let stem = rel.field.trim_end_matches("_id").to_string();
                        let before = child.fields.len();
                        child.fields.retain(|f| {
                            f.name != rel.field
                                && !(f.name == stem
                                    && f.field_type != FieldType::Json
                                    && is_reference_like(f))
                        });
                        if child.fields.len() != before {
                            self.info("merged_foreign_key", &path, format!("field `{}` on `{}` is the relation's foreign key; merged into the relation", rel.field, rel.from));
                        }
                    }
                }
                RelationKind::ManyToMany => {
                    if rel.from == rel.to {
                        self.err("self_many_to_many", &path, format!("many-to-many from `{}` to itself is not supported yet; model it as a separate link entity", rel.from));
                        continue;
                    }
                    if rel.field.is_empty() {
                        let (a, b) = (table_of(spec, &rel.from), table_of(spec, &rel.to));
                        rel.field = format!("{a}_{b}");
                    }
                    rel.required = false;
                }
            }
            let duplicate = kept.iter().any(|k| {
                k.kind == rel.kind
                    && ((k.from == rel.from && k.to == rel.to && k.field == rel.field)
                        || (rel.kind == RelationKind::ManyToMany
                            && k.from == rel.to
                            && k.to == rel.from))
            });
            if duplicate {
                self.warn(
                    "duplicate_relation",
                    &path,
                    format!(
                        "relation {} → {} repeats another; dropped",
                        rel.from, rel.to
                    ),
                );
                continue;
            }
            kept.push(rel);
        }
        spec.relations = kept;
        self.break_required_cycles(spec);
    }

    /// Required many-to-one chains must be acyclic, or no row could ever be created first.
    fn break_required_cycles(&mut self, spec: &mut AppSpec) {
        loop {
            let edges: Vec<(usize, &Relation)> = spec
                .relations
                .iter()
                .enumerate()
                .filter(|(_, r)| r.required && r.kind != RelationKind::ManyToMany)
                .collect();
            let mut cycle_edge = None;
            for (index, rel) in &edges {
                // Is there a required path from rel.to back to rel.from?
                let mut stack = vec![rel.to.clone()];
                let mut seen = BTreeSet::new();
                while let Some(node) = stack.pop() {
                    if node == rel.from {
                        cycle_edge = Some(*index);
                        break;
                    }
                    if seen.insert(node.clone()) {
                        stack.extend(
                            edges
                                .iter()
                                .filter(|(_, r)| r.from == node)
                                .map(|(_, r)| r.to.clone()),
                        );
                    }
                }
                if cycle_edge.is_some() {
                    break;
                }
            }
            let Some(index) = cycle_edge else { return };
            let rel = &mut spec.relations[index];
            rel.required = false;
            if rel.on_delete == OnDelete::Cascade {
                rel.on_delete = OnDelete::SetNull;
            }
            self.diags.push(Diagnostic::warning(
                "required_cycle",
                format!("relations[{index}].required"),
                format!("required relations form a cycle through `{}` → `{}`; this one was made optional", rel.from, rel.to),
            ));
        }
    }

    fn check_collisions(&mut self, spec: &AppSpec) {
        for (i, entity) in spec.entities.iter().enumerate() {
            let mut seen: BTreeMap<String, crate::derived::AttributeOrigin> = BTreeMap::new();
            for (name, origin) in entity_attributes(spec, entity) {
                if let Some(previous) = seen.insert(name.clone(), origin) {
                    self.err(
                        "name_collision",
                        format!("entities[{i}]"),
                        format!("`{}.{name}` is used twice ({previous:?} and {origin:?}); rename a field or a relation's `field`", entity.name),
                    );
                }
                if crate::names::PYTHON_RESERVED.contains(&name.as_str())
                    && origin == crate::derived::AttributeOrigin::Relationship
                {
                    self.err("reserved_name", format!("entities[{i}]"), format!("relation attribute `{}.{name}` is a reserved word; set the relation's `field`", entity.name));
                }
            }
            let mut params = BTreeSet::new();
            for p in list_query_params(spec, entity) {
                if !params.insert(p.clone()) {
                    self.err("name_collision", format!("entities[{i}]"), format!("query parameter `{p}` of `{}` is generated twice (a field clashes with a range filter)", entity.name));
                }
            }
        }
        let mut classes = BTreeMap::new();
        for (class, owner) in class_names(spec) {
            if let Some(other) = classes.insert(class.clone(), owner.clone()) {
                self.err("name_collision", "entities", format!("generated class `{class}` comes from both `{other}` and `{owner}`; rename one entity"));
            }
        }
        let mut tables: BTreeSet<String> = spec.entities.iter().map(|e| e.table.clone()).collect();
        for (i, rel) in spec.relations.iter().enumerate() {
            if rel.kind == RelationKind::ManyToMany && !tables.insert(rel.field.clone()) {
                self.err(
                    "name_collision",
                    format!("relations[{i}].field"),
                    format!(
                        "association table `{}` clashes with another table",
                        rel.field
                    ),
                );
            }
        }
        for entity in &spec.entities {
            if entity.name.to_ascii_lowercase() == spec.name.replace('_', "")
                && entity.name == "App"
            {
                self.err(
                    "name_collision",
                    "name",
                    "an entity named `App` clashes with the `app` package",
                );
            }
        }
    }
}

fn table_of(spec: &AppSpec, entity: &str) -> String {
    spec.entity(entity)
        .map(|e| e.table.clone())
        .unwrap_or_else(|| pluralize(&snake_case(entity)))
}

/// A scalar field that merely names the related entity (`publisher` on a book that belongs to a
/// publisher) duplicates the relation.
fn is_reference_like(field: &Field) -> bool {
    matches!(
        field.field_type,
        FieldType::String | FieldType::Integer | FieldType::Uuid
    )
}

fn default_fits(
    value: &Value,
    t: FieldType,
    enum_values: Option<&[String]>,
    min: Option<f64>,
    max: Option<f64>,
) -> Result<(), String> {
    let in_bounds = |n: f64| -> Result<(), String> {
        if min.is_some_and(|lo| n < lo) || max.is_some_and(|hi| n > hi) {
            return Err("outside min/max".into());
        }
        Ok(())
    };
    match t {
        FieldType::String
        | FieldType::Text
        | FieldType::Email
        | FieldType::Url
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::Time
        | FieldType::Uuid => {
            if value.is_string() {
                Ok(())
            } else {
                Err("expected a string".into())
            }
        }
        FieldType::Integer => match value.as_i64() {
            Some(n) => in_bounds(n as f64),
            None => Err("expected an integer".into()),
        },
        FieldType::Float | FieldType::Decimal => match value.as_f64() {
            Some(n) => in_bounds(n),
            None => Err("expected a number".into()),
        },
        FieldType::Boolean => {
            if value.is_boolean() {
                Ok(())
            } else {
                Err("expected true or false".into())
            }
        }
        FieldType::Enum => match value.as_str() {
            Some(s) if enum_values.is_some_and(|vs| vs.iter().any(|v| v == s)) => Ok(()),
            _ => Err("not one of enum_values".into()),
        },
        FieldType::Json => Ok(()),
    }
}
