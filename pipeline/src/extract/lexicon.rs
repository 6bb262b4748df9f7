//! The closed word lists extraction relies on: function words, verbs and their forms, filler
//! nouns that never name an entity, and role words.

/// Articles, possessives and other words that only introduce a noun.
#[rustfmt::skip]
const DETERMINERS: &[&str] = &[
    "a", "an", "the", "each", "every", "all", "any", "some", "their", "its", "his", "her", "our",
    "your", "my", "this", "that", "these", "those", "own", "both", "another", "other", "whose",
    "certain", "given", "specific", "individual", "existing", "new", "respective", "corresponding",
];

#[rustfmt::skip]
const PRONOUNS: &[&str] = &[
    "it", "they", "them", "he", "she", "we", "you", "i", "me", "us", "who", "which", "there",
    "here", "one", "ones", "someone", "anyone", "everyone", "everything", "something", "anything",
    "nothing", "what", "whom", "where", "when", "how", "why", "also", "then",
];

#[rustfmt::skip]
const PREPOSITIONS: &[&str] = &[
    "to", "in", "on", "at", "for", "from", "with", "by", "of", "into", "under", "within", "inside",
    "per", "about", "across", "between", "via", "through", "over", "after", "before", "during",
    "without", "as", "like", "than", "onto", "among", "against", "toward", "towards", "upon",
];

#[rustfmt::skip]
const CONJUNCTIONS: &[&str] = &[
    "and", "or", "but", "plus", "nor", "so", "while", "whereas", "&", "if", "because",
];

#[rustfmt::skip]
const AUXILIARIES: &[&str] = &[
    "can", "could", "may", "might", "should", "must", "will", "would", "shall", "cannot", "can't",
    "do", "does", "don't", "doesn't", "also", "only", "optionally", "always", "usually", "often",
    "typically", "additionally", "then", "just", "not", "never", "generally", "normally",
];

#[rustfmt::skip]
const BE: &[&str] = &[
    "is", "are", "be", "was", "were", "been", "being", "isn't", "aren't",
];

#[rustfmt::skip]
const HAVE: &[&str] = &[
    "have", "has", "had", "having", "contain", "contains", "include", "includes", "hold", "holds",
    "consist", "consists", "comprise", "comprises",
];

/// Base forms of verbs that describe how records relate. Inflected forms are found by
/// [`verb_base`].
#[rustfmt::skip]
const VERBS: &[&str] = &[
    "write", "give", "leave", "place", "make", "create", "post", "publish", "submit", "upload",
    "add", "send", "receive", "own", "manage", "organize", "organise", "host", "run", "book",
    "reserve", "rent", "borrow", "lend", "buy", "purchase", "sell", "order", "pay", "review",
    "rate", "comment", "like", "love", "favorite", "favourite", "bookmark", "save", "star",
    "follow", "join", "attend", "enroll", "enrol", "register", "subscribe", "watch", "track", "log",
    "record", "assign", "schedule", "teach", "take", "adopt", "apply", "hire", "employ", "visit",
    "treat", "see", "prescribe", "perform", "play", "list", "offer", "provide", "raise", "report",
    "open", "start", "complete", "share", "invite", "tag", "vote", "answer", "ask", "author",
    "compose", "edit", "delete", "view", "read", "browse", "search", "upvote", "downvote", "claim",
    "accept", "reject", "approve", "request", "deliver", "ship", "supply", "stock", "issue", "keep",
    "maintain", "lead", "coach", "train", "fund", "donate", "sponsor", "support", "use", "need",
    "want", "choose", "pick", "select", "drive", "cook", "earn", "spend", "transfer", "deposit",
    "withdraw", "invest", "mark", "pin", "archive", "attach", "chat", "meet", "present", "speak",
    "moderate", "supervise", "oversee", "store", "handle", "monitor", "collect", "catalog",
    "catalogue", "plan", "allow", "let", "enable", "help", "link", "connect", "associate", "belong",
    "teach", "mentor", "sign", "participate", "collaborate", "wishlist", "reply", "respond",
    "contribute", "check", "cover", "feature", "sponsor", "examine", "diagnose", "grade", "enter",
    "work", "listen", "organise", "reference", "mention", "contact", "email", "message", "call",
    "import", "export", "generate", "print", "scan", "shorten", "redirect", "click", "bid", "win",
    "release", "produce", "design", "build", "develop", "sing", "direct", "star", "review", "rent",
];

