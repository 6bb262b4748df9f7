//! The view model: everything the templates print, computed from a checked spec. Templates only
//! loop and substitute; names, types, layouts and test data are decided here and in the sibling
//! modules (`model`, `schema`, `api`, `tests_view`, `migration`, `readme`).

use std::collections::{BTreeMap, BTreeSet};

use codebegen_schema::derived::{self, RelationNames, USER_ENTITY};
use codebegen_schema::names::{humanize, snake_case};
use codebegen_schema::{AppSpec, Database, Entity, RelationKind};
use serde::Serialize;

use super::api::{self, ApiView};
use super::fields::Aliases;
use super::migration::{self, MigrationView};
use super::model::{self, AssociationView, ModelView};
use super::pyfmt::{Imports, Section};
use super::pylit::{py_str, toml_str};
use super::readme::{self, ReadmeView};
use super::schema::{self, SchemaView};
use super::tests_view::{self, TestsView};
use super::RenderOptions;

/// Module names the generated project uses itself; an entity module with such a name gets
/// `_record`.
const TAKEN_MODULES: &[&str] = &[
    "auth",
    "router",
    "base",
    "deps",
    "associations",
    "security",
    "config",
    "session",
    "main",
];

/// The whole project.
#[derive(Debug, Serialize)]
pub struct ProjectView {
    /// Distribution name (snake_case).
    pub name: String,
    /// Human title (`Blog api`).
    pub title: String,
    /// The title as a Python string literal.
    pub title_py: String,
    /// One-line description (may be empty).
    pub description: String,
    /// The description as a Python string literal.
    pub description_py: String,
    /// The description as a TOML string literal.
    pub description_toml: String,
    /// README overview paragraph.
    pub overview: String,
    /// `sqlite`, `postgresql` or `mysql`.
    pub db: &'static str,
    /// Default `DATABASE_URL`.
    pub database_url: String,
    /// `DATABASE_URL` inside docker compose.
    pub compose_database_url: String,
    /// Runtime requirement pins.
    pub requirements: Vec<String>,
    /// Auth settings, when enabled.
    pub auth: Option<AuthView>,
    /// Entities in spec order.
    pub entities: Vec<EntityView>,
    /// Many-to-many association tables.
    pub associations: Vec<AssociationView>,
    /// The body of `app/models/__init__.py` after the docstring.
    pub models_init: String,
    /// The body of `app/schemas/__init__.py` after the docstring.
    pub schemas_init: String,
    /// The initial migration.
    pub migration: MigrationView,
    /// README pieces.
    pub readme: ReadmeView,
}

/// Authentication, when the spec enables it.
#[derive(Debug, Serialize)]
pub struct AuthView {
    /// Roles, most privileged first (may be empty).
    pub roles: Vec<String>,
    /// `ROLES` as a Python tuple literal.
    pub roles_py: String,
    /// The first role.
    pub admin_role: Option<String>,
    /// The last role.
    pub default_role: Option<String>,
    /// Whether there are at least two roles (so some user lacks the first).
    pub distinct_roles: bool,
    /// Longest role name, for the column length.
    pub role_length: usize,
    /// Module of the user entity.
    pub user_module: String,
    /// Entities that may be created without a token while no user exists (the user's required
    /// parents).
    pub bootstrap: Vec<String>,
    /// Factory and URL of the entity that auth tests write to (`None`: only users exist).
    pub write_target: Option<(String, String)>,
}

