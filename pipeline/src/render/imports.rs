//! Import resolution for rendered Python modules: templates write a `# <imports>` marker line, and
//! the marker becomes a sorted import block holding exactly the known names that the module uses.
//! Templates then never carry conditional import lists that drift out of sync with the code.

use std::collections::BTreeSet;

use super::pyfmt::{Imports, Section};

/// The line that templates put where the imports go.
pub const MARKER: &str = "# <imports>";

/// Where a name used in a module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The name as used in code (`dt`, `BaseModel`, `service`).
    pub name: String,
    /// Import section.
    pub section: Section,
    /// The module (`datetime`, `pydantic`, `app.services`).
    pub module: String,
    /// `Some(member)` for `from module import member [as name]`; `None` for
    /// `import module [as name]`.
    pub member: Option<String>,
}

impl Candidate {
    /// `import module as name`.
    pub fn module(section: Section, module: &str, name: &str) -> Candidate {
        Candidate {
            name: name.to_string(),
            section,
            module: module.to_string(),
            member: None,
        }
    }

    /// `from module import member as name`.
    pub fn from(section: Section, module: &str, member: &str, name: &str) -> Candidate {
        Candidate {
            name: name.to_string(),
            section,
            module: module.to_string(),
            member: Some(member.to_string()),
        }
    }
}

const FROM_STDLIB: &[(&str, &[&str])] = &[
    (
        "typing",
        &[
            "Annotated",
            "Any",
            "ClassVar",
            "Self",
            "TYPE_CHECKING",
            "TypeVar",
        ],
    ),
    (
        "collections.abc",
        &["AsyncIterator", "Iterator", "Sequence"],
    ),
    ("contextlib", &["asynccontextmanager"]),
    ("dataclasses", &["dataclass"]),
    ("logging.config", &["fileConfig"]),
];

const FROM_THIRD_PARTY: &[(&str, &[&str])] = &[
    (
        "pydantic",
        &[
            "AfterValidator",
            "BaseModel",
            "ConfigDict",
            "EmailStr",
            "Field",
            "HttpUrl",
            "TypeAdapter",
            "field_validator",
            "model_validator",
        ],
    ),
    (
        "fastapi",
        &[
            "APIRouter",
            "Depends",
            "FastAPI",
            "HTTPException",
            "Path",
            "Query",
            "Request",
            "status",
        ],
    ),
    ("fastapi.middleware.cors", &["CORSMiddleware"]),
    ("fastapi.responses", &["JSONResponse"]),
    (
        "fastapi.security",
        &["OAuth2PasswordBearer", "OAuth2PasswordRequestForm"],
    ),
    ("fastapi.testclient", &["TestClient"]),
    ("pydantic_settings", &["BaseSettings", "SettingsConfigDict"]),
    ("sqlalchemy", &["exc", "orm"]),
    ("alembic", &["context", "op"]),
];

const FROM_FIRST_PARTY: &[(&str, &str, &str)] = &[
    ("app", "models", "models"),
    ("app", "schemas", "schemas"),
    ("app.api", "deps", "deps"),
    ("app.api.v1.router", "api_router", "api_router"),
    ("app.core", "security", "security"),
    ("app.core.config", "settings", "settings"),
    ("app.db.base", "Base", "Base"),
    ("app.db.session", "get_engine", "get_engine"),
    ("app.db.session", "get_db", "get_db"),
    (
        "app.db.session",
        "enable_sqlite_foreign_keys",
        "enable_sqlite_foreign_keys",
    ),
    ("app.main", "app", "application"),
    ("app.schemas.base", "PageParams", "PageParams"),
    ("app.services", "base", "base"),
];

const MODULES: &[(&str, &str, Section)] = &[
    ("collections", "collections", Section::Stdlib),
    ("datetime", "dt", Section::Stdlib),
    ("decimal", "decimal", Section::Stdlib),
    ("enum", "enum", Section::Stdlib),
    ("itertools", "itertools", Section::Stdlib),
    ("pathlib", "pathlib", Section::Stdlib),
    ("secrets", "secrets", Section::Stdlib),
    ("uuid", "uuid", Section::Stdlib),
    ("bcrypt", "bcrypt", Section::ThirdParty),
    ("jwt", "jwt", Section::ThirdParty),
    ("pytest", "pytest", Section::ThirdParty),
    ("sqlalchemy", "sa", Section::ThirdParty),
    ("conftest", "factories", Section::FirstParty),
];

/// The names every generated module may use without a template listing them.
pub fn common() -> Vec<Candidate> {
    let mut out = Vec::new();
    for (module, name, section) in MODULES {
        out.push(Candidate::module(*section, module, name));
    }
    for (module, names) in FROM_STDLIB {
        out.extend(
            names
                .iter()
                .map(|n| Candidate::from(Section::Stdlib, module, n, n)),
        );
    }
    for (module, names) in FROM_THIRD_PARTY {
        out.extend(
            names
                .iter()
                .map(|n| Candidate::from(Section::ThirdParty, module, n, n)),
        );
    }
    for (module, member, name) in FROM_FIRST_PARTY {
        out.push(Candidate::from(Section::FirstParty, module, member, name));
    }
    out
}

/// Candidates for modules whose class bodies hold spec field names (models, schemas): only
/// names that can never be a field (capitalized, or aliased away from every field name).
pub fn for_class_bodies(aliases: &super::fields::Aliases) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = common()
        .into_iter()
        .filter(|c| {
            c.name.starts_with(|ch: char| ch.is_ascii_uppercase())
                || c.name == "field_validator"
                || c.name == "model_validator"
        })
        .collect();
    out.push(Candidate::module(Section::Stdlib, "datetime", &aliases.dt));
    out.push(Candidate::module(
        Section::Stdlib,
        "decimal",
        &aliases.decimal,
    ));
    out.push(Candidate::module(Section::Stdlib, "uuid", &aliases.uuid));
    out.push(Candidate::module(Section::Stdlib, "enum", &aliases.enum_));
    out.push(Candidate::module(
        Section::ThirdParty,
        "sqlalchemy",
        &aliases.sa,
    ));
    out.push(Candidate::from(
        Section::ThirdParty,
        "sqlalchemy",
        "orm",
        &aliases.orm,
    ));
    out
}

