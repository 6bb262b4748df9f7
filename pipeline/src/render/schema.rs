//! The pydantic side: create, update, read, list and filter schemas of one entity.

use std::collections::BTreeSet;

use codebegen_schema::derived::{class_names, enum_class_name};
use codebegen_schema::{Entity, FieldType};
use serde::Serialize;

use super::context::Cx;
use super::fields::{Aliases, DefaultValue, FieldPy};
use super::pyfmt::{call, raw, stmt, Py};
use super::pylit::py_str;

/// Names a schema module defines or imports besides the entity's own classes.
const SHARED_NAMES: &[&str] = &[
    "Annotated",
    "Any",
    "BaseModel",
    "ClassVar",
    "ConfigDict",
    "Email",
    "Field",
    "HttpUrlStr",
    "Id",
    "Int64",
    "PageParams",
    "Self",
    "SORT_FIELDS",
    "UpdateModel",
    "UserRegister",
];

/// The schema module of one entity.
#[derive(Debug, Serialize)]
pub struct SchemaView {
    /// Name of the list-query class (`PostFilter`, unless that is taken).
    pub filter_class: String,
    /// `SORT_FIELDS = frozenset(...)`.
    pub sort_fields: String,
    /// Create-schema field lines.
    pub create_fields: Vec<String>,
    /// Update-schema field lines.
    pub update_fields: Vec<String>,
    /// `_not_nullable` class variable line of the update schema (empty when nothing is required).
    pub not_nullable: String,
    /// Read-schema field lines.
    pub read_fields: Vec<String>,
    /// Filter-schema field lines (besides paging).
    pub filter_fields: Vec<String>,
    /// Enum classes to import: (class, module, name used here).
    pub enum_imports: Vec<(String, String, String)>,
    /// Classes `app.schemas` re-exports.
    pub exports: Vec<String>,
}

/// `name: ty`, `name: ty = default` or `name: ty = Field(default, constraints...)`, indented
/// and wrapped; a default starting with `default_factory=` is passed as that keyword.
fn field_line(name: &str, ty: &str, default: Option<String>, constraints: &[String]) -> String {
    let prefix = format!("{name}: {ty}");
    if constraints.is_empty()
        && !default
            .as_deref()
            .is_some_and(|d| d.starts_with("default_factory="))
    {
        return match default {
            Some(value) => format!("    {prefix} = {value}"),
            None => format!("    {prefix}"),
        };
    }
    let mut args: Vec<Py> = default.into_iter().map(raw).collect();
    args.extend(constraints.iter().map(raw));
    stmt(4, &format!("{prefix} = "), &call("Field", args))
}

/// The list-query class name for an entity.
pub fn filter_class(cx: &Cx, entity: &Entity) -> String {
    let taken: BTreeSet<String> = class_names(cx.spec).into_iter().map(|(c, _)| c).collect();
    ["Filter", "ListFilter", "ListQuery", "QueryParams"]
        .iter()
        .map(|suffix| format!("{}{suffix}", entity.name))
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| format!("{}FilterParams", entity.name))
}

/// The schema view of one entity.
pub fn schema_view(cx: &Cx, entity: &Entity, a: &Aliases) -> SchemaView {
    let filter_class = filter_class(cx, entity);
    let mut shared: BTreeSet<String> = SHARED_NAMES.iter().map(|s| s.to_string()).collect();
    shared.insert(filter_class.clone());
    let module = format!("app.models.{}", cx.module(&entity.name));
    let mut enum_imports = Vec::new();
    let mut create_fields = Vec::new();
    let mut update_fields = Vec::new();
    let mut read_fields = vec!["    id: int".to_string()];
    let mut filter_fields = vec![
        "    sort: str | None = None".to_string(),
        "    q: Annotated[str, Field(max_length=200)] | None = None".to_string(),
    ];
    let mut not_nullable = Vec::new();
    let mut sortable = vec!["id".to_string(), "created_at".into(), "updated_at".into()];
    for field in &entity.fields {
        let class = enum_class_name(entity, &field.name);
        let local = if shared.contains(&class) {
            format!("{class}Enum")
        } else {
            class.clone()
        };
        if field.field_type == FieldType::Enum {
            enum_imports.push((class.clone(), module.clone(), local.clone()));
        }
        let py = FieldPy {
            field,
            enum_class: local,
            aliases: a,
        };
        let (ty, constraints) = py.input();
        let name = &field.name;
        let is_json = field.field_type == FieldType::Json;
        let optional = if is_json {
            ty.clone()
        } else {
            format!("{ty} | None")
        };
        let default = match py.default() {
            Some(DefaultValue::Value(expr)) | Some(DefaultValue::SchemaOnly(expr)) => Some(expr),
            Some(DefaultValue::Factory(_, factory)) => Some(format!("default_factory={factory}")),
            None if !field.required => Some("None".into()),
            None => None,
        };
        let create_type = if field.required { &ty } else { &optional };
        create_fields.push(field_line(name, create_type, default, &constraints));
        update_fields.push(field_line(
            name,
            &optional,
            Some("None".into()),
            &constraints,
        ));
        if field.required && !is_json {
            not_nullable.push(name.clone());
        }
        read_fields.push(format!("    {name}: {}", py.read_type()));
        if let Some(ty) = py.filter_type() {
            filter_fields.push(format!("    {name}: {ty} | None = None"));
            sortable.push(name.clone());
            if field.field_type.is_ordered() {
                filter_fields.push(format!("    {name}_min: {ty} | None = None"));
                filter_fields.push(format!("    {name}_max: {ty} | None = None"));
            }
        }
    }
    for rel in cx.foreign_keys(&entity.name) {
        let Some(fk) = &rel.fk_column else { continue };
        if cx.required(rel) {
            create_fields.push(format!("    {fk}: Id"));
            not_nullable.push(fk.clone());
            read_fields.push(format!("    {fk}: int"));
        } else {
            create_fields.push(format!("    {fk}: Id | None = None"));
            read_fields.push(format!("    {fk}: int | None"));
        }
        update_fields.push(format!("    {fk}: Id | None = None"));
        filter_fields.push(format!("    {fk}: Int64 | None = None"));
        sortable.push(fk.clone());
    }
    if cx.is_user(&entity.name) && !cx.spec.auth.roles.is_empty() {
        read_fields.push("    role: str".into());
    }
    read_fields.push(format!("    created_at: {}.datetime", a.dt));
    read_fields.push(format!("    updated_at: {}.datetime", a.dt));
    sortable.sort();
    let sort_items: Vec<Py> = sortable.iter().map(|s| raw(py_str(s))).collect();
    let sort_fields = stmt(
        0,
        "SORT_FIELDS = ",
        &call("frozenset", vec![Py::Set(sort_items)]),
    );
    let not_nullable = if not_nullable.is_empty() {
        String::new()
    } else {
        let items: Vec<Py> = not_nullable.iter().map(|s| raw(py_str(s))).collect();
        stmt(
            4,
            "_not_nullable: ClassVar[frozenset[str]] = ",
            &call("frozenset", vec![Py::Set(items)]),
        )
    };
    let mut exports: Vec<String> = ["Create", "Update", "Read", "List"]
        .iter()
        .map(|suffix| format!("{}{suffix}", entity.name))
        .collect();
    exports.push(filter_class.clone());
    if cx.is_user(&entity.name) {
        exports.push("UserRegister".into());
    }
    SchemaView {
        filter_class,
        sort_fields,
        create_fields,
        update_fields,
        not_nullable,
        read_fields,
        filter_fields,
        enum_imports,
        exports,
    }
}
