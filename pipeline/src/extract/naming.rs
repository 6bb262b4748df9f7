//! The project's name (`bookstore_api`, `expense_tracker`) from the phrase that names it.

use codebegen_schema::names::{singular_word, snake_case};

use super::lexicon::LEXICON;

fn is_name_word(w: &str) -> bool {
    w.chars().any(|c| c.is_alphabetic())
        && (matches!(w, "for" | "to")
            || !matches!(
                LEXICON.closed_class(w),
                Some("preposition" | "and" | "or" | "relative")
            ))
}

fn is_determiner(w: &str) -> bool {
    matches!(LEXICON.closed_class(w), Some("determiner" | "quantifier"))
}

fn is_pronoun(w: &str) -> bool {
    LEXICON.closed_class(w) == Some("pronoun")
}

/// Nouns that end a phrase naming the project itself (`a bookstore API`).
pub(crate) fn is_domain_head(w: &str) -> bool {
    matches!(
        w,
        "api"
            | "app"
            | "application"
            | "backend"
            | "back-end"
            | "service"
            | "system"
            | "platform"
            | "server"
            | "website"
            | "site"
            | "tool"
            | "tracker"
            | "shortener"
            | "portal"
            | "software"
            | "program"
            | "solution"
            | "bot"
            | "microservice"
    )
}

fn is_name_drop(w: &str) -> bool {
    matches!(
        w,
        "backend"
            | "back-end"
            | "service"
            | "system"
            | "platform"
            | "server"
            | "software"
            | "program"
            | "solution"
            | "microservice"
            | "simple"
            | "small"
            | "basic"
            | "rest"
            | "restful"
            | "crud"
            | "minimal"
            | "tiny"
            | "fastapi"
            | "python"
            | "new"
            | "little"
            | "quick"
            | "full"
            | "complete"
            | "json"
            | "web"
            | "online"
            | "based"
            | "my"
            | "our"
            | "own"
            | "application"
            | "sqlite"
            | "postgres"
            | "postgresql"
    )
}

fn verb_base(w: &str) -> Option<&'static str> {
    let (verb, _) = LEXICON.verb_form(w)?;
    [
        "track",
        "log",
        "record",
        "monitor",
        "manage",
        "organize",
        "organise",
        "handle",
        "plan",
        "schedule",
        "book",
        "store",
        "keep",
        "collect",
        "catalog",
        "catalogue",
        "share",
        "sell",
    ]
    .into_iter()
    .find(|b| *b == verb.base)
}

/// Longest project name, in characters.
const MAX_NAME: usize = 40;

/// What a leading command verb makes of its object (`track expenses` → `expense_tracker`).
fn agent_noun(base: &str) -> Option<&'static str> {
    Some(match base {
        "track" | "log" | "record" | "monitor" => "tracker",
        "manage" | "organize" | "organise" | "handle" => "manager",
        "plan" => "planner",
        "schedule" | "book" => "scheduler",
        "store" | "keep" | "collect" | "catalog" | "catalogue" => "catalog",
        "share" => "sharing",
        "sell" => "shop",
        _ => return None,
    })
}

/// The project name from the naming phrase's words, if they make one.
pub(crate) fn name_from_words(words: &[String]) -> Option<String> {
    let mut words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| is_name_word(w) && !is_determiner(w) && !is_pronoun(w))
        .collect();
    if let Some(at) = words.iter().position(|w| *w == "for") {
        let generic = words[..at]
            .iter()
            .all(|w| is_domain_head(w) || is_name_drop(w));
        if generic {
            let head = words[..at]
                .iter()
                .rev()
                .find(|w| matches!(**w, "api" | "app"))
                .copied();
            let mut tail: Vec<&str> = words[at + 1..]
                .iter()
                .copied()
                .filter(|w| !w.ends_with("ing") || w.len() <= 5)
                .collect();
            tail.extend(head);
            words = tail;
        } else {
            words.truncate(at);
        }
    }
    if let Some(first) = words.first().copied() {
        if let Some(agent) = verb_base(first).and_then(agent_noun) {
            if words.len() >= 2 {
                let mut named: Vec<String> = words[1..].iter().map(|w| w.to_string()).collect();
                if let Some(last) = named.last_mut() {
                    *last = singular_word(last);
                }
                named.push(agent.to_string());
                return finish(&named.join(" "));
            }
        }
    }
    let kept: Vec<&str> = words.into_iter().filter(|w| !is_name_drop(w)).collect();
    if kept.iter().all(|w| is_domain_head(w)) {
        return None;
    }
    finish(&kept.join(" "))
}

fn finish(raw: &str) -> Option<String> {
    let words: Vec<String> = snake_case(raw)
        .split('_')
        .take(4)
        .map(str::to_string)
        .collect();
    let mut name = words.join("_");
    while name.len() > MAX_NAME {
        match name.rfind('_') {
            Some(cut) => name.truncate(cut),
            None => name.truncate(MAX_NAME),
        }
    }
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase()) && name != "app";
    ok.then_some(name)
}

/// The project name: from the naming phrase, else the template's, else the first entity's
/// table plus `_api`, else `app`.
pub(crate) fn project_name(
    hint: Option<&[String]>,
    template: Option<&str>,
    first_table: Option<&str>,
) -> String {
    hint.and_then(name_from_words)
        .or_else(|| template.map(str::to_string))
        .or_else(|| first_table.and_then(|t| finish(&format!("{t} api"))))
        .unwrap_or_else(|| "app".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let words: Vec<String> = input.split_whitespace().map(str::to_string).collect();
        assert_eq!(
            name_from_words(&words).as_deref(),
            expected,
            "name of {input:?}"
        );
    }

    #[test]
    fn names() {
        check("a bookstore api", Some("bookstore_api"));
        check("track expenses", Some("expense_tracker"));
        check("kanban board backend", Some("kanban_board"));
        check("conference app", Some("conference_app"));
        check("url shortener", Some("url_shortener"));
        check("simple todo app", Some("todo_app"));
        check("api for managing a library", Some("library_api"));
        check("a backend for a gym", Some("gym"));
        check(
            "inventory management for a warehouse",
            Some("inventory_management"),
        );
        check("app", None);
        check("the backend", None);
        check("", None);
    }

    #[test]
    fn fallbacks() {
        assert_eq!(project_name(None, Some("blog"), Some("posts")), "blog");
        assert_eq!(project_name(None, None, Some("posts")), "posts_api");
        assert_eq!(project_name(None, None, None), "app");
    }
}
