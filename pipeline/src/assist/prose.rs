//! What a language model is asked for each model-assisted stage (the chat messages), and how
//! its free text is cleaned into something the stage can use — or refused, so that the caller
//! falls back to the deterministic text.

use codebegen_schema::names::{humanize, plural_word, words};
use codebegen_schema::AppSpec;

/// A chat message as (role, content); the engine's chat template formats it.
pub type Message = (&'static str, String);

const SPEC_SYSTEM: &str = "You turn the description of a web backend into its data model. \
List every entity as a singular PascalCase name with its fields (snake_case names; types: string, \
text, integer, float, decimal, boolean, date, datetime, time, email, url), then every relation \
between entities (many_to_one from the child to its parent, many_to_many, one_to_one). Do not list \
id, created_at or foreign keys as fields. Answer with JSON only.";

const SPEC_EXAMPLE_PROMPT: &str = "A lending library: members borrow books. Books have a title, \
an isbn and a publication year; each loan has a due date.";

const SPEC_EXAMPLE_ANSWER: &str = r#"{"entities":[{"name":"Member","fields":[{"name":"name","type":"string"}]},{"name":"Book","fields":[{"name":"title","type":"string"},{"name":"isbn","type":"string"},{"name":"publication_year","type":"integer"}]},{"name":"Loan","fields":[{"name":"due_date","type":"date"}]}],"relations":[{"kind":"many_to_one","from":"Loan","to":"Member"},{"kind":"many_to_one","from":"Loan","to":"Book"}]}"#;

const REVIEW_SYSTEM: &str = "You are a senior Python reviewer. In two or three plain sentences, \
summarize an automated review of a generated FastAPI project for its author: how good the code is \
and what kind of issues were found. No lists, no code, no headings.";

const OVERVIEW_SYSTEM: &str = "You write the overview paragraph of a README. In two or three \
plain sentences, say what the backend does and which resources it manages. No lists, no code, no \
headings.";

/// Longest prompt text passed to the model, in characters.
const MAX_PROMPT_CHARS: usize = 2_000;
/// Findings listed to the model at most.
const MAX_FINDINGS: usize = 12;

/// Messages asking for a spec proposal (answered as JSON under the proposal schema).
pub fn propose_spec_messages(prompt: &str) -> Vec<Message> {
    let prompt: String = prompt.chars().take(MAX_PROMPT_CHARS).collect();
    vec![
        ("system", SPEC_SYSTEM.to_string()),
        ("user", SPEC_EXAMPLE_PROMPT.to_string()),
        ("assistant", SPEC_EXAMPLE_ANSWER.to_string()),
        ("user", prompt),
    ]
}

/// Messages asking for a review summary.
pub fn review_messages(findings: &[String], score: u32) -> Vec<Message> {
    let mut user = format!("Score: {score}/100.\n");
    if findings.is_empty() {
        user.push_str("Findings: none.");
    } else {
        user.push_str(&format!("Findings ({}):\n", findings.len()));
        for finding in findings.iter().take(MAX_FINDINGS) {
            let line: String = finding.chars().take(200).collect();
            user.push_str(&format!("- {line}\n"));
        }
    }
    vec![("system", REVIEW_SYSTEM.to_string()), ("user", user)]
}

/// Messages asking for the README overview of a spec.
pub fn overview_messages(spec: &AppSpec) -> Vec<Message> {
    let resources: Vec<String> = spec
        .entities
        .iter()
        .take(20)
        .map(|e| {
            let fields: Vec<&str> = e.fields.iter().take(6).map(|f| f.name.as_str()).collect();
            format!("{} ({})", e.name, fields.join(", "))
        })
        .collect();
    let auth = if spec.auth.enabled && !spec.auth.roles.is_empty() {
        format!(
            "JWT login; roles {}; writes need a token",
            spec.auth.roles.join(", ")
        )
    } else if spec.auth.enabled {
        "JWT login; writes need a token".to_string()
    } else {
        "none".to_string()
    };
    let description: String = spec.description.chars().take(300).collect();
    let user = format!(
        "Project: {}\nDescription: {description}\nResources: {}\nAuthentication: {auth}\nStack: FastAPI, SQLAlchemy, SQLite by default, with tests.",
        humanize(&spec.name),
        resources.join("; ")
    );
    vec![("system", OVERVIEW_SYSTEM.to_string()), ("user", user)]
}

/// The words the README overview starts with (given to the model as the opening of its answer).
pub fn overview_opening(spec: &AppSpec) -> String {
    format!("{} is a FastAPI backend that", humanize(&spec.name))
}

/// The first paragraph of `text` as plain sentences, cut at a sentence end within `max_chars`;
/// `None` when nothing usable is left (too short, code, markup, no sentence end).
pub fn clean_paragraph(text: &str, max_chars: usize) -> Option<String> {
    if text.contains("<|") || text.contains("```") || text.contains('{') {
        return None;
    }
    let paragraph = text.trim().split("\n\n").next().unwrap_or_default();
    let joined = paragraph
        .lines()
        .map(|l| l.trim().trim_start_matches(['#', '*', '-', '>']).trim())
        .collect::<Vec<_>>()
        .join(" ");
    let collapsed = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    let limited: String = collapsed.chars().take(max_chars).collect();
    let end = limited.rfind(['.', '!', '?'])?;
    let sentence = limited[..=end].trim().to_string();
    let word_count = sentence.split_whitespace().count();
    (sentence.chars().count() >= 40 && word_count >= 6).then_some(sentence)
}

/// The first `n` sentences of `text`.
fn first_sentences(text: &str, n: usize) -> String {
    let mut ends = text
        .char_indices()
        .filter(|&(i, c)| matches!(c, '.' | '!' | '?') && text[i + 1..].starts_with(' '));
    match ends.nth(n.saturating_sub(1)) {
        Some((i, _)) => text[..=i].to_string(),
        None => text.to_string(),
    }
}

/// The model's review summary, cleaned; `None` to fall back.
pub fn clean_review(text: &str) -> Option<String> {
    clean_paragraph(text, 600)
}

/// The model's README overview, cleaned; `None` to fall back. It must name at least one of the
/// spec's resources, so an off-topic paragraph is refused.
pub fn clean_overview(text: &str, spec: &AppSpec) -> Option<String> {
    let paragraph = first_sentences(&clean_paragraph(text, 700)?, 2);
    if ["http", "www.", "github", " I ", "I'm"]
        .iter()
        .any(|w| paragraph.contains(w))
    {
        return None;
    }
    let said = words(&paragraph);
    let names: Vec<Vec<String>> = spec.entities.iter().map(|e| words(&e.name)).collect();
    let mentions =
        |phrase: &[String]| !phrase.is_empty() && said.windows(phrase.len()).any(|w| w == phrase);
    let on_topic = names.iter().any(|name| {
        let mut plural = name.clone();
        if let Some(last) = plural.pop() {
            plural.push(plural_word(&last));
        }
        mentions(name) || mentions(&plural)
    });
    on_topic.then_some(paragraph)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(
            clean_paragraph(input, 120).as_deref(),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn paragraphs_are_cleaned_or_refused() {
        check(
            "  This project is a tidy FastAPI backend.\nIt has tests.\n\nSecond paragraph.",
            Some("This project is a tidy FastAPI backend. It has tests."),
        );
        check(
            "## Overview\n- The API manages books and authors well.",
            Some("Overview The API manages books and authors well."),
        );
        check("Too short.", None);
        check(
            "no sentence end at all in this rather long piece of text here",
            None,
        );
        check("```python\nprint('x')\n```", None);
        check(
            "<|im_start|>assistant The backend manages books and authors nicely.",
            None,
        );
        check(
            &"A long sentence about books and authors that keeps going. ".repeat(5),
            Some("A long sentence about books and authors that keeps going. A long sentence about books and authors that keeps going."),
        );
    }

    #[test]
    fn an_overview_must_name_a_resource() {
        let spec = crate::extract::extract("A bookstore API: books have a title and a price.").spec;
        assert!(clean_overview(
            "This backend stores books with their titles and prices, with tests.",
            &spec
        )
        .is_some());
        assert!(clean_overview(
            "Welcome to the weather station, which measures the rain daily.",
            &spec
        )
        .is_none());
    }

    #[test]
    fn messages_end_with_the_users_question() {
        let m = propose_spec_messages("todo app");
        assert_eq!(
            m.last().map(|(r, c)| (*r, c.as_str())),
            Some(("user", "todo app"))
        );
        let (proposal, notes) = crate::assist::proposal::parse_proposal(SPEC_EXAMPLE_ANSWER);
        assert!(
            notes.is_empty() && proposal.entities.len() == 3,
            "the example answer is a valid proposal"
        );
        assert!(review_messages(&[], 100)[1].1.contains("none"));
        let spec = crate::extract::extract("todo app").spec;
        assert!(overview_messages(&spec)[1].1.contains("Resources: "));
    }
}