#[rustfmt::skip]
const IRREGULAR_VERBS: &[(&str, &str)] = &[
    ("wrote", "write"), ("written", "write"), ("gave", "give"), ("given", "give"),
    ("left", "leave"), ("made", "make"), ("took", "take"), ("taken", "take"), ("held", "hold"),
    ("ran", "run"), ("sold", "sell"), ("bought", "buy"), ("paid", "pay"), ("sent", "send"),
    ("kept", "keep"), ("led", "lead"), ("taught", "teach"), ("chose", "choose"),
    ("chosen", "choose"), ("saw", "see"), ("seen", "see"), ("spoke", "speak"), ("spoken", "speak"),
    ("won", "win"), ("spent", "spend"), ("driven", "drive"), ("drove", "drive"), ("met", "meet"),
    ("lent", "lend"),
];

/// Verbs whose object is shared, so that a plural subject and object make a many-to-many
/// relation (`attendees bookmark talks`).
#[rustfmt::skip]
const ASSOCIATION_VERBS: &[&str] = &[
    "bookmark", "favorite", "favourite", "like", "love", "follow", "join", "attend", "enroll",
    "enrol", "register", "subscribe", "save", "star", "watch", "borrow", "rent", "apply", "vote",
    "upvote", "downvote", "visit", "take", "participate", "collaborate", "tag", "assign", "book",
    "reserve", "buy", "purchase", "order", "wishlist", "listen", "read", "play", "link", "connect",
    "associate", "share", "sponsor", "work", "mentor", "treat", "see", "contact", "pin", "view",
];

/// Verbs that read as a command when they open a sentence (`Track expenses`).
#[rustfmt::skip]
const IMPERATIVES: &[&str] = &[
    "track", "manage", "store", "keep", "record", "log", "monitor", "collect", "catalog",
    "catalogue", "organize", "organise", "handle", "support", "sell", "share", "plan", "schedule",
    "allow", "let", "enable", "help", "list", "book",
];

/// Words that never name an entity: software words, meta words and vague nouns.
#[rustfmt::skip]
const FILLER: &[&str] = &[
    "api", "apis", "backend", "back-end", "app", "apps", "system", "systems", "website", "web",
    "software", "solution", "database", "db", "crud", "rest", "restful", "endpoint", "endpoints",
    "something", "things", "thing", "stuff", "data", "datum", "info", "information", "feature",
    "features", "functionality", "way", "ways", "ability", "part", "parts", "kind", "kinds", "lot",
    "lots", "bunch", "number", "json", "jwt", "fastapi", "python", "sqlalchemy", "sqlite",
    "postgres", "postgresql", "mysql", "auth", "authentication", "authorization", "login", "logins",
    "signup", "password", "passwords", "everything", "anything", "example", "examples", "eg", "ie",
    "etc", "ui", "frontend", "front-end", "interface", "entity", "entities", "model", "models",
    "field", "fields", "attribute", "attributes", "relation", "relations", "relationship",
    "relationships", "resource", "resources", "object", "objects", "record", "records", "table",
    "tables", "column_list", "shortener", "dashboard", "admin-panel", "option", "options", "detail",
    "details", "time", "date", "name", "title", "email", "id", "ids", "type", "types", "mvp",
    "prototype", "version", "crud-app", "management", "support", "access", "people", "person",
    "everyone", "anyone", "user-friendly", "simple", "basic", "first", "last", "end", "start",
    "more", "less", "most", "few", "many", "several", "multiple", "various", "minutes", "hours",
    "seconds", "days", "weeks", "months", "years", "amount", "list-of", "order-of", "set", "sets",
    "use", "uses", "case", "cases", "need", "needs", "goal", "goals", "requirement", "requirements",
    "spec", "specs", "schema", "note-taking", "managing", "tracking",
];

