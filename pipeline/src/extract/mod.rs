//! Rule-based extraction: a plain-English backend description becomes a spec plus diagnostics.
//!
//! The prompt is cut into sentences (`sentences`), each sentence read into statements (`clauses`,
//! `predicates`, `verbs`: what has which fields, what belongs to what), the statements built into
//! entities, fields and relations (`build`, with types from `fields` and links settled in
//! `relations`), terse prompts filled from domain `templates`, auth read by `auth`, and the result
//! made to pass validation (`finish`). Pure and deterministic; never panics.

mod auth;
mod build;
mod clauses;
mod entities;
mod enums;
mod field_words;
mod fields;
pub(crate) mod finish;
pub(crate) mod lexicon;
mod lists;
mod markers;
pub(crate) mod naming;
mod phrases;
mod predicates;
mod relations;
pub(crate) mod sentences;
mod templates;
mod verbs;

use codebegen_schema::{AppSpec, Auth, Diagnostic};

use build::Model;
use entities::USER_KEY;
use sentences::{first_sentence, split_sentences, tokenize, MAX_PROMPT_CHARS};

/// Longest description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// Most `ignored_sentence` warnings reported one by one.
const MAX_IGNORED_REPORTS: usize = 8;

/// The result of reading a prompt: a best-effort spec and what was guessed or ignored.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The spec read from the prompt; `codebegen_schema::check` accepts it without errors.
    pub spec: AppSpec,
    /// Notes about guesses and things not understood.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads a prompt into a spec. Deterministic, pure, and total: any input gives a spec that
/// passes `codebegen_schema::check` without errors.
pub fn extract(prompt: &str) -> Extraction {
    let mut diagnostics = Vec::new();
    if prompt.chars().nth(MAX_PROMPT_CHARS).is_some() {
        diagnostics.push(Diagnostic::warning(
            "prompt_truncated",
            "",
            format!("only the first {MAX_PROMPT_CHARS} characters of the prompt were read"),
        ));
    }
    let tokens = tokenize(prompt);
    let sentences = split_sentences(&tokens);
    let reading = clauses::read(&sentences);
    let mut model = Model::from_reading(&reading, auth::detect(&tokens));

    let words: Vec<String> = sentences
        .first()
        .into_iter()
        .flatten()
        .filter(|t| t.is_word())
        .map(|t| t.lower.clone())
        .collect();
    let mut template_name = None;
    if let Some(template) = templates::find(&words) {
        let (template_entities, _) = templates::instantiate(template);
        let count = model.domain_entity_count();
        let single_fits = count == 1
            && model
                .registry
                .drafts
                .iter()
                .filter(|d| d.key != USER_KEY)
                .all(|d| {
                    d.entity.fields.len() <= 2
                        && template_entities.iter().any(|(key, _)| *key == d.key)
                });
        if count == 0 || single_fits {
            model.merge_template(template);
            template_name = Some(template.name);
        }
    }
    let understood = !model.registry.drafts.is_empty() || model.auth.enabled;

    let (entities, relations, model) = model.finish();
    diagnostics.extend(model.notes.iter().cloned());
    for note in &model.field_notes {
        let place = model.registry.find(&note.entity).and_then(|e| {
            let f = entities
                .get(e)?
                .fields
                .iter()
                .position(|f| f.name == note.field)?;
            Some(format!("entities[{e}].fields[{f}].type"))
        });
        if let Some(path) = place {
            diagnostics.push(Diagnostic {
                path,
                ..note.diagnostic.clone()
            });
        }
    }
    if model.auth.enabled {
        diagnostics.push(Diagnostic::info(
            "auth_enabled",
            "auth.enabled",
            format!("auth is on: the prompt mentions `{}`", model.auth.reason),
        ));
    }
    report_ignored(&reading.ignored, &mut diagnostics);

    let hint = reading
        .name_hint
        .as_deref()
        .filter(|words| understood || words.iter().any(|w| lexicon::is_domain_head(w)));
    let first_table = entities
        .iter()
        .find(|e| e.name != "User")
        .or(entities.first())
        .map(|e| e.table.as_str());
    let name = naming::project_name(hint, template_name, first_table);
    let description = first_sentence(prompt, MAX_DESCRIPTION_CHARS);
    let spec = if entities.is_empty() || !understood {
        diagnostics.push(Diagnostic::warning(
            "not_understood",
            "entities",
            "no entities were recognized in the prompt; produced a generic `Item` entity — describe your data, \
             e.g. \"books have a title and a price\"",
        ));
        finish::fallback_spec(&name, &description)
    } else {
        AppSpec {
            version: codebegen_schema::SPEC_VERSION,
            name,
            description,
            entities,
            relations,
            auth: Auth {
                enabled: model.auth.enabled,
                roles: model.auth.roles.clone(),
            },
            options: Default::default(),
        }
    };
    let spec = finish::secure(spec, &mut diagnostics);
    Extraction { spec, diagnostics }
}

fn report_ignored(ignored: &[String], diagnostics: &mut Vec<Diagnostic>) {
    for text in ignored.iter().take(MAX_IGNORED_REPORTS) {
        diagnostics.push(Diagnostic::warning(
            "ignored_sentence",
            "",
            format!("did not understand \"{text}\"; ignored"),
        ));
    }
    if ignored.len() > MAX_IGNORED_REPORTS {
        diagnostics.push(Diagnostic::warning(
            "ignored_sentence",
            "",
            format!(
                "{} more sentences were not understood",
                ignored.len() - MAX_IGNORED_REPORTS
            ),
        ));
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
