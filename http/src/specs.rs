//! `POST /specs`: a prompt read into a checked spec plus diagnostics, without a generation, so a
//! client can show the spec, let the user correct it, and post the result to `/generations`.
//! With `parent_id` the prompt is a follow-up that refines the spec of one of the caller's
//! generations, as a refinement generation would. A cheap read: the rule-based reading, on a
//! blocking thread, counted against no tier quota (tiers limit generations only).

use codebegen_schema::generation::{GenerationId, UserRecord};
use codebegen_schema::{check_value, AppSpec, Diagnostic, Severity};
use serde::Deserialize;
use serde_json::json;
use warp::reply::Response;
use warp::Reply as _;

use crate::error::ApiError;
use crate::generations::{owned_generation, MAX_PROMPT_CHARS};
use crate::state::AppState;

/// `POST /specs` body as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadSpec {
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    parent_id: Option<GenerationId>,
}

/// A request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecRequest {
    prompt: String,
    parent_id: Option<GenerationId>,
}

impl TryFrom<ReadSpec> for SpecRequest {
    type Error = ApiError;

    /// A prompt of 1 to 8000 characters, not only spaces, as for `/generations`.
    fn try_from(request: ReadSpec) -> Result<SpecRequest, ApiError> {
        let Some(prompt) = request.prompt else {
            return Err(ApiError::invalid("give a prompt"));
        };
        if prompt.trim().is_empty() || prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(ApiError::invalid(format!(
                "prompt must be 1 to {MAX_PROMPT_CHARS} characters"
            )));
        }
        Ok(SpecRequest {
            prompt,
            parent_id: request.parent_id,
        })
    }
}

/// Reads `prompt`, or applies it to `parent`, and validates the result.
fn read(prompt: &str, parent: Option<&AppSpec>) -> Result<(AppSpec, Vec<Diagnostic>), ApiError> {
    let extraction = match parent {
        Some(parent) => codebegen_pipeline::refine::refine(parent, prompt),
        None => codebegen_pipeline::extract::extract(prompt),
    };
    let value = serde_json::to_value(&extraction.spec)
        .expect("AppSpec is plain data and always serializes");
    let validation = check_value(&value);
    let mut diagnostics = extraction.diagnostics;
    diagnostics.extend(validation.diagnostics);
    match validation.spec {
        Some(spec) => Ok((spec.into_inner(), diagnostics)),
        None => {
            let first = diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .unwrap_or_default();
            Err(ApiError::invalid(format!("the spec is invalid: {first}")))
        }
    }
}

/// `POST /specs` → 200 `{spec, diagnostics}`.
pub(crate) async fn create(
    state: AppState,
    user: UserRecord,
    request: ReadSpec,
) -> Result<Response, ApiError> {
    let request = SpecRequest::try_from(request)?;
    let parent = match request.parent_id {
        Some(id) => {
            let record = owned_generation(&state, &user, id).await?;
            Some(record.spec.ok_or_else(|| {
                ApiError::conflict("the parent generation has no spec yet; wait until it completes")
            })?)
        }
        None => None,
    };
    let (spec, diagnostics) =
        tokio::task::spawn_blocking(move || read(&request.prompt, parent.as_ref()))
            .await
            .map_err(ApiError::internal)??;
    Ok(warp::reply::json(&json!({ "spec": spec, "diagnostics": diagnostics })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::generation::ErrorCode;

    fn check(body: serde_json::Value, expected: Option<ErrorCode>) {
        let request: ReadSpec = serde_json::from_value(body.clone()).expect("shape");
        assert_eq!(
            SpecRequest::try_from(request).err().map(|e| e.code),
            expected,
            "{body}"
        );
    }

    #[test]
    fn a_prompt_is_required_and_bounded() {
        let parent = uuid::Uuid::new_v4().to_string();
        check(json!({"prompt": "a blog"}), None);
        check(json!({"prompt": "add tags", "parent_id": parent}), None);
        check(json!({}), Some(ErrorCode::InvalidInput));
        check(json!({"parent_id": parent}), Some(ErrorCode::InvalidInput));
        check(json!({"prompt": " \n "}), Some(ErrorCode::InvalidInput));
        check(json!({"prompt": "x".repeat(MAX_PROMPT_CHARS)}), None);
        check(
            json!({"prompt": "x".repeat(MAX_PROMPT_CHARS + 1)}),
            Some(ErrorCode::InvalidInput),
        );
    }

    #[test]
    fn a_follow_up_edits_the_parent_spec() {
        let (parent, _) = read("A blog: posts have a title and a body.", None).expect("valid");
        let (spec, diagnostics) = read("rename Post to Article", Some(&parent)).expect("valid");
        assert!(parent.entity("Post").is_some());
        assert!(spec.entity("Article").is_some(), "{diagnostics:?}");
        assert!(spec.entity("Post").is_none());
    }
}