/// Nouns that end a phrase naming the project itself (`a bookstore API`, `an expense tracker`).
#[rustfmt::skip]
const DOMAIN_HEADS: &[&str] = &[
    "api", "app", "application", "backend", "back-end", "service", "system", "platform", "server",
    "website", "site", "tool", "tracker", "shortener", "portal", "software", "program", "solution",
    "bot", "microservice",
];

/// Domain-head words left out of project names.
#[rustfmt::skip]
const NAME_DROPS: &[&str] = &[
    "backend", "back-end", "service", "system", "platform", "server", "software", "program",
    "solution", "microservice", "simple", "small", "basic", "rest", "restful", "crud", "minimal",
    "tiny", "fastapi", "python", "new", "little", "quick", "full", "complete", "json", "web",
    "online", "based", "my", "our", "own", "application", "sqlite", "postgres", "postgresql",
];

/// Role words, most privileged first.
#[rustfmt::skip]
const ROLE_RANKS: &[(&str, u8)] = &[
    ("owner", 5), ("superuser", 8), ("superadmin", 8), ("admin", 10), ("administrator", 10),
    ("manager", 20), ("moderator", 30), ("editor", 40), ("staff", 45), ("agent", 45),
    ("author", 50), ("contributor", 55), ("member", 70), ("user", 72), ("customer", 74),
    ("reader", 80), ("viewer", 80), ("guest", 90),
];

/// Words for people, which are never owned by the logged-in user.
#[rustfmt::skip]
const PERSON_WORDS: &[&str] = &[
    "member", "attendee", "customer", "student", "teacher", "patient", "doctor", "author",
    "speaker", "employee", "guest", "person", "contact", "candidate", "adopter", "trainer",
    "instructor", "client", "participant", "player", "artist", "owner", "supplier", "vendor",
    "driver", "agent", "manager", "volunteer", "donor", "tenant", "landlord", "reader",
    "subscriber", "follower", "host", "visitor", "applicant", "coach", "nurse", "vet", "staff",
    "admin", "user",
];

fn has(list: &[&str], word: &str) -> bool {
    list.contains(&word)
}

/// `a`, `the`, `each`, `their`, ...
pub(crate) fn is_determiner(word: &str) -> bool {
    has(DETERMINERS, word)
}

/// `it`, `they`, `which`, ...
pub(crate) fn is_pronoun(word: &str) -> bool {
    has(PRONOUNS, word)
}

/// `to`, `in`, `on`, ...
pub(crate) fn is_preposition(word: &str) -> bool {
    has(PREPOSITIONS, word)
}

/// `and`, `or`, `but`, ...
pub(crate) fn is_conjunction(word: &str) -> bool {
    has(CONJUNCTIONS, word)
}

/// `can`, `should`, `also`, ...
pub(crate) fn is_auxiliary(word: &str) -> bool {
    has(AUXILIARIES, word)
}

/// `is`, `are`, `be`, ...
pub(crate) fn is_be(word: &str) -> bool {
    has(BE, word)
}

/// `have`, `has`, `contains`, ...
pub(crate) fn is_have(word: &str) -> bool {
    has(HAVE, word)
}

/// `belong`, `belongs`.
pub(crate) fn is_belong(word: &str) -> bool {
    matches!(word, "belong" | "belongs" | "belonged")
}

/// Words that never name an entity.
pub(crate) fn is_filler(word: &str) -> bool {
    has(FILLER, word)
}

