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

const IRREGULAR: &[(&str, &str)] = &[
    ("person", "people"),
    ("child", "children"),
    ("man", "men"),
    ("woman", "women"),
    ("mouse", "mice"),
    ("goose", "geese"),
    ("foot", "feet"),
    ("tooth", "teeth"),
    ("datum", "data"),
    ("criterion", "criteria"),
    ("analysis", "analyses"),
    ("status", "statuses"),
    ("quiz", "quizzes"),
    ("leaf", "leaves"),
    ("life", "lives"),
    ("knife", "knives"),
    ("wife", "wives"),
    ("half", "halves"),
    ("shelf", "shelves"),
    ("thief", "thieves"),
    ("index", "indexes"),
    ("matrix", "matrices"),
    ("vertex", "vertices"),
    ("cactus", "cacti"),
    ("hero", "heroes"),
    ("potato", "potatoes"),
    ("tomato", "tomatoes"),
    ("echo", "echoes"),
    ("address", "addresses"),
    ("bus", "buses"),
    ("campus", "campuses"),
    ("virus", "viruses"),
    ("alias", "aliases"),
    ("canvas", "canvases"),
    ("series", "series"),
    ("species", "species"),
    ("news", "news"),
    ("equipment", "equipment"),
    ("information", "information"),
    ("feedback", "feedback"),
    ("software", "software"),
    ("staff", "staff"),
    ("sheep", "sheep"),
    ("fish", "fish"),
    ("deer", "deer"),
    ("inventory", "inventories"),
];

/// English plural of one lowercase word (`category` → `categories`).
pub fn plural_word(word: &str) -> String {
    if let Some((_, p)) = IRREGULAR.iter().find(|(s, _)| *s == word) {
        return (*p).to_string();
    }
    if IRREGULAR.iter().any(|(_, p)| *p == word) {
        return word.to_string();
    }
    let vowel = |c: char| "aeiou".contains(c);
    if let Some(stem) = word.strip_suffix('y') {
        if stem.chars().last().is_some_and(|c| !vowel(c)) {
            return format!("{stem}ies");
        }
    }
    if word.ends_with('s')
        || word.ends_with('x')
        || word.ends_with('z')
        || word.ends_with("ch")
        || word.ends_with("sh")
    {
        return format!("{word}es");
    }
    format!("{word}s")
}

/// English singular of one lowercase word (`categories` → `category`); words that look singular
/// come back unchanged.
pub fn singular_word(word: &str) -> String {
    if let Some((s, _)) = IRREGULAR.iter().find(|(_, p)| *p == word) {
        return (*s).to_string();
    }
    if IRREGULAR.iter().any(|(s, _)| *s == word) {
        return word.to_string();
    }
    const KEEP: &[&str] = &[
        "news",
        "class",
        "glass",
        "boss",
        "address",
        "process",
        "access",
        "status",
        "bus",
        "gas",
        "analysis",
        "basis",
        "canvas",
        "alias",
        "campus",
        "virus",
        "lens",
        "is",
        "this",
        "its",
        "series",
        "species",
        "business",
        "progress",
        "success",
        "witness",
        "chess",
        "kiss",
        "dress",
        "loss",
        "miss",
        "pass",
        "bonus",
        "census",
        "corpus",
        "focus",
        "radius",
        "genus",
        "atlas",
        "plus",
        "minus",
        "us",
        "yes",
        "bias",
        "thesis",
        "axis",
        "crisis",
        "diagnosis",
        "ss",
    ];
    if KEEP.contains(&word) || word.len() <= 2 {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        if stem.len() > 1 {
            return format!("{stem}y");
        }
    }
    for suffix in ["sses", "shes", "ches", "xes", "zzes", "uses"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            let keep = &suffix[..suffix.len() - 2];
            return format!("{stem}{keep}");
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix('s') {
        return stem.to_string();
    }
    word.to_string()
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
