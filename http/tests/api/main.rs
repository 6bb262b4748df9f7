//! HTTP tests: `warp::test` requests against `routes(state)` on in-memory stores.

mod artifacts;
mod auth;
mod common;
mod errors;
mod events;
mod generations;
mod ops;
mod projects;
mod server;
mod specs;