/// One entity, with everything its modules need.
#[derive(Debug, Serialize)]
pub struct EntityView {
    /// PascalCase class name.
    pub name: String,
    /// Module name under `app/models`, `app/schemas`, ... (usually the snake name).
    pub module: String,
    /// snake_case name (`blog_post`), for function names.
    pub snake: String,
    /// Table name (also the URL segment).
    pub table: String,
    /// `blog post`.
    pub human: String,
    /// `a blog post`, `an item`.
    pub a_human: String,
    /// `blog posts`.
    pub human_plural: String,
    /// `/api/v1/<table>`.
    pub url: String,
    /// Whether this is the auth user entity.
    pub is_user: bool,
    /// Whether `POST /<table>` exists (not for the auth user: register instead).
    pub creatable: bool,
    /// Module aliases for class bodies.
    pub a: Aliases,
    /// Model module.
    pub model: ModelView,
    /// Schema module.
    pub schema: SchemaView,
    /// Service and router modules.
    pub api: ApiView,
    /// Test module and factories.
    pub tests: TestsView,
}

/// Shared lookups over the spec.
pub struct Cx<'a> {
    /// The spec.
    pub spec: &'a AppSpec,
    /// Derived relation names, in spec order.
    pub relations: Vec<RelationNames>,
    modules: BTreeMap<String, String>,
}

impl<'a> Cx<'a> {
    /// Lookups for `spec`.
    pub fn new(spec: &'a AppSpec) -> Cx<'a> {
        let mut modules = BTreeMap::new();
        let mut used: BTreeSet<String> = TAKEN_MODULES.iter().map(|s| s.to_string()).collect();
        for entity in &spec.entities {
            let base = snake_case(&entity.name);
            let mut module = if used.contains(&base) {
                format!("{base}_record")
            } else {
                base
            };
            let mut counter = 2;
            while used.contains(&module) {
                module = format!("{}_{counter}", snake_case(&entity.name));
                counter += 1;
            }
            used.insert(module.clone());
            modules.insert(entity.name.clone(), module);
        }
        Cx {
            spec,
            relations: derived::relation_names(spec),
            modules,
        }
    }

    /// The module name of an entity.
    pub fn module(&self, entity: &str) -> String {
        self.modules
            .get(entity)
            .cloned()
            .unwrap_or_else(|| snake_case(entity))
    }

    /// An entity by name (validation guarantees that relation ends resolve).
    pub fn entity(&self, name: &str) -> Option<&'a Entity> {
        self.spec.entity(name)
    }

    /// The table of an entity.
    pub fn table(&self, name: &str) -> String {
        self.entity(name)
            .map(|e| e.table.clone())
            .unwrap_or_else(|| snake_case(name))
    }

    /// Whether auth is on and `entity` is its user.
    pub fn is_user(&self, entity: &str) -> bool {
        self.spec.auth.enabled && entity == USER_ENTITY
    }

    /// Relations in which `entity` holds the foreign key.
    pub fn foreign_keys(&self, entity: &str) -> impl Iterator<Item = &RelationNames> {
        let entity = entity.to_string();
        self.relations
            .iter()
            .filter(move |r| r.from == entity && r.kind != RelationKind::ManyToMany)
    }

    /// Whether the relation's foreign key is mandatory.
    pub fn required(&self, rel: &RelationNames) -> bool {
        self.spec
            .relations
            .get(rel.index)
            .is_some_and(|r| r.required)
    }

    /// The delete behaviour of a relation.
    pub fn on_delete(&self, rel: &RelationNames) -> codebegen_schema::OnDelete {
        self.spec
            .relations
            .get(rel.index)
            .map(|r| r.on_delete)
            .unwrap_or_default()
    }

    /// Every attribute and query-parameter name of an entity: what class bodies may shadow.
    pub fn taken_names(&self, entity: &Entity) -> BTreeSet<String> {
        let mut taken: BTreeSet<String> = derived::entity_attributes(self.spec, entity)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        taken.extend(derived::list_query_params(self.spec, entity));
        taken.insert("password".into());
        taken
    }

    /// Entities that the user entity needs, directly or not, through required foreign keys.
    pub fn user_parents(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut stack = vec![USER_ENTITY.to_string()];
        while let Some(name) = stack.pop() {
            for rel in self.foreign_keys(&name) {
                if self.required(rel) && rel.to != USER_ENTITY && !out.contains(&rel.to) {
                    out.push(rel.to.clone());
                    stack.push(rel.to.clone());
                }
            }
        }
        out
    }
}

