//! Generations: ids, users and tiers, projects, the generation record and its state machine,
//! stages, checkpoints and the event log. Plain data shared by store, actors and http.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::spec::{AppSpec, Database};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// Parses the hyphenated form.
            pub fn parse(text: &str) -> Option<$name> {
                uuid::Uuid::parse_str(text).ok().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A user.
    UserId
);
id_type!(
    /// A project (a named group of generations).
    ProjectId
);
id_type!(
    /// A generation.
    GenerationId
);

/// Milliseconds since the Unix epoch. Time is always a parameter here, never read.
pub type UnixMillis = i64;

/// A subscription tier and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// 5 generations per rolling hour, 1 at a time.
    Free,
    /// 100 per hour, 5 at a time.
    Pro,
    /// 1000 per hour, 20 at a time.
    Enterprise,
}

impl Tier {
    /// Generations allowed per rolling hour.
    pub fn per_hour(self) -> u32 {
        match self {
            Tier::Free => 5,
            Tier::Pro => 100,
            Tier::Enterprise => 1000,
        }
    }

    /// Generations allowed to run at once.
    pub fn concurrent(self) -> u32 {
        match self {
            Tier::Free => 1,
            Tier::Pro => 5,
            Tier::Enterprise => 20,
        }
    }

    /// Parses `free`, `pro`, `enterprise`.
    pub fn parse(text: &str) -> Option<Tier> {
        match text.trim().to_ascii_lowercase().as_str() {
            "free" => Some(Tier::Free),
            "pro" => Some(Tier::Pro),
            "enterprise" => Some(Tier::Enterprise),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }
}

/// A registered user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// Login e-mail, lowercase.
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Tier.
    pub tier: Tier,
    /// Whether the user may see `/api/v1/cluster` and other operator routes.
    pub is_admin: bool,
    /// Creation time.
    pub created_at: UnixMillis,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRecord {
    /// Id.
    pub id: ProjectId,
    /// Owner.
    pub user_id: UserId,
    /// Name (1..=200 chars).
    pub name: String,
    /// Description.
    pub description: String,
    /// Creation time.
    pub created_at: UnixMillis,
}

/// Where a generation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenerationStatus {
    /// Accepted, not started.
    Queued,
    /// A stage is running.
    Running,
    /// Finished with files.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl GenerationStatus {
    /// Whether no more changes will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            GenerationStatus::Completed | GenerationStatus::Failed | GenerationStatus::Cancelled
        )
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            GenerationStatus::Queued => "queued",
            GenerationStatus::Running => "running",
            GenerationStatus::Completed => "completed",
            GenerationStatus::Failed => "failed",
            GenerationStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(text: &str) -> Option<GenerationStatus> {
        [
            GenerationStatus::Queued,
            GenerationStatus::Running,
            GenerationStatus::Completed,
            GenerationStatus::Failed,
            GenerationStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The stages of a generation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Prompt (or parent spec + follow-up) → checked spec.
    Extract,
    /// Spec → files.
    Render,
    /// Static review.
    Review,
    /// Automatic fixes, then the final review.
    Fix,
    /// README overview and docs.
    Docs,
    /// Gates (only when asked).
    Gates,
    /// ZIP archive and file listing into the artifact store.
    Package,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 7] = [
        Stage::Extract,
        Stage::Render,
        Stage::Review,
        Stage::Fix,
        Stage::Docs,
        Stage::Gates,
        Stage::Package,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Extract => "extract",
            Stage::Render => "render",
            Stage::Review => "review",
            Stage::Fix => "fix",
            Stage::Docs => "docs",
            Stage::Gates => "gates",
            Stage::Package => "package",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The stage after this one, skipping gates unless `validate`.
    pub fn next(self, validate: bool) -> Option<Stage> {
        let index = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL[index + 1..]
            .iter()
            .copied()
            .find(|s| validate || *s != Stage::Gates)
    }

    /// Overall progress (0..=100) once this stage has finished.
    pub fn progress_after(self, validate: bool) -> u8 {
        let stages: Vec<Stage> = Stage::ALL
            .iter()
            .copied()
            .filter(|s| validate || *s != Stage::Gates)
            .collect();
        let done = stages.iter().position(|s| *s == self).map_or(0, |i| i + 1);
        u8::try_from(done * 100 / stages.len()).unwrap_or(100)
    }
}

/// Per-generation options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationOptions {
    /// Target database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<Database>,
    /// Whether to run the gates.
    #[serde(default)]
    pub validate: bool,
}

/// An error shown to the user: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// See [`ErrorCode`].
    pub code: ErrorCode,
    /// A sentence for a person; never internal details.
    pub message: String,
}

