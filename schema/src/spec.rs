//! The app spec, version 1: entities with typed fields, relations, auth and options.
//!
//! These types are the *checked* form. Untrusted JSON (a user's file, a model's output) goes through
//! [`crate::validate::check_value`], which returns a [`CheckedSpec`] plus diagnostics; nothing
//! downstream re-checks names or references.

use serde::{Deserialize, Serialize};

/// The spec format version this crate reads and writes.
pub const SPEC_VERSION: u32 = 1;

/// A whole backend description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Always [`SPEC_VERSION`].
    pub version: u32,
    /// Project name in snake_case (also the Python distribution name).
    pub name: String,
    /// One-line description of the backend.
    #[serde(default)]
    pub description: String,
    /// The entities, each becoming a table, a model, schemas and a router.
    pub entities: Vec<Entity>,
    /// Relations between entities.
    #[serde(default)]
    pub relations: Vec<Relation>,
    /// Authentication settings.
    #[serde(default)]
    pub auth: Auth,
    /// Rendering options.
    #[serde(default)]
    pub options: Options,
}

/// One entity (a table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    /// PascalCase, singular (`BlogPost`).
    pub name: String,
    /// snake_case, plural (`blog_posts`).
    pub table: String,
    /// Scalar fields; `id`, `created_at` and `updated_at` are implicit.
    pub fields: Vec<Field>,
}

/// One scalar column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// snake_case.
    pub name: String,
    /// The column type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether a value must be given on create.
    #[serde(default = "default_true")]
    pub required: bool,
    /// Whether values must be unique across rows.
    #[serde(default)]
    pub unique: bool,
    /// Default value (a JSON scalar matching the type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Allowed values, for `enum` fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<String>>,
    /// Maximum length for `string`-like fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Inclusive lower bound for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Inclusive upper bound for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

fn default_true() -> bool {
    true
}

/// The closed set of field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Short text, `VARCHAR(max_length)`.
    String,
    /// Long text.
    Text,
    /// 64-bit integer.
    Integer,
    /// Floating point.
    Float,
    /// Exact decimal (money).
    Decimal,
    /// true / false.
    Boolean,
    /// Calendar date.
    Date,
    /// Timestamp.
    Datetime,
    /// Time of day.
    Time,
    /// Validated e-mail address.
    Email,
    /// Validated http(s) URL.
    Url,
    /// UUID.
    Uuid,
    /// One of `enum_values`.
    Enum,
    /// Arbitrary JSON.
    Json,
}

impl FieldType {
    /// Every type, in declaration order.
    pub const ALL: [FieldType; 14] = [
        FieldType::String,
        FieldType::Text,
        FieldType::Integer,
        FieldType::Float,
        FieldType::Decimal,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Datetime,
        FieldType::Time,
        FieldType::Email,
        FieldType::Url,
        FieldType::Uuid,
        FieldType::Enum,
        FieldType::Json,
    ];

    /// The spec spelling (`"datetime"`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Decimal => "decimal",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Time => "time",
            FieldType::Email => "email",
            FieldType::Url => "url",
            FieldType::Uuid => "uuid",
            FieldType::Enum => "enum",
            FieldType::Json => "json",
        }
    }

    /// Parses the spec spelling, also accepting common synonyms (`int`, `bool`, `timestamp`, `money`).
    /// Returns the type and whether a synonym was used.
    pub fn parse_lenient(raw: &str) -> Option<(FieldType, bool)> {
        let lower = raw.trim().to_ascii_lowercase();
        if let Some(exact) = FieldType::ALL.iter().find(|t| t.as_str() == lower) {
            return Some((*exact, false));
        }
        let synonym = match lower.as_str() {
            "str" | "varchar" | "char" => FieldType::String,
            "longtext" | "textarea" => FieldType::Text,
            "int" | "bigint" | "smallint" | "long" | "number" | "count" => FieldType::Integer,
            "double" | "real" | "float64" | "float32" => FieldType::Float,
            "money" | "numeric" | "currency" => FieldType::Decimal,
            "bool" => FieldType::Boolean,
            "timestamp" | "date_time" | "timestamptz" => FieldType::Datetime,
            "uri" => FieldType::Url,
            "guid" => FieldType::Uuid,
            "jsonb" | "object" | "dict" => FieldType::Json,
            _ => return None,
        };
        Some((synonym, true))
    }

    /// Whether range filters (`min_x`, `max_x`) make sense.
    pub fn is_ordered(self) -> bool {
        matches!(
            self,
            FieldType::Integer
                | FieldType::Float
                | FieldType::Decimal
                | FieldType::Date
                | FieldType::Datetime
                | FieldType::Time
        )
    }

    /// Whether the value is text that `q` searches.
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            FieldType::String | FieldType::Text | FieldType::Email | FieldType::Url
        )
    }
}