/// Builds the view model of a project.
pub fn project_view(spec: &AppSpec, options: &RenderOptions) -> ProjectView {
    let cx = Cx::new(spec);
    let title = title_case(&spec.name);
    let entities: Vec<EntityView> = spec.entities.iter().map(|e| entity_view(&cx, e)).collect();
    let (database_url, compose_database_url, requirements) = database(spec);
    let description = spec.description.trim().to_string();
    let overview = match options.overview.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => text.to_string(),
        _ => readme::default_overview(spec),
    };
    ProjectView {
        name: spec.name.clone(),
        title_py: py_str(&title),
        title,
        description_py: py_str(&description),
        description_toml: toml_str(&description),
        description,
        overview,
        db: spec.options.db.as_str(),
        database_url,
        compose_database_url,
        requirements,
        auth: auth_view(&cx),
        associations: model::associations(&cx),
        models_init: models_init(&cx),
        schemas_init: schemas_init(&cx, &entities),
        migration: migration::migration_view(&cx),
        readme: readme::readme_view(&cx, &entities),
        entities,
    }
}

fn entity_view(cx: &Cx, entity: &Entity) -> EntityView {
    let aliases = Aliases::avoiding(&cx.taken_names(entity));
    let is_user = cx.is_user(&entity.name);
    EntityView {
        name: entity.name.clone(),
        module: cx.module(&entity.name),
        snake: snake_case(&entity.name),
        table: entity.table.clone(),
        human: humanize(&entity.name).to_lowercase(),
        a_human: with_article(&humanize(&entity.name).to_lowercase()),
        human_plural: humanize(&entity.table).to_lowercase(),
        url: format!("/api/v1/{}", entity.table),
        is_user,
        creatable: !is_user,
        model: model::model_view(cx, entity, &aliases),
        schema: schema::schema_view(cx, entity, &aliases),
        api: api::api_view(cx, entity),
        tests: tests_view::tests_view(cx, entity),
        a: aliases,
    }
}

fn auth_view(cx: &Cx) -> Option<AuthView> {
    let auth = &cx.spec.auth;
    if !auth.enabled {
        return None;
    }
    let quoted: Vec<String> = auth.roles.iter().map(|r| py_str(r)).collect();
    let roles_py = match quoted.len() {
        1 => format!("({},)", quoted[0]),
        _ => format!("({})", quoted.join(", ")),
    };
    let write_target = cx
        .spec
        .entities
        .iter()
        .find(|e| e.name != USER_ENTITY)
        .map(|e| (cx.module(&e.name), format!("/api/v1/{}", e.table)));
    Some(AuthView {
        roles: auth.roles.clone(),
        roles_py,
        admin_role: auth.roles.first().cloned(),
        default_role: auth.roles.last().cloned(),
        distinct_roles: auth.roles.len() > 1,
        role_length: auth
            .roles
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(16),
        user_module: cx.module(USER_ENTITY),
        bootstrap: cx.user_parents(),
        write_target,
    })
}

fn database(spec: &AppSpec) -> (String, String, Vec<String>) {
    let name = &spec.name;
    let mut requirements: Vec<String> = [
        "fastapi==0.165.0",
        "uvicorn==0.54.0",
        "sqlalchemy==2.1.9",
        "pydantic==2.14.4",
        "pydantic-settings==2.16.3",
        "alembic==1.20.1",
        "email-validator==2.4.0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if spec.auth.enabled {
        requirements.extend(
            ["pyjwt==2.15.1", "bcrypt==5.0.0", "python-multipart==0.0.34"].map(String::from),
        );
    }
    let postgres = format!("postgresql+psycopg://app:app@db:5432/{name}");
    match spec.options.db {
        Database::Sqlite => ("sqlite:///./app.db".into(), postgres, requirements),
        Database::Postgresql => {
            requirements.push("psycopg[binary]==3.3.9".into());
            (
                format!("postgresql+psycopg://app:app@localhost:5432/{name}"),
                postgres,
                requirements,
            )
        }
        Database::Mysql => {
            requirements.extend(["pymysql==1.2.4", "cryptography"].map(String::from));
            (
                format!("mysql+pymysql://app:app@localhost:3306/{name}"),
                format!("mysql+pymysql://app:app@db:3306/{name}"),
                requirements,
            )
        }
    }
}