/// The closed set of error codes; `http` maps each to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: malformed request.
    BadRequest,
    /// 422: well-formed but invalid (unknown fields, bad prompt length, invalid spec).
    InvalidInput,
    /// 401: missing or bad credentials.
    Unauthorized,
    /// 403: authenticated, but not allowed (operator routes).
    Forbidden,
    /// 404: missing, or belongs to someone else.
    NotFound,
    /// 409: conflict with the current state.
    Conflict,
    /// 413: body too large.
    PayloadTooLarge,
    /// 415: wrong content type.
    UnsupportedMediaType,
    /// 429: a tier limit.
    RateLimited,
    /// 503: a dependency (store, worker) is unavailable.
    Unavailable,
    /// 504: a stage ran past its time limit.
    Timeout,
    /// 422: the generated project failed a gate (its files are kept for inspection).
    GateFailed,
    /// 500: a bug; details are only in the logs.
    Internal,
}

/// A generation as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Id.
    pub id: GenerationId,
    /// Owner.
    pub user_id: UserId,
    /// Project, if any.
    #[serde(default)]
    pub project_id: Option<ProjectId>,
    /// The generation this one refines.
    #[serde(default)]
    pub parent_id: Option<GenerationId>,
    /// The prompt (or follow-up prompt), if one was given.
    #[serde(default)]
    pub prompt: Option<String>,
    /// A spec given instead of a prompt.
    #[serde(default)]
    pub input_spec: Option<serde_json::Value>,
    /// Options.
    #[serde(default)]
    pub options: GenerationOptions,
    /// Status.
    pub status: GenerationStatus,
    /// The stage running now, or the last one that ran.
    #[serde(default)]
    pub stage: Option<Stage>,
    /// 0..=100.
    pub progress: u8,
    /// The checked spec, once extracted.
    #[serde(default)]
    pub spec: Option<AppSpec>,
    /// Review findings and score, once reviewed (pipeline `Review` as JSON).
    #[serde(default)]
    pub review: Option<serde_json::Value>,
    /// Gate results, when gates ran (gates `GateReport` as JSON).
    #[serde(default)]
    pub gates: Option<serde_json::Value>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<ErrorBody>,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Last change.
    pub updated_at: UnixMillis,
    /// When it reached a final status.
    #[serde(default)]
    pub completed_at: Option<UnixMillis>,
}

/// The kinds of generation events (the SSE `event:` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A stage began.
    StageStarted,
    /// A stage ended.
    StageFinished,
    /// Progress changed.
    Progress,
    /// A line for the log.
    Log,
    /// The generation completed (final).
    Completed,
    /// The generation failed (final).
    Failed,
    /// The generation was cancelled (final).
    Cancelled,
}

impl EventKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::StageStarted => "stage_started",
            EventKind::StageFinished => "stage_finished",
            EventKind::Progress => "progress",
            EventKind::Log => "log",
            EventKind::Completed => "completed",
            EventKind::Failed => "failed",
            EventKind::Cancelled => "cancelled",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(text: &str) -> Option<EventKind> {
        [
            EventKind::StageStarted,
            EventKind::StageFinished,
            EventKind::Progress,
            EventKind::Log,
            EventKind::Completed,
            EventKind::Failed,
            EventKind::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    /// Whether this event ends the stream.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EventKind::Completed | EventKind::Failed | EventKind::Cancelled
        )
    }
}

/// One entry of a generation's event log. `seq` starts at 1 and grows by one per generation;
/// it is the SSE `id:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationEvent {
    /// The generation.
    pub generation_id: GenerationId,
    /// 1, 2, 3, ... per generation.
    pub seq: u64,
    /// Kind.
    pub kind: EventKind,
    /// JSON payload.
    pub data: serde_json::Value,
    /// When it happened.
    pub at: UnixMillis,
}

/// The saved output of a finished stage, from which a generation resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The generation.
    pub generation_id: GenerationId,
    /// The stage that finished.
    pub stage: Stage,
    /// The stage's output (JSON; a file tree for render/fix/docs).
    pub data: serde_json::Value,
    /// When it was saved.
    pub at: UnixMillis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_skip_gates_unless_validating() {
        assert_eq!(Stage::Docs.next(false), Some(Stage::Package));
        assert_eq!(Stage::Docs.next(true), Some(Stage::Gates));
        assert_eq!(Stage::Package.next(true), None);
        assert_eq!(Stage::Package.progress_after(false), 100);
        assert_eq!(Stage::Extract.progress_after(false), 16);
    }

    #[test]
    fn tiers_match_the_table() {
        assert_eq!((Tier::Free.per_hour(), Tier::Free.concurrent()), (5, 1));
        assert_eq!((Tier::Pro.per_hour(), Tier::Pro.concurrent()), (100, 5));
        assert_eq!(
            (Tier::Enterprise.per_hour(), Tier::Enterprise.concurrent()),
            (1000, 20)
        );
        assert_eq!(Tier::parse("PRO"), Some(Tier::Pro));
    }

    #[test]
    fn names_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        for k in ["stage_started", "completed", "log"] {
            assert_eq!(EventKind::parse(k).map(EventKind::as_str), Some(k));
        }
        assert_eq!(
            GenerationStatus::parse("running"),
            Some(GenerationStatus::Running)
        );
    }
}
