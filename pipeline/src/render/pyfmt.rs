//! Python source layout: expressions wrapped the way `ruff format` wraps them at 100 columns, and
//! import blocks sorted the way ruff's isort rules sort them.

use std::collections::{BTreeMap, BTreeSet};

/// The line length of the generated project (also in its `pyproject.toml`).
pub const LINE_LENGTH: usize = 100;

/// A Python expression that knows where it may be split.
#[derive(Debug, Clone, PartialEq)]
pub enum Py {
    /// Source text that is never split.
    Raw(String),
    /// `func(args...)`.
    Call(String, Vec<Py>),
    /// `name=value`, as a call argument.
    Kw(String, Box<Py>),
    /// `[items...]`.
    List(Vec<Py>),
    /// `(items...)`, with the trailing comma a one-item tuple needs.
    Tuple(Vec<Py>),
    /// `{items...}`.
    Set(Vec<Py>),
}

/// Shorthand for [`Py::Raw`].
pub fn raw(text: impl Into<String>) -> Py {
    Py::Raw(text.into())
}

/// Shorthand for [`Py::Call`].
pub fn call(func: impl Into<String>, args: Vec<Py>) -> Py {
    Py::Call(func.into(), args)
}

/// Shorthand for [`Py::Kw`].
pub fn kw(name: impl Into<String>, value: Py) -> Py {
    Py::Kw(name.into(), Box::new(value))
}

impl Py {
    /// The expression on one line.
    pub fn flat(&self) -> String {
        match self {
            Py::Raw(text) => text.clone(),
            Py::Kw(name, value) => format!("{name}={}", value.flat()),
            Py::Call(func, args) => format!("{func}({})", join_flat(args)),
            Py::List(items) => format!("[{}]", join_flat(items)),
            Py::Set(items) => format!("{{{}}}", join_flat(items)),
            Py::Tuple(items) if items.len() == 1 => format!("({},)", items[0].flat()),
            Py::Tuple(items) => format!("({})", join_flat(items)),
        }
    }

    /// The expression starting after `prefix` (already on the line, at `indent`) and followed by
    /// `suffix`; split over lines when it does not fit.
    pub fn layout(&self, indent: usize, prefix: &str, suffix: &str) -> String {
        let flat = self.flat();
        if indent + prefix.len() + flat.len() + suffix.len() <= LINE_LENGTH {
            return format!("{prefix}{flat}{suffix}");
        }
        match self {
            Py::Raw(_) => format!("{prefix}{flat}{suffix}"),
            Py::Kw(name, value) => value.layout(indent, &format!("{prefix}{name}="), suffix),
            Py::Call(func, args) => bracketed(
                indent,
                &format!("{prefix}{func}("),
                args,
                ")",
                suffix,
                false,
            ),
            Py::List(items) => bracketed(indent, &format!("{prefix}["), items, "]", suffix, true),
            Py::Set(items) => bracketed(indent, &format!("{prefix}{{"), items, "}", suffix, true),
            Py::Tuple(items) => bracketed(indent, &format!("{prefix}("), items, ")", suffix, true),
        }
    }
}

fn join_flat(items: &[Py]) -> String {
    items.iter().map(Py::flat).collect::<Vec<_>>().join(", ")
}

/// Splits a bracketed expression like `ruff format`: call arguments first try to share one
/// indented line; collection literals with commas always go one item per line, with a trailing
/// comma (as does a one-item tuple).
fn bracketed(
    indent: usize,
    open: &str,
    items: &[Py],
    close: &str,
    suffix: &str,
    collection: bool,
) -> String {
    let pad = " ".repeat(indent);
    let inner = indent + 4;
    let inner_pad = " ".repeat(inner);
    let one_tuple = collection && close == ")" && items.len() == 1;
    let explode = collection && (items.len() > 1 || one_tuple);
    if !explode {
        let hugged = join_flat(items);
        if items.is_empty() || inner + hugged.len() <= LINE_LENGTH {
            return format!("{open}\n{inner_pad}{hugged}\n{pad}{close}{suffix}");
        }
        if let [only] = items {
            let body = only.layout(inner, "", "");
            return format!("{open}\n{inner_pad}{body}\n{pad}{close}{suffix}");
        }
    }
    let lines: Vec<String> = items
        .iter()
        .map(|item| format!("{inner_pad}{}", item.layout(inner, "", ",")))
        .collect();
    format!("{open}\n{}\n{pad}{close}{suffix}", lines.join("\n"))
}

/// A statement `prefix + expr` at `indent` spaces, wrapped as needed, with the indentation.
pub fn stmt(indent: usize, prefix: &str, expr: &Py) -> String {
    format!("{}{}", " ".repeat(indent), expr.layout(indent, prefix, ""))
}

/// The import sections ruff's isort rules know, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// The standard library.
    Stdlib,
    /// Installed packages.
    ThirdParty,
    /// The project itself (`app`, `conftest`).
    FirstParty,
}

/// An import block under construction.
#[derive(Debug, Default, Clone)]
pub struct Imports {
    plain: BTreeMap<Section, BTreeSet<(String, String)>>,
    from: BTreeMap<Section, BTreeMap<String, BTreeSet<String>>>,
}

impl Imports {
    /// An empty block.
    pub fn new() -> Imports {
        Imports::default()
    }