/// A relation between two entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relation {
    /// The cardinality.
    pub kind: RelationKind,
    /// The child (holder of the foreign key) for many-to-one and one-to-one.
    pub from: String,
    /// The parent.
    pub to: String,
    /// Foreign-key column on `from` (`author_id`); the association table name for many-to-many.
    #[serde(default)]
    pub field: String,
    /// Whether the foreign key is mandatory.
    #[serde(default)]
    pub required: bool,
    /// What happens to children when the parent is deleted.
    #[serde(default)]
    pub on_delete: OnDelete,
}

/// Relation cardinality. One-to-many is written as many-to-one from the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// Many `from` rows point to one `to` row.
    ManyToOne,
    /// An association table links both sides.
    ManyToMany,
    /// Each `from` row points to at most one `to` row, and vice versa.
    OneToOne,
}

/// Foreign-key delete behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Delete the children too.
    #[default]
    Cascade,
    /// Null the foreign key (only for optional relations).
    SetNull,
    /// Refuse to delete a parent that has children (409).
    Restrict,
}

/// Authentication settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Whether the project has users, login and protected writes.
    #[serde(default)]
    pub enabled: bool,
    /// Roles, most privileged first (`["admin", "member"]`). Empty means no roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Rendering options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The production database the project targets (tests always run on SQLite).
    #[serde(default)]
    pub db: Database,
    /// The template stack.
    #[serde(default = "default_stack")]
    pub stack: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            db: Database::default(),
            stack: default_stack(),
        }
    }
}

fn default_stack() -> String {
    STACK_FASTAPI_SQLALCHEMY.to_string()
}

/// The only template stack so far.
pub const STACK_FASTAPI_SQLALCHEMY: &str = "fastapi-sqlalchemy";

/// Target database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    /// SQLite file next to the app (default).
    #[default]
    Sqlite,
    /// PostgreSQL through psycopg 3.
    Postgresql,
    /// MySQL through PyMySQL.
    Mysql,
}

impl Database {
    /// Parses `sqlite`, `postgresql` (or `postgres`), `mysql`.
    pub fn parse(raw: &str) -> Option<Database> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Some(Database::Sqlite),
            "postgresql" | "postgres" | "pg" => Some(Database::Postgresql),
            "mysql" | "mariadb" => Some(Database::Mysql),
            _ => None,
        }
    }

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgresql => "postgresql",
            Database::Mysql => "mysql",
        }
    }
}

impl AppSpec {
    /// Finds an entity by its PascalCase name.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The JSON form, pretty-printed.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("AppSpec is plain data and always serializes")
    }
}

impl Entity {
    /// Finds a field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl Field {
    /// A required field of the given type with no constraints.
    pub fn new(name: &str, field_type: FieldType) -> Field {
        Field {
            name: name.to_string(),
            field_type,
            required: true,
            unique: false,
            default: None,
            enum_values: None,
            max_length: None,
            min: None,
            max: None,
        }
    }
}

/// A spec that passed [`crate::validate::check_value`] without errors. The only way to build one is
/// through validation, so renderers can trust every name and reference in it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSpec(AppSpec);

impl CheckedSpec {
    /// Wraps a spec that validation accepted.
    pub(crate) fn new_unchecked(spec: AppSpec) -> CheckedSpec {
        CheckedSpec(spec)
    }

    /// The spec itself.
    pub fn spec(&self) -> &AppSpec {
        &self.0
    }

    /// Unwraps the spec, for editing (it must be checked again afterwards).
    pub fn into_inner(self) -> AppSpec {
        self.0
    }
}