/// Nouns that name the project (`api`, `app`, `tracker`).
pub(crate) fn is_domain_head(word: &str) -> bool {
    has(DOMAIN_HEADS, word)
}

/// Words left out of project names.
pub(crate) fn is_name_drop(word: &str) -> bool {
    has(NAME_DROPS, word)
}

/// The base form of a verb form (`wrote` → `write`, `assigned` → `assign`), if it is a known verb.
pub(crate) fn verb_base(word: &str) -> Option<&'static str> {
    let known = |w: &str| VERBS.iter().copied().find(|v| *v == w);
    if let Some(v) = known(word) {
        return Some(v);
    }
    if let Some((_, base)) = IRREGULAR_VERBS.iter().find(|(form, _)| *form == word) {
        return known(base);
    }
    let mut candidates: Vec<String> = Vec::new();
    if let Some(stem) = word
        .strip_suffix("ies")
        .or_else(|| word.strip_suffix("ied"))
    {
        candidates.push(format!("{stem}y"));
    }
    for suffix in ["es", "s", "ed", "d"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            candidates.push(stem.to_string());
        }
    }
    if let Some(stem) = word.strip_suffix("ed") {
        let mut chars = stem.chars();
        let last = chars.next_back();
        if last.is_some() && last == chars.clone().next_back() {
            candidates.push(chars.as_str().to_string());
        }
    }
    candidates.iter().find_map(|c| known(c))
}

/// Whether the word is a past participle of a known verb (`assigned`, `written`).
pub(crate) fn is_participle(word: &str) -> bool {
    (word.ends_with("ed") || IRREGULAR_VERBS.iter().any(|(form, _)| *form == word))
        && verb_base(word).is_some()
}

/// Whether a verb (base form) links shared records (`bookmark`, `attend`).
pub(crate) fn is_association_verb(base: &str) -> bool {
    has(ASSOCIATION_VERBS, base)
}

/// Whether a verb (base form) can open a command sentence (`track`).
pub(crate) fn is_imperative(base: &str) -> bool {
    has(IMPERATIVES, base)
}

/// Whether a verb (base form) only introduces another clause (`let users create posts`).
pub(crate) fn is_enabling_verb(base: &str) -> bool {
    matches!(base, "allow" | "let" | "enable" | "help" | "want" | "need")
}

/// The privilege rank of a role word (lower is more privileged).
pub(crate) fn role_rank(word: &str) -> Option<u8> {
    ROLE_RANKS.iter().find(|(w, _)| *w == word).map(|(_, r)| *r)
}

/// Whether the word names a kind of person.
pub(crate) fn is_person_word(word: &str) -> bool {
    has(PERSON_WORDS, word)
}

/// Whether a word may be part of a name: ASCII letters and digits (and inner `-`, `'`), starting
/// with a letter.
pub(crate) fn is_name_word(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '\'' | '_'))
        && word.len() <= 30
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_verb(form: &str, expected: Option<&str>) {
        assert_eq!(verb_base(form), expected, "base of {form}");
    }

    #[test]
    fn verb_forms() {
        check_verb("writes", Some("write"));
        check_verb("wrote", Some("write"));
        check_verb("assigned", Some("assign"));
        check_verb("submitted", Some("submit"));
        check_verb("applies", Some("apply"));
        check_verb("bookmarks", Some("bookmark"));
        check_verb("gives", Some("give"));
        check_verb("rating", None);
        check_verb("title", None);
        check_verb("", None);
        check_verb("\u{1d514}ed", None);
        check_verb("ééed", None);
    }

    #[test]
    fn word_classes() {
        assert!(is_participle("assigned") && is_participle("written") && !is_participle("assign"));
        assert!(is_association_verb("bookmark") && !is_association_verb("write"));
        assert!(is_filler("api") && !is_filler("book"));
        assert!(role_rank("admin") < role_rank("member"));
        assert!(is_name_word("isbn13") && !is_name_word("13isbn") && !is_name_word("café"));
    }
}
