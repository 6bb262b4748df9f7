//! The SQLAlchemy side: mapped columns, relationships, enum classes and association tables.

use codebegen_schema::derived::{enum_class_name, enum_member_name};
use codebegen_schema::names::snake_case;
use codebegen_schema::{Entity, FieldType, OnDelete, RelationKind};
use serde::Serialize;

use super::context::Cx;
use super::fields::{Aliases, DefaultValue, FieldPy};
use super::pyfmt::{call, from_import, kw, raw, stmt, Py};
use super::pylit::py_str;

/// The model module of one entity.
#[derive(Debug, Serialize)]
pub struct ModelView {
    /// Enum classes defined before the model.
    pub enums: Vec<EnumView>,
    /// Column statements, indented for the class body.
    pub columns: Vec<String>,
    /// Relationship statements, indented for the class body.
    pub relationships: Vec<String>,
    /// `from app.models.x import X` statements for the `if TYPE_CHECKING:` block (sorted and
    /// indented).
    pub type_checking: Vec<String>,
}

/// A Python `enum.StrEnum` for an enum field.
#[derive(Debug, Serialize)]
pub struct EnumView {
    /// Class name (`TaskStatus`).
    pub class_name: String,
    /// The field it belongs to.
    pub field: String,
    /// Database type name (`task_status`).
    pub db_name: String,
    /// `(MEMBER, "value")` pairs, the value as a Python literal.
    pub members: Vec<(String, String)>,
    /// The values as Python literals, for the migration.
    pub values_py: Vec<String>,
}

/// A many-to-many association table.
#[derive(Debug, Serialize)]
pub struct AssociationView {
    /// Table name (also the Python variable).
    pub table: String,
    /// The `sa.Table(...)` statement.
    pub statement: String,
}

/// SQL `ON DELETE` spelling.
pub fn on_delete_sql(on_delete: OnDelete) -> &'static str {
    match on_delete {
        OnDelete::Cascade => "CASCADE",
        OnDelete::SetNull => "SET NULL",
        OnDelete::Restrict => "RESTRICT",
    }
}

/// The enum classes of an entity.
pub fn enums(entity: &Entity) -> Vec<EnumView> {
    entity
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Enum)
        .map(|f| {
            let class_name = enum_class_name(entity, &f.name);
            let values = f.enum_values.clone().unwrap_or_default();
            EnumView {
                db_name: snake_case(&class_name),
                class_name,
                field: f.name.clone(),
                members: values
                    .iter()
                    .map(|v| (enum_member_name(v), py_str(v)))
                    .collect(),
                values_py: values.iter().map(|v| py_str(v)).collect(),
            }
        })
        .collect()
}

/// The model view of one entity.
pub fn model_view(cx: &Cx, entity: &Entity, a: &Aliases) -> ModelView {
    let mapped = |ty: &str| format!("{}.Mapped[{ty}]", a.orm);
    let column = |args: Vec<Py>| call(format!("{}.mapped_column", a.orm), args);
    let mut columns = vec![stmt(
        4,
        &format!("id: {} = ", mapped("int")),
        &column(vec![kw("primary_key", raw("True"))]),
    )];
    for field in &entity.fields {
        let enum_class = enum_class_name(entity, &field.name);
        let py = FieldPy {
            field,
            enum_class: enum_class.clone(),
            aliases: a,
        };
        let mut args = vec![py.sa_type(&snake_case(&enum_class))];
        let mut ty = py.value_type();
        if field.field_type == FieldType::Json {
            args.push(kw(
                "nullable",
                raw(if field.required { "False" } else { "True" }),
            ));
        } else if !field.required {
            ty = format!("{ty} | None");
        }
        if field.unique {
            args.push(kw("unique", raw("True")));
        }
        // Nullable columns get no model default: SQLAlchemy would put it in place of an explicit
        // null. The create schema carries every default anyway.
        if field.required {
            match py.default() {
                Some(DefaultValue::Value(expr)) | Some(DefaultValue::Factory(expr, _)) => {
                    args.push(kw("default", raw(expr)));
                }
                Some(DefaultValue::SchemaOnly(_)) | None => {}
            }
        }
        columns.push(stmt(
            4,
            &format!("{}: {} = ", field.name, mapped(&ty)),
            &column(args),
        ));
    }
    for rel in cx.foreign_keys(&entity.name) {
        let Some(fk) = &rel.fk_column else { continue };
        let target = format!("{}.id", cx.table(&rel.to));
        let mut fk_args = vec![raw(py_str(&target))];
        fk_args.push(kw(
            "ondelete",
            raw(py_str(on_delete_sql(cx.on_delete(rel)))),
        ));
        let mut args = vec![
            call(format!("{}.ForeignKey", a.sa), fk_args),
            kw("index", raw("True")),
        ];
        if rel.kind == RelationKind::OneToOne {
            args.push(kw("unique", raw("True")));
        }
        let ty = if cx.required(rel) {
            "int"
        } else {
            "int | None"
        };
        columns.push(stmt(4, &format!("{fk}: {} = ", mapped(ty)), &column(args)));
    }
    if cx.is_user(&entity.name) {
        let string = |n: usize| raw(format!("{}.String({n})", a.sa));
        columns.push(stmt(
            4,
            &format!("hashed_password: {} = ", mapped("str")),
            &column(vec![string(255)]),
        ));
        if !cx.spec.auth.roles.is_empty() {
            let length = cx
                .spec
                .auth
                .roles
                .iter()
                .map(String::len)
                .max()
                .unwrap_or(0)
                .max(16);
            let default_role = cx
                .spec
                .auth
                .roles
                .last()
                .map(|r| py_str(r))
                .unwrap_or_default();
            let args = vec![string(length), kw("default", raw(default_role))];
            columns.push(stmt(
                4,
                &format!("role: {} = ", mapped("str")),
                &column(args),
            ));
        }
    }
    let now = raw(format!("{}.func.now()", a.sa));
    let timestamp = raw(format!("{}.DateTime(timezone=True)", a.sa));
    let created = vec![timestamp.clone(), kw("server_default", now.clone())];
    let updated = vec![
        timestamp,
        kw("server_default", now.clone()),
        kw("onupdate", now),
    ];
    let dt_type = mapped(&format!("{}.datetime", a.dt));
    columns.push(stmt(
        4,
        &format!("created_at: {dt_type} = "),
        &column(created),
    ));
    columns.push(stmt(
        4,
        &format!("updated_at: {dt_type} = "),
        &column(updated),
    ));

    let (relationships, mut related) = relationships(cx, entity, a);
    related.sort();
    related.dedup();
    let type_checking = related
        .iter()
        .filter(|name| **name != entity.name)
        .map(|name| {
            let module = format!("app.models.{}", cx.module(name));
            from_import(4, &module, &[name.clone()].into())
        })
        .collect();
    ModelView {
        enums: enums(entity),
        columns,
        relationships,
        type_checking,
    }
}

