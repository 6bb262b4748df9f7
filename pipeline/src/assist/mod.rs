//! Model-assisted parts of the pipeline, pure like the rest: the spec shape a model proposes
//! and its JSON Schema (`proposal`), the conservative merge of a proposal into the rule-based
//! spec (`hybrid`), the proposal read as a spec on its own (`alone`, to measure the model),
//! and the messages and text cleanup for the prose a model writes (`prose`). Running a model
//! is someone else's job (`actors` through the scheduler); this module only turns values into
//! values.

pub mod alone;
pub mod hybrid;
pub mod proposal;
pub mod prose;

pub use alone::proposal_as_spec;
pub use hybrid::merge;
pub use proposal::{parse_proposal, proposal_schema, Proposal};