fn models_init(cx: &Cx) -> String {
    let mut imports = Imports::new();
    let mut all = Vec::new();
    if cx
        .relations
        .iter()
        .any(|r| r.kind == RelationKind::ManyToMany)
    {
        imports.from(Section::FirstParty, "app.models", "associations");
        all.push("associations".to_string());
    }
    for entity in &cx.spec.entities {
        let module = format!("app.models.{}", cx.module(&entity.name));
        imports.from(Section::FirstParty, &module, &entity.name);
        all.push(entity.name.clone());
        for field in &entity.fields {
            if field.field_type == codebegen_schema::FieldType::Enum {
                let class = derived::enum_class_name(entity, &field.name);
                imports.from(Section::FirstParty, &module, &class);
                all.push(class);
            }
        }
    }
    init_body(&imports, all)
}

fn schemas_init(cx: &Cx, entities: &[EntityView]) -> String {
    let mut imports = Imports::new();
    let mut all = vec!["PageParams".to_string()];
    imports.from(Section::FirstParty, "app.schemas.base", "PageParams");
    if cx.spec.auth.enabled {
        imports.from(Section::FirstParty, "app.schemas.auth", "Token");
        all.push("Token".into());
    }
    for entity in entities {
        let module = format!("app.schemas.{}", entity.module);
        for class in &entity.schema.exports {
            imports.from(Section::FirstParty, &module, class);
            all.push(class.clone());
        }
    }
    init_body(&imports, all)
}

fn init_body(imports: &Imports, mut all: Vec<String>) -> String {
    all.sort();
    let items: Vec<super::pyfmt::Py> = all.iter().map(|n| super::pyfmt::raw(py_str(n))).collect();
    let all_stmt = super::pyfmt::stmt(0, "__all__ = ", &super::pyfmt::Py::List(items));
    format!("{}\n\n{}\n", imports.render(), all_stmt)
}

/// `item` → `an item`, `post` → `a post`.
pub fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u'])
        && !noun.starts_with("uni")
        && !noun.starts_with("use");
    if vowel {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// `blog_api` → `Blog API`: each word capitalized, common acronyms upper-cased.
pub fn title_case(name: &str) -> String {
    const ACRONYMS: &[&str] = &[
        "api", "crm", "cms", "erp", "http", "id", "io", "sql", "ui", "url", "hr", "iot",
    ];
    codebegen_schema::names::words(name)
        .iter()
        .map(|word| {
            if ACRONYMS.contains(&word.as_str()) {
                word.to_ascii_uppercase()
            } else {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_articles() {
        assert_eq!(title_case("blog_api"), "Blog API");
        assert_eq!(title_case("kanban"), "Kanban");
        assert_eq!(with_article("item"), "an item");
        assert_eq!(with_article("user"), "a user");
        assert_eq!(with_article("blog post"), "a blog post");
    }

    #[test]
    fn module_names_avoid_generated_modules() {
        let spec = codebegen_schema::check_str(
            r#"{"version": 1, "name": "x", "entities": [{"name": "Router", "fields": []}, {"name": "Post", "fields": []}]}"#,
        )
        .spec
        .expect("valid");
        let cx = Cx::new(spec.spec());
        assert_eq!(cx.module("Router"), "router_record");
        assert_eq!(cx.module("Post"), "post");
    }
}
