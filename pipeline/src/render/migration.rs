//! The initial Alembic migration: tables in foreign-key dependency order, association tables, and
//! foreign keys that close a cycle added afterwards; the downgrade undoes it all in reverse.

use std::collections::BTreeSet;

use codebegen_schema::derived::enum_class_name;
use codebegen_schema::names::snake_case;
use codebegen_schema::{Entity, FieldType, RelationKind};
use serde::Serialize;

use super::context::Cx;
use super::fields::{Aliases, FieldPy};
use super::model::{enums, on_delete_sql};
use super::pyfmt::{call, kw, raw, stmt, Py};
use super::pylit::py_str;

/// The statements of `upgrade()` and `downgrade()`, indented for a function body.
#[derive(Debug, Serialize)]
pub struct MigrationView {
    /// `upgrade()` statements.
    pub upgrade: Vec<String>,
    /// `downgrade()` statements.
    pub downgrade: Vec<String>,
}

struct ForeignKey {
    table: String,
    column: String,
    target: String,
    on_delete: &'static str,
}

impl ForeignKey {
    fn name(&self) -> String {
        format!("fk_{}_{}_{}", self.table, self.column, self.target)
    }

    fn constraint(&self) -> Py {
        call(
            "sa.ForeignKeyConstraint",
            vec![
                Py::List(vec![raw(py_str(&self.column))]),
                Py::List(vec![raw(py_str(&format!("{}.id", self.target)))]),
                kw("name", raw(py_str(&self.name()))),
                kw("ondelete", raw(py_str(self.on_delete))),
            ],
        )
    }
}

/// Entity names in creation order, and the foreign keys deferred to break cycles.
fn creation_order<'a>(cx: &Cx<'a>) -> (Vec<&'a Entity>, Vec<ForeignKey>) {
    let mut remaining: Vec<&Entity> = cx.spec.entities.iter().collect();
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    let mut deferred = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|e| {
            cx.foreign_keys(&e.name)
                .all(|r| r.to == e.name || created.contains(&r.to))
        });
        let index = match ready {
            Some(i) => i,
            None => {
                let entity = remaining[0];
                for rel in cx.foreign_keys(&entity.name) {
                    if rel.to != entity.name && !created.contains(&rel.to) {
                        deferred.push(foreign_key(cx, rel));
                    }
                }
                0
            }
        };
        let entity = remaining.remove(index);
        created.insert(entity.name.clone());
        order.push(entity);
    }
    (order, deferred)
}

fn foreign_key(cx: &Cx, rel: &codebegen_schema::derived::RelationNames) -> ForeignKey {
    ForeignKey {
        table: rel.from_table.clone(),
        column: rel.fk_column.clone().unwrap_or_default(),
        target: rel.to_table.clone(),
        on_delete: on_delete_sql(cx.on_delete(rel)),
    }
}

fn column(name: &str, ty: Py, nullable: bool, extra: Vec<Py>) -> Py {
    let mut args = vec![raw(py_str(name)), ty];
    args.extend(extra);
    args.push(kw("nullable", raw(if nullable { "True" } else { "False" })));
    call("sa.Column", args)
}