/// Replaces the marker line in `source` with the imports of the candidates it uses; sources
/// without the marker come back unchanged.
pub fn resolve(source: &str, candidates: &[Candidate]) -> String {
    let Some(at) = source.find(MARKER) else {
        return source.to_string();
    };
    let defined = top_level_definitions(source);
    let used: BTreeSet<String> = identifiers(source).difference(&defined).cloned().collect();
    let mut imports = Imports::new();
    let mut seen = BTreeSet::new();
    for candidate in candidates {
        if !used.contains(&candidate.name) || !seen.insert(candidate.name.clone()) {
            continue;
        }
        match &candidate.member {
            None => imports.module(candidate.section, &candidate.module, &candidate.name),
            Some(member) if *member == candidate.name => {
                imports.from(candidate.section, &candidate.module, member)
            }
            Some(member) => imports.from(
                candidate.section,
                &candidate.module,
                &format!("{member} as {}", candidate.name),
            ),
        };
    }
    let block = imports.render();
    let end = at + MARKER.len();
    let rest = source[end..].strip_prefix('\n').unwrap_or(&source[end..]);
    if block.is_empty() {
        // Drop the marker line and the blank line before it; the blank lines after it remain.
        let before = source[..at].trim_end_matches('\n');
        return format!("{before}\n{rest}");
    }
    format!("{}{block}\n{rest}", &source[..at])
}

/// Names a module binds at top level (`x = ...`, `x: T = ...`, `def x`, `class x`): never imported.
pub fn top_level_definitions(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in source.lines() {
        let rest = line
            .strip_prefix("async def ")
            .or_else(|| line.strip_prefix("def "))
            .or_else(|| line.strip_prefix("class "));
        let (name, tail) = match rest {
            Some(rest) => (ident_prefix(rest), ""),
            None => {
                let name = ident_prefix(line);
                (name, line[name.len()..].trim_start())
            }
        };
        let binds = rest.is_some()
            || (tail.starts_with('=') && !tail.starts_with("=="))
            || tail.starts_with(':');
        if !name.is_empty()
            && binds
            && !matches!(name, "if" | "else" | "for" | "while" | "with" | "try")
        {
            out.insert(name.to_string());
        }
    }
    out
}

fn ident_prefix(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(i, c)| !(c.is_alphanumeric() || *c == '_') || (*i == 0 && c.is_ascii_digit()))
        .map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// Names used in Python source: identifiers outside comments and plain strings that do not follow
/// a `.` (attribute access). F-string contents count, as their braces hold code.
pub fn identifiers(source: &str) -> BTreeSet<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    let mut after_dot = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '"' || c == '\'' {
            i = skip_string(&chars, i);
            after_dot = false;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let is_f_prefix = matches!(word.as_str(), "f" | "F" | "rf" | "fr" | "Rf" | "fR");
            let is_prefix =
                is_f_prefix || matches!(word.as_str(), "r" | "b" | "rb" | "br" | "R" | "B");
            if is_prefix && i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let end = skip_string(&chars, i);
                if is_f_prefix {
                    out.extend(f_string_names(&chars[i..end]));
                }
                i = end;
                after_dot = false;
                continue;
            }
            if !after_dot {
                out.insert(word);
            }
            after_dot = false;
            continue;
        }
        if c == '.' {
            after_dot = true;
        } else if !c.is_whitespace() {
            after_dot = false;
        }
        i += 1;
    }
    out
}

/// Names used inside the `{...}` replacement fields of an f-string literal.
fn f_string_names(literal: &[char]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < literal.len() {
        if literal[i] == '{' && literal.get(i + 1) == Some(&'{') {
            i += 2;
            continue;
        }
        if literal[i] == '{' {
            let start = i + 1;
            let mut depth = 1;
            i += 1;
            while i < literal.len() && depth > 0 {
                match literal[i] {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            let inner: String = literal[start..i.saturating_sub(1).max(start)]
                .iter()
                .collect();
            out.extend(identifiers(&inner));
            continue;
        }
        i += 1;
    }
    out
}

fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = if triple { start + 3 } else { start + 1 };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if !triple {
                return i + 1;
            }
            if chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        }
        if c == '\n' && !triple {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_skip_strings_comments_and_attributes() {
        let names = identifiers(
            "x = sa.Enum(\"Any\")  # Field\ny: Any = f\"{dt}\"\n\"\"\"BaseModel\"\"\"\n",
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(names, ["Any", "dt", "sa", "x", "y"]);
    }

    #[test]
    fn definitions_are_not_imported() {
        let names = top_level_definitions(
            "settings = Settings()\nclass A:\n    x = 1\ndef f():\n    pass\nif x:\n",
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(names, ["A", "f", "settings"]);
    }

    #[test]
    fn marker_becomes_used_imports() {
        let source = "\"\"\"Doc.\"\"\"\n\n# <imports>\n\n\nclass A(BaseModel):\n    at: dt.date\n";
        let out = resolve(source, &common());
        assert_eq!(
            out,
            "\"\"\"Doc.\"\"\"\n\nimport datetime as dt\n\nfrom pydantic import BaseModel\n\n\nclass A(BaseModel):\n    at: dt.date\n"
        );
    }
}