fn relationships(cx: &Cx, entity: &Entity, a: &Aliases) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut related = Vec::new();
    let relationship = |args: Vec<Py>| call(format!("{}.relationship", a.orm), args);
    let text = |s: &str| raw(py_str(s));
    for rel in &cx.relations {
        let self_ref = rel.from == rel.to;
        match rel.kind {
            RelationKind::ManyToOne | RelationKind::OneToOne => {
                let Some(fk) = &rel.fk_column else { continue };
                let foreign_keys = text(&format!("{}.{fk}", rel.from));
                if rel.from == entity.name {
                    let ty = if cx.required(rel) {
                        rel.to.clone()
                    } else {
                        format!("{} | None", rel.to)
                    };
                    let mut args = vec![
                        kw("back_populates", text(&rel.to_attr)),
                        kw("foreign_keys", foreign_keys.clone()),
                    ];
                    if self_ref {
                        args.push(kw("remote_side", text(&format!("{}.id", rel.from))));
                    }
                    let prefix = format!("{}: {}.Mapped[{ty}] = ", rel.from_attr, a.orm);
                    lines.push(stmt(4, &prefix, &relationship(args)));
                    related.push(rel.to.clone());
                }
                if rel.to == entity.name {
                    let ty = match rel.kind {
                        RelationKind::OneToOne => format!("{} | None", rel.from),
                        _ => format!("list[{}]", rel.from),
                    };
                    let args = vec![
                        kw("back_populates", text(&rel.from_attr)),
                        kw("foreign_keys", foreign_keys),
                        kw("passive_deletes", text("all")),
                    ];
                    let prefix = format!("{}: {}.Mapped[{ty}] = ", rel.to_attr, a.orm);
                    lines.push(stmt(4, &prefix, &relationship(args)));
                    related.push(rel.from.clone());
                }
            }
            RelationKind::ManyToMany => {
                let Some(table) = &rel.association_table else {
                    continue;
                };
                let sides = [
                    (&rel.from, &rel.from_attr, &rel.to, &rel.to_attr),
                    (&rel.to, &rel.to_attr, &rel.from, &rel.from_attr),
                ];
                for (owner, attr, other, back) in sides {
                    if *owner != entity.name {
                        continue;
                    }
                    let args = vec![
                        kw("secondary", text(table)),
                        kw("back_populates", text(back)),
                    ];
                    let prefix = format!("{attr}: {}.Mapped[list[{other}]] = ", a.orm);
                    lines.push(stmt(4, &prefix, &relationship(args)));
                    related.push(other.clone());
                }
            }
        }
    }
    (lines, related)
}

/// The association tables of many-to-many relations.
pub fn associations(cx: &Cx) -> Vec<AssociationView> {
    cx.relations
        .iter()
        .filter_map(|rel| {
            let table = rel.association_table.clone()?;
            let (from_col, to_col) = rel.association_columns.clone()?;
            let column = |name: &str, target: &str| {
                let fk = call(
                    "sa.ForeignKey",
                    vec![
                        raw(py_str(&format!("{target}.id"))),
                        kw("ondelete", raw(py_str("CASCADE"))),
                    ],
                );
                call(
                    "sa.Column",
                    vec![raw(py_str(name)), fk, kw("primary_key", raw("True"))],
                )
            };
            let args = vec![
                raw(py_str(&table)),
                raw("Base.metadata"),
                column(&from_col, &cx.table(&rel.from)),
                column(&to_col, &cx.table(&rel.to)),
            ];
            let statement = stmt(0, &format!("{table} = "), &call("sa.Table", args));
            Some(AssociationView { table, statement })
        })
        .collect()
}