fn create_table(cx: &Cx, entity: &Entity, deferred: &[ForeignKey]) -> Vec<String> {
    let table = &entity.table;
    let aliases = Aliases::avoiding(&BTreeSet::new());
    let mut args = vec![
        raw(py_str(table)),
        column("id", raw("sa.Integer()"), false, vec![]),
    ];
    let mut unique = Vec::new();
    let enum_views = enums(entity);
    for field in &entity.fields {
        let ty = if field.field_type == FieldType::Enum {
            let class = enum_class_name(entity, &field.name);
            let mut values: Vec<Py> = enum_views
                .iter()
                .find(|e| e.field == field.name)
                .map(|e| e.values_py.iter().map(raw).collect())
                .unwrap_or_default();
            values.push(kw("name", raw(py_str(&snake_case(&class)))));
            call("sa.Enum", values)
        } else {
            FieldPy {
                field,
                enum_class: String::new(),
                aliases: &aliases,
            }
            .sa_type("")
        };
        args.push(column(&field.name, ty, !field.required, vec![]));
        if field.unique {
            unique.push(field.name.clone());
        }
    }
    let mut constraints = vec![call(
        "sa.PrimaryKeyConstraint",
        vec![
            raw(py_str("id")),
            kw("name", raw(py_str(&format!("pk_{table}")))),
        ],
    )];
    let mut indexes = Vec::new();
    for rel in cx.foreign_keys(&entity.name) {
        let Some(fk) = &rel.fk_column else { continue };
        args.push(column(fk, raw("sa.Integer()"), !cx.required(rel), vec![]));
        let key = foreign_key(cx, rel);
        if !deferred
            .iter()
            .any(|d| d.table == key.table && d.column == key.column)
        {
            constraints.push(key.constraint());
        }
        indexes.push((fk.clone(), rel.kind == RelationKind::OneToOne));
    }
    if cx.is_user(&entity.name) {
        args.push(column(
            "hashed_password",
            raw("sa.String(255)"),
            false,
            vec![],
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
            args.push(column(
                "role",
                raw(format!("sa.String({length})")),
                false,
                vec![],
            ));
        }
    }
    for name in ["created_at", "updated_at"] {
        let now = vec![kw("server_default", raw("sa.func.now()"))];
        args.push(column(name, raw("sa.DateTime(timezone=True)"), false, now));
    }
    for name in &unique {
        let constraint_name = format!("uq_{table}_{name}");
        constraints.push(call(
            "sa.UniqueConstraint",
            vec![raw(py_str(name)), kw("name", raw(py_str(&constraint_name)))],
        ));
    }
    args.extend(constraints);
    let mut out = vec![stmt(4, "", &call("op.create_table", args))];
    for (name, is_unique) in indexes {
        let mut index_args = vec![
            raw(py_str(&format!("ix_{table}_{name}"))),
            raw(py_str(table)),
            Py::List(vec![raw(py_str(&name))]),
        ];
        if is_unique {
            index_args.push(kw("unique", raw("True")));
        }
        let index = call("op.create_index", index_args);
        out.push(stmt(4, "", &index));
    }
    out
}

/// The migration of the spec.
pub fn migration_view(cx: &Cx) -> MigrationView {
    let (order, deferred) = creation_order(cx);
    let mut upgrade = Vec::new();
    let mut downgrade = Vec::new();
    for entity in &order {
        upgrade.extend(create_table(cx, entity, &deferred));
    }
    let mut association_tables = Vec::new();
    for rel in &cx.relations {
        let (Some(table), Some((from_col, to_col))) =
            (&rel.association_table, &rel.association_columns)
        else {
            continue;
        };
        let key = |column: &str, target: &str| ForeignKey {
            table: table.clone(),
            column: column.to_string(),
            target: target.to_string(),
            on_delete: "CASCADE",
        };
        let args = vec![
            raw(py_str(table)),
            column(from_col, raw("sa.Integer()"), false, vec![]),
            column(to_col, raw("sa.Integer()"), false, vec![]),
            key(from_col, &rel.from_table).constraint(),
            key(to_col, &rel.to_table).constraint(),
            call(
                "sa.PrimaryKeyConstraint",
                vec![
                    raw(py_str(from_col)),
                    raw(py_str(to_col)),
                    kw("name", raw(py_str(&format!("pk_{table}")))),
                ],
            ),
        ];
        upgrade.push(stmt(4, "", &call("op.create_table", args)));
        association_tables.push(table.clone());
    }
    for key in &deferred {
        let create = call(
            "batch_op.create_foreign_key",
            vec![
                raw(py_str(&key.name())),
                raw(py_str(&key.target)),
                Py::List(vec![raw(py_str(&key.column))]),
                Py::List(vec![raw(py_str("id"))]),
                kw("ondelete", raw(py_str(key.on_delete))),
            ],
        );
        upgrade.push(format!(
            "    with op.batch_alter_table({}) as batch_op:\n{}",
            py_str(&key.table),
            stmt(8, "", &create)
        ));
        let drop = format!(
            "batch_op.drop_constraint({}, type_=\"foreignkey\")",
            py_str(&key.name())
        );
        downgrade.push(format!(
            "    with op.batch_alter_table({}) as batch_op:\n        {drop}",
            py_str(&key.table)
        ));
    }
    for table in association_tables.iter().rev() {
        downgrade.push(format!("    op.drop_table({})", py_str(table)));
    }
    for entity in order.iter().rev() {
        downgrade.push(format!("    op.drop_table({})", py_str(&entity.table)));
    }
    for entity in &order {
        for view in enums(entity) {
            let drop = format!(
                "sa.Enum(name={}).drop(op.get_bind(), checkfirst=True)",
                py_str(&view.db_name)
            );
            downgrade.push(format!("    {drop}"));
        }
    }
    MigrationView { upgrade, downgrade }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(spec: &str) -> MigrationView {
        let spec = codebegen_schema::check_str(spec).spec.expect("valid spec");
        migration_view(&Cx::new(spec.spec()))
    }

    #[test]
    fn parents_come_first_and_cycles_are_closed_afterwards() {
        let migration = view(
            r#"{"version": 1, "name": "x",
                "entities": [{"name": "Team", "fields": []}, {"name": "Member", "fields": []}],
                "relations": [
                  {"kind": "many_to_one", "from": "Team", "to": "Member", "field": "captain_id", "on_delete": "set_null"},
                  {"kind": "many_to_one", "from": "Member", "to": "Team", "required": true}
                ]}"#,
        );
        let upgrade = migration.upgrade.join("\n");
        let teams = upgrade.find("\"teams\",").expect("teams created");
        let members = upgrade.find("\"members\",").expect("members created");
        assert!(teams < members);
        assert!(upgrade
            .contains("batch_op.create_foreign_key(\n            \"fk_teams_captain_id_members\""));
        assert!(migration.downgrade[0].contains("drop_constraint(\"fk_teams_captain_id_members\""));
        assert_eq!(
            migration.downgrade.last().map(String::as_str),
            Some("    op.drop_table(\"teams\")")
        );
    }
}
