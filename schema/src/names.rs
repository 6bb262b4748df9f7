//! Naming rules shared by validation, extraction and rendering: case conversion, English plurals,
//! and the words that Python or SQL reserve.

/// Splits an identifier or phrase into lowercase words (`"BlogPost"`, `"blog post"`, `"blog_post"`
/// all give `["blog", "post"]`).
pub fn words(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = raw.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = c.is_ascii_uppercase()
            && i > 0
            && (chars[i - 1].is_ascii_lowercase()
                || chars[i - 1].is_ascii_digit()
                || (chars[i - 1].is_ascii_uppercase()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())));
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `"blog post"` → `"blog_post"`.
pub fn snake_case(raw: &str) -> String {
    words(raw).join("_")
}

/// `"blog_post"` → `"BlogPost"`.
pub fn pascal_case(raw: &str) -> String {
    words(raw)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `"blog_post"` → `"Blog post"`, for prose.
pub fn humanize(raw: &str) -> String {
    let joined = words(raw).join(" ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => joined,
    }
}

/// Nouns whose number the `pluralizer` crate gets wrong for table and class names, as
/// `(singular, plural)`; `schema/tests/nouns.tsv` fails without each of them.
const NUMBER_OVERRIDES: &[(&str, &str)] = &[
    // The crate keeps the Latin or Greek plural (`viri`, `indices`, `schemata`) or takes `agenda`
    // and `data` for plurals of `agendum` and `datum`; a table name wants the English plural, and
    // `data` is a mass noun.
    ("virus", "viruses"),
    ("index", "indexes"),
    ("schema", "schemas"),
    ("agenda", "agendas"),
    ("data", "data"),
    // Read as plurals of `specy` and `speciman`, or cut wrongly: the crate keeps the `ie` of
    // `-ies` after `ss` and `ch` (`embassie`, `hierarchie`) and drops it after `d` (`hoody`).
    ("species", "species"),
    ("specimen", "specimens"),
    ("embassy", "embassies"),
    ("hierarchy", "hierarchies"),
    ("hoodie", "hoodies"),
    // Singulars ending in `s` that the crate leaves alone or cuts (`len`, `bia`, `axi`), and
    // plurals it cuts too far or reads as another word (`cach`, `axe`).
    ("lens", "lenses"),
    ("bias", "biases"),
    ("axis", "axes"),
    ("cache", "caches"),
    // Uncountable nouns missing from the crate's list.
    ("feedback", "feedback"),
    ("evidence", "evidence"),
    ("luggage", "luggage"),
    ("furniture", "furniture"),
    ("jewelry", "jewelry"),
];

/// Pronouns and verbs that the `pluralizer` crate inflects (`we` → `I`, `have` → `has`, `this` →
/// `these`). They are never names, and the extractor asks whether any word is plural, so they
/// keep their form.
const FUNCTION_WORDS: &[&str] = &[
    "i",
    "we",
    "me",
    "us",
    "he",
    "she",
    "they",
    "them",
    "you",
    "thou",
    "myself",
    "ourselves",
    "yourself",
    "yourselves",
    "itself",
    "herself",
    "himself",
    "themself",
    "themselves",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "this",
    "these",
    "that",
    "those",
    "my",
    "our",
    "its",
    "his",
    "her",
    "their",
];

/// The override for `word`, singular or plural, if it has one.
fn number_override(word: &str) -> Option<(&'static str, &'static str)> {
    NUMBER_OVERRIDES
        .iter()
        .copied()
        .find(|(singular, plural)| *singular == word || *plural == word)
}

/// English plural of one lowercase word (`category` → `categories`, `person` → `people`,
/// `menu` → `menus`, `news` → `news`), from the `pluralizer` crate's rules (irregular and
/// uncountable words included) and [`NUMBER_OVERRIDES`]. A word that is already plural, and a
/// pronoun or verb, comes back unchanged.
pub fn plural_word(word: &str) -> String {
    if word.is_empty() || FUNCTION_WORDS.contains(&word) {
        return word.to_string();
    }
    if let Some((_, plural)) = number_override(word) {
        return plural.to_string();
    }
    pluralizer::pluralize(word, 2, false)
}

/// English singular of one lowercase word (`categories` → `category`, `warehouses` →
/// `warehouse`, `movies` → `movie`, `people` → `person`), from the same rules as
/// [`plural_word`]. A word that is already singular, and a pronoun or verb, comes back unchanged.
pub fn singular_word(word: &str) -> String {
    if word.is_empty() || FUNCTION_WORDS.contains(&word) {
        return word.to_string();
    }
    if let Some((singular, _)) = number_override(word) {
        return singular.to_string();
    }
    pluralizer::pluralize(word, 1, false)
}

/// Plural of a snake_case or phrase name: only the last word changes (`blog_post` → `blog_posts`).
pub fn pluralize(raw: &str) -> String {
    let mut ws = words(raw);
    if let Some(last) = ws.pop() {
        ws.push(plural_word(&last));
    }
    ws.join("_")
}

/// Singular of a snake_case or phrase name (`blog_posts` → `blog_post`).
pub fn singularize(raw: &str) -> String {
    let mut ws = words(raw);
    if let Some(last) = ws.pop() {
        ws.push(singular_word(&last));
    }
    ws.join("_")
}

/// Python's hard keywords: never usable as a module, attribute or parameter name.
pub const PYTHON_KEYWORDS: &[&str] = &[
    "false", "none", "true", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Python keywords, plus attribute names that SQLAlchemy models or pydantic schemas reserve.
pub const PYTHON_RESERVED: &[&str] = &[
    "false",
    "none",
    "true",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "metadata",
    "registry",
    "model_config",
    "model_fields",
    "json",
    "dict",
    "copy",
    "schema",
    "validate",
    "construct",
    "fields",
    "self",
];

/// SQL words that PostgreSQL or MySQL reserve (SQLAlchemy would quote them, but a user's own SQL
/// would break). `date`, `time` and `year` are allowed unquoted by all three databases.
pub const SQL_RESERVED: &[&str] = &[
    "add",
    "all",
    "alter",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "between",
    "both",
    "by",
    "call",
    "case",
    "cast",
    "change",
    "check",
    "collate",
    "column",
    "condition",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "default",
    "delete",
    "desc",
    "describe",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "groups",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "interval",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "keys",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "lock",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "option",
    "or",
    "order",
    "outer",
    "primary",
    "range",
    "rank",
    "read",
    "references",
    "rename",
    "replace",
    "require",
    "restrict",
    "returning",
    "right",
    "row",
    "rows",
    "schema",
    "select",
    "session_user",
    "set",
    "show",
    "some",
    "table",
    "then",
    "to",
    "trailing",
    "trigger",
    "true",
    "union",
    "unique",
    "update",
    "usage",
    "use",
    "user",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
    "write",
];

/// Names the generated list endpoint uses for paging, sorting and search.
pub const LIST_RESERVED: &[&str] = &["limit", "offset", "sort", "q"];

/// Names every generated entity already has.
pub const IMPLICIT_FIELDS: &[&str] = &["id", "created_at", "updated_at"];

/// Class names the generated code uses itself.
pub const RESERVED_CLASS_NAMES: &[&str] = &[
    "Base",
    "None",
    "True",
    "False",
    "Settings",
    "BaseModel",
    "ConfigDict",
    "Field",
    "Page",
    "Token",
    "Enum",
    "Decimal",
    "Optional",
    "Any",
    "Annotated",
    "Mapped",
    "Depends",
    "Query",
    "Form",
    "Body",
    "Path",
    "APIRouter",
    "FastAPI",
    "HTTPException",
    "Request",
    "Response",
    "Health",
    "Auth",
    "Message",
];

/// Whether a snake_case name breaks Python or SQL.
pub fn is_reserved(name: &str) -> bool {
    PYTHON_RESERVED.contains(&name) || SQL_RESERVED.contains(&name)
}

/// Whether `name` is a valid snake_case identifier (`[a-z][a-z0-9_]*`, no double or trailing `_`).
pub fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

/// Whether `name` is PascalCase (`[A-Z][A-Za-z0-9]*`).
pub fn is_pascal_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_plural(singular: &str, plural: &str) {
        assert_eq!(plural_word(singular), plural, "plural of {singular}");
        assert_eq!(singular_word(plural), singular, "singular of {plural}");
    }

    #[test]
    fn plurals_round_trip() {
        check_plural("book", "books");
        check_plural("category", "categories");
        check_plural("person", "people");
        check_plural("box", "boxes");
        check_plural("match", "matches");
        check_plural("address", "addresses");
        check_plural("status", "statuses");
        check_plural("day", "days");
        check_plural("wish", "wishes");
        check_plural("series", "series");
        check_plural("class", "classes");
        check_plural("bus", "buses");
    }

    #[test]
    fn pronouns_and_verbs_keep_their_form() {
        for w in [
            "we", "us", "they", "have", "are", "these", "those", "their", "is", "this",
        ] {
            assert_eq!(singular_word(w), w);
            assert_eq!(plural_word(w), w);
        }
    }

    #[test]
    fn singular_keeps_singulars() {
        for w in [
            "news", "class", "status", "address", "book", "bus", "analysis",
        ] {
            assert_eq!(singular_word(w), w);
        }
    }

    #[test]
    fn case_conversion() {
        assert_eq!(snake_case("BlogPost"), "blog_post");
        assert_eq!(snake_case("blog post"), "blog_post");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("isbn13Code"), "isbn13_code");
        assert_eq!(pascal_case("blog_post"), "BlogPost");
        assert_eq!(pascal_case("order item"), "OrderItem");
        assert_eq!(pluralize("order_item"), "order_items");
        assert_eq!(singularize("order_items"), "order_item");
        assert_eq!(humanize("due_date"), "Due date");
    }

    #[test]
    fn identifier_shapes() {
        assert!(is_snake_case("due_date"));
        assert!(!is_snake_case("DueDate"));
        assert!(!is_snake_case("due__date"));
        assert!(!is_snake_case("_x"));
        assert!(is_pascal_case("BlogPost"));
        assert!(!is_pascal_case("blogPost"));
        assert!(is_reserved("class") && is_reserved("order") && is_reserved("user"));
        assert!(!is_reserved("title"));
    }
}
