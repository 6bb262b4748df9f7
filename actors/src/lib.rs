//! ractor actors as thin shells over pure state: a user actor per active user (tiers), a
//! generation actor per generation (stages, checkpoints, events, cancel, resume), a scheduler and
//! model-worker actors (the one path to a model), and the supervisors that restart them.
//! [`Service`] is the typed handle everyone else uses.

pub mod service;

pub use service::{NewGeneration, Service, ServiceConfig, ServiceError, ServiceMetrics, Stores};
