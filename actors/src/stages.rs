//! The work of each stage, run off the actor's handler: pure pipeline calls on blocking threads,
//! model requests through the scheduler, gates as subprocesses, packaging into the artifact
//! store. Also how a stage's output is saved to, and restored from, a checkpoint.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codebegen_gates::GateReport;
use codebegen_pipeline::generate::{render_stage, review_stage, GenerateOptions};
use codebegen_pipeline::review::{AppliedFix, Review};
use codebegen_pipeline::FileTree;
use codebegen_schema::generation::{ErrorCode, GenerationRecord, Stage};
use codebegen_schema::{check_value, CheckedSpec, Diagnostic};
use serde_json::{json, Value};

use crate::env::Env;
use crate::model::{run_deterministic, ModelOutput, ModelTask};
use crate::scheduler::ask;
use crate::service::ServiceError;

/// Everything the stages have produced so far.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// The checked spec (after extract).
    pub spec: Option<CheckedSpec>,
    /// Extraction and validation notes.
    pub diagnostics: Vec<Diagnostic>,
    /// The current files.
    pub tree: Option<FileTree>,
    /// The review before fixes.
    pub initial_review: Option<Review>,
    /// The latest review.
    pub review: Option<Review>,
    /// Fixes applied.
    pub fixes: Vec<AppliedFix>,
    /// The model's review comments.
    pub comments: Vec<String>,
    /// Gate results.
    pub gates: Option<GateReport>,
}

/// A stage that could not finish.
#[derive(Debug, Clone)]
pub struct StageFailure {
    /// The code shown to the user.
    pub code: ErrorCode,
    /// A sentence for the user.
    pub message: String,
}

