//! The state every handler shares: the service handle, auth settings and the metrics registry.

use std::sync::Arc;

use codebegen_actors::service::{Service, Stores};

use crate::auth::{AuthConfig, PasswordHasher};
use crate::metrics::Metrics;

/// Shared by all routes; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The service (actors and stores).
    pub service: Service,
    /// Token and password settings.
    pub auth: Arc<AuthConfig>,
    /// The Prometheus registry behind `/metrics`.
    pub metrics: Metrics,
    pub(crate) passwords: Arc<PasswordHasher>,
}

impl AppState {
    /// State for [`crate::routes`]. `metrics` is the registry `nodes` also hands to whatever else
    /// records into it; pass `Metrics::new()` when nothing else does.
    pub fn new(service: Service, auth: AuthConfig, metrics: Metrics) -> AppState {
        let passwords = Arc::new(PasswordHasher::new(auth.password));
        AppState {
            service,
            auth: Arc::new(auth),
            metrics,
            passwords,
        }
    }

    /// The stores behind the service.
    pub(crate) fn stores(&self) -> &Stores {
        self.service.stores()
    }
}