    /// `import module` (or `import module as alias` when they differ).
    pub fn module(&mut self, section: Section, module: &str, alias: &str) -> &mut Imports {
        self.plain
            .entry(section)
            .or_default()
            .insert((module.to_string(), alias.to_string()));
        self
    }

    /// `from module import name`.
    pub fn from(&mut self, section: Section, module: &str, name: &str) -> &mut Imports {
        self.from
            .entry(section)
            .or_default()
            .entry(module.to_string())
            .or_default()
            .insert(name.to_string());
        self
    }

    /// The block, sections separated by blank lines, without a trailing newline.
    pub fn render(&self) -> String {
        let sections: BTreeSet<Section> =
            self.plain.keys().chain(self.from.keys()).copied().collect();
        let mut blocks = Vec::new();
        for section in sections {
            let mut lines = Vec::new();
            if let Some(plain) = self.plain.get(&section) {
                let mut sorted: Vec<&(String, String)> = plain.iter().collect();
                sorted.sort_by_key(|(module, alias)| (module.to_ascii_lowercase(), alias.clone()));
                for (module, alias) in sorted {
                    if module == alias || alias.is_empty() {
                        lines.push(format!("import {module}"));
                    } else {
                        lines.push(format!("import {module} as {alias}"));
                    }
                }
            }
            if let Some(from) = self.from.get(&section) {
                let mut modules: Vec<(&String, &BTreeSet<String>)> = from.iter().collect();
                modules.sort_by_key(|(module, _)| module.to_ascii_lowercase());
                for (module, names) in modules {
                    lines.push(from_line(module, names));
                }
            }
            blocks.push(lines.join("\n"));
        }
        blocks.join("\n\n")
    }
}

fn member_key(name: &str) -> (u8, String, String) {
    let kind = if name.len() > 1 && name.chars().all(|c| !c.is_ascii_lowercase()) {
        0
    } else if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        1
    } else {
        2
    };
    (kind, name.to_ascii_lowercase(), name.to_string())
}

fn from_line(module: &str, names: &BTreeSet<String>) -> String {
    from_import(0, module, names)
}

/// `from module import a, b` at `indent` spaces (indentation included), wrapped in parentheses
/// one name per line when too long, the way isort wraps it.
pub fn from_import(indent: usize, module: &str, names: &BTreeSet<String>) -> String {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort_by_key(|name| member_key(name));
    let flat: Vec<&str> = sorted.iter().map(|s| s.as_str()).collect();
    let pad = " ".repeat(indent);
    let line = format!("{pad}from {module} import {}", flat.join(", "));
    if line.len() <= LINE_LENGTH {
        return line;
    }
    let body: Vec<String> = flat
        .iter()
        .map(|name| format!("{pad}    {name},"))
        .collect();
    format!("{pad}from {module} import (\n{}\n{pad})", body.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_calls_stay_flat() {
        let expr = call(
            "orm.mapped_column",
            vec![raw("sa.String(255)"), kw("unique", raw("True"))],
        );
        assert_eq!(
            stmt(4, "title: orm.Mapped[str] = ", &expr),
            "    title: orm.Mapped[str] = orm.mapped_column(sa.String(255), unique=True)"
        );
    }

    #[test]
    fn long_calls_hug_then_explode() {
        let long = "x".repeat(60);
        let expr = call("f", vec![raw(&long), raw("b")]);
        assert_eq!(
            stmt(4, &format!("{long} = "), &expr),
            format!("    {long} = f(\n        {long}, b\n    )")
        );
        let expr = call("f", vec![raw(&long), raw(&long)]);
        assert_eq!(
            stmt(0, "y = ", &expr),
            format!("y = f(\n    {long},\n    {long},\n)")
        );
        assert_eq!(Py::Tuple(vec![raw("\"a\"")]).flat(), "(\"a\",)");
    }

    #[test]
    fn long_collections_go_one_item_per_line() {
        let word = "w".repeat(50);
        let list = Py::List(vec![raw(&word), raw(&word)]);
        assert_eq!(
            stmt(0, "x = ", &list),
            format!("x = [\n    {word},\n    {word},\n]")
        );
        let single = call("frozenset", vec![Py::Set(vec![raw(&word), raw(&word)])]);
        assert_eq!(
            stmt(0, "y = ", &single),
            format!("y = frozenset(\n    {{\n        {word},\n        {word},\n    }}\n)")
        );
    }

    #[test]
    fn imports_sort_like_isort() {
        let mut imports = Imports::new();
        imports
            .from(Section::Stdlib, "typing", "Any")
            .from(Section::Stdlib, "typing", "TYPE_CHECKING")
            .module(Section::Stdlib, "uuid", "uuid")
            .module(Section::Stdlib, "datetime", "dt")
            .module(Section::ThirdParty, "sqlalchemy", "sa")
            .from(Section::ThirdParty, "sqlalchemy", "orm")
            .from(Section::FirstParty, "app.db.base", "Base");
        assert_eq!(
            imports.render(),
            "import datetime as dt\nimport uuid\nfrom typing import TYPE_CHECKING, Any\n\n\
             import sqlalchemy as sa\nfrom sqlalchemy import orm\n\nfrom app.db.base import Base"
        );
    }
}
