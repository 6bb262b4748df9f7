//! Model-assisted parts of the pipeline, pure like the rest: the spec shape a model proposes
//! and its JSON Schema (`proposal`), the conservative merge of a proposal into the rule-based
//! spec (`hybrid`), and the messages and text cleanup for the prose a model writes (`prose`).
//! Running a model is someone else's job (`actors` through the scheduler); this module only
//! turns values into values.

pub mod hybrid;
pub mod proposal;
pub mod prose;

pub use hybrid::merge;
pub use proposal::{parse_proposal, proposal_schema, Proposal};
