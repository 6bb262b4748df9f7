//! warp filters for the codebegen API (being written).