impl StageFailure {
    fn new(code: ErrorCode, message: impl Into<String>) -> StageFailure {
        StageFailure {
            code,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for StageFailure {
    fn from(err: ServiceError) -> Self {
        StageFailure::new(err.code(), err.to_string())
    }
}

/// What a stage returns: its checkpoint payload (applied to [`Outputs`] with [`restore`]).
pub type StageResult = Result<Value, StageFailure>;

const MODEL_TIMEOUT: Duration = Duration::from_secs(120);

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StageFailure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StageFailure::new(ErrorCode::Internal, format!("stage task failed: {e}")))
}

/// Asks the model workers. With a language model configured, a request that fails (its worker
/// died twice, or it waited past the limit) is answered by the deterministic engine instead,
/// logged; without one, the error fails the stage as before.
async fn ask_model(env: &Env, task: ModelTask, priority: u8) -> Result<ModelOutput, StageFailure> {
    match ask(&env.scheduler, task.clone(), priority, MODEL_TIMEOUT).await {
        Ok(output) => Ok(output),
        Err(err) if env.model_backed => {
            tracing::warn!(kind = task.kind(), error = %err, "model request failed; using the deterministic answer");
            blocking(move || run_deterministic(&task)).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Runs one stage for a generation, given the outputs of the stages before it.
pub async fn run(
    stage: Stage,
    env: Arc<Env>,
    record: GenerationRecord,
    outputs: Outputs,
) -> StageResult {
    match stage {
        Stage::Extract => extract(env, record).await,
        Stage::Render => {
            let spec = outputs.spec.ok_or_else(missing("spec"))?;
            let options = GenerateOptions {
                db: record.options.db,
                overview: None,
            };
            let tree = blocking(move || render_stage(&spec, &options))
                .await?
                .map_err(|e| StageFailure::new(ErrorCode::Internal, e.to_string()))?;
            Ok(json!({ "tree": tree }))
        }
        Stage::Review => {
            let spec = outputs.spec.ok_or_else(missing("spec"))?;
            let tree = outputs.tree.ok_or_else(missing("tree"))?;
            let (_, initial, _, _) = blocking(move || review_stage(&spec, &tree)).await?;
            let findings = initial
                .findings
                .iter()
                .map(|f| format!("{}:{} [{}] {}", f.file, f.line, f.rule, f.message))
                .collect();
            let comments = match ask_model(
                &env,
                ModelTask::ReviewComments {
                    findings,
                    score: initial.score,
                },
                1,
            )
            .await?
            {
                ModelOutput::Comments(c) => c,
                other => {
                    return Err(StageFailure::new(
                        ErrorCode::Internal,
                        format!("review comments: unexpected model output {other:?}"),
                    ))
                }
            };
            Ok(json!({ "initial_review": initial, "comments": comments }))
        }
        Stage::Fix => {
            let spec = outputs.spec.ok_or_else(missing("spec"))?;
            let tree = outputs.tree.ok_or_else(missing("tree"))?;
            let (tree, _, fixes, review) = blocking(move || review_stage(&spec, &tree)).await?;
            Ok(json!({ "tree": tree, "fixes": fixes, "review": review }))
        }
        Stage::Docs => {
            let spec = outputs.spec.ok_or_else(missing("spec"))?;
            let overview = match ask_model(
                &env,
                ModelTask::DocsOverview {
                    spec: Box::new(spec.spec().clone()),
                },
                1,
            )
            .await?
            {
                ModelOutput::Text(t) => t,
                other => {
                    return Err(StageFailure::new(
                        ErrorCode::Internal,
                        format!("docs: unexpected model output {other:?}"),
                    ))
                }
            };
            let options = GenerateOptions {
                db: record.options.db,
                overview: Some(overview),
            };
            let (tree, review) = blocking(move || -> Result<(FileTree, Review), StageFailure> {
                let tree = render_stage(&spec, &options)
                    .map_err(|e| StageFailure::new(ErrorCode::Internal, e.to_string()))?;
                let (tree, _, _, review) = review_stage(&spec, &tree);
                Ok((tree, review))
            })
            .await??;
            Ok(json!({ "tree": tree, "review": review }))
        }
        Stage::Gates => gates(env, outputs).await,
        Stage::Package => package(env, record, outputs).await,
    }
}

fn missing(what: &'static str) -> impl Fn() -> StageFailure {
    move || {
        StageFailure::new(
            ErrorCode::Internal,
            format!("the {what} from an earlier stage is missing"),
        )
    }
}

async fn extract(env: Arc<Env>, record: GenerationRecord) -> StageResult {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut value = if let Some(spec) = &record.input_spec {
        spec.clone()
    } else if let Some(parent_id) = record.parent_id {
        let parent = env
            .stores
            .generations
            .get_generation(parent_id)
            .await
            .map_err(ServiceError::from)?;
        let parent_spec = parent.and_then(|p| p.spec).ok_or_else(|| {
            StageFailure::new(ErrorCode::NotFound, "the parent generation has no spec")
        })?;
        let prompt = record.prompt.clone().unwrap_or_default();
        let refined =
            blocking(move || codebegen_pipeline::refine::refine(&parent_spec, &prompt)).await?;
        diagnostics.extend(refined.diagnostics);
        serde_json::to_value(&refined.spec)
            .map_err(|e| StageFailure::new(ErrorCode::Internal, e.to_string()))?
    } else {
        let prompt = record.prompt.clone().ok_or_else(|| {
            StageFailure::new(
                ErrorCode::InvalidInput,
                "neither a prompt nor a spec was given",
            )
        })?;
        match ask_model(&env, ModelTask::ProposeSpec { prompt }, 2).await? {
            ModelOutput::Spec {
                spec,
                diagnostics: notes,
            } => {
                diagnostics
                    .extend(serde_json::from_value::<Vec<Diagnostic>>(notes).unwrap_or_default());
                spec
            }
            other => {
                return Err(StageFailure::new(
                    ErrorCode::Internal,
                    format!("extract: unexpected model output {other:?}"),
                ))
            }
        }
    };
    if let (Some(db), Some(obj)) = (record.options.db, value.as_object_mut()) {
        let options = obj.entry("options").or_insert_with(|| json!({}));
        if let Some(o) = options.as_object_mut() {
            o.insert("db".into(), Value::String(db.as_str().into()));
        }
    }
    let validation = check_value(&value);
    diagnostics.extend(validation.diagnostics);
    match validation.spec {
        Some(spec) => Ok(json!({ "spec": spec.spec(), "diagnostics": diagnostics })),
        None => {
            let first = diagnostics
                .iter()
                .find(|d| d.severity == codebegen_schema::Severity::Error)
                .map(|d| d.to_string())
                .unwrap_or_default();
            Err(StageFailure::new(
                ErrorCode::InvalidInput,
                format!("the spec is invalid: {first}"),
            ))
        }
    }
}

async fn gates(env: Arc<Env>, outputs: Outputs) -> StageResult {
    let Some(config) = env.config.gates.clone() else {
        return Err(StageFailure::new(
            ErrorCode::Unavailable,
            "gates are not configured on this node",
        ));
    };
    let tree = outputs.tree.ok_or_else(missing("tree"))?;
    let report = blocking(move || -> Result<GateReport, String> {
        let dir = tempfile::Builder::new()
            .prefix("codebegen-gen-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        for (path, content) in tree.iter() {
            let target = dir.path().join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(target, content).map_err(|e| e.to_string())?;
        }
        codebegen_gates::run_gates(dir.path(), &config, &mut |_| {}).map_err(|e| e.to_string())
    })
    .await?
    .map_err(|e| StageFailure::new(ErrorCode::Unavailable, format!("gates could not run: {e}")))?;
    Ok(json!({ "gates": report }))
}

/// Artifact keys of a generation.
pub fn artifact_prefix(record: &GenerationRecord) -> String {
    format!("generations/{}", record.id)
}

async fn package(env: Arc<Env>, record: GenerationRecord, outputs: Outputs) -> StageResult {
    let tree = outputs.tree.ok_or_else(missing("tree"))?;
    let prefix = artifact_prefix(&record);
    let zip_tree = tree.clone();
    let archive = blocking(move || zip_files(&zip_tree))
        .await?
        .map_err(|e| StageFailure::new(ErrorCode::Internal, format!("zip: {e}")))?;
    let store = |e: codebegen_store::StoreError| StageFailure::from(ServiceError::from(e));
    for (path, content) in tree.iter() {
        env.stores
            .artifacts
            .put(
                &format!("{prefix}/files/{path}"),
                Bytes::from(content.to_string()),
            )
            .await
            .map_err(store)?;
    }
    let listing = serde_json::to_vec(&tree.listing())
        .map_err(|e| StageFailure::new(ErrorCode::Internal, e.to_string()))?;
    env.stores
        .artifacts
        .put(&format!("{prefix}/manifest.json"), Bytes::from(listing))
        .await
        .map_err(store)?;
    let archive_bytes = archive.len();
    env.stores
        .artifacts
        .put(&format!("{prefix}/archive.zip"), Bytes::from(archive))
        .await
        .map_err(store)?;
    Ok(json!({ "files": tree.len(), "archive_bytes": archive_bytes }))
}

fn zip_files(tree: &FileTree) -> zip::result::ZipResult<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (path, content) in tree.iter() {
        writer.start_file(path, options)?;
        writer.write_all(content.as_bytes())?;
    }
    Ok(writer.finish()?.into_inner())
}

/// Applies a stage's checkpoint payload to the outputs. Fails if the payload does not decode.
pub fn restore(stage: Stage, data: &Value, outputs: &mut Outputs) -> Result<(), String> {
    fn field<T: serde::de::DeserializeOwned>(data: &Value, key: &str) -> Result<T, String> {
        serde_json::from_value(data.get(key).cloned().unwrap_or(Value::Null))
            .map_err(|e| format!("checkpoint field `{key}`: {e}"))
    }
    match stage {
        Stage::Extract => {
            let validation = check_value(data.get("spec").unwrap_or(&Value::Null));
            outputs.spec = Some(
                validation
                    .spec
                    .ok_or("the checkpointed spec no longer validates")?,
            );
            outputs.diagnostics = field(data, "diagnostics")?;
        }
        Stage::Render => outputs.tree = Some(field(data, "tree")?),
        Stage::Review => {
            outputs.initial_review = Some(field(data, "initial_review")?);
            outputs.comments = field(data, "comments")?;
        }
        Stage::Fix => {
            outputs.tree = Some(field(data, "tree")?);
            outputs.fixes = field(data, "fixes")?;
            outputs.review = Some(field(data, "review")?);
        }
        Stage::Docs => {
            outputs.tree = Some(field(data, "tree")?);
            outputs.review = Some(field(data, "review")?);
        }
        Stage::Gates => outputs.gates = Some(field(data, "gates")?),
        Stage::Package => {}
    }
    Ok(())
}

/// The `review` value of a generation record.
pub fn review_json(outputs: &Outputs) -> Option<Value> {
    let review = outputs
        .review
        .as_ref()
        .or(outputs.initial_review.as_ref())?;
    Some(json!({
        "score": review.score,
        "initial_score": outputs.initial_review.as_ref().map(|r| r.score),
        "findings": review.findings,
        "fixes": outputs.fixes,
        "comments": outputs.comments,
    }))
}
