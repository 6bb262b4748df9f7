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
    /// This node's cluster membership, when it runs in a cluster.
    pub cluster: Option<Arc<codebegen_actors::cluster::Cluster>>,
    /// The operator token of the admin routes (`GET /api/v1/cluster`); none refuses them.
    pub admin_token: Option<String>,
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
            cluster: None,
            admin_token: None,
        }
    }

    /// Adds the cluster membership and the operator token.
    pub fn with_cluster(
        mut self,
        cluster: Option<Arc<codebegen_actors::cluster::Cluster>>,
        admin_token: Option<String>,
    ) -> AppState {
        self.cluster = cluster;
        self.admin_token = admin_token.filter(|t| !t.is_empty());
        self
    }

    /// The stores behind the service.
    pub(crate) fn stores(&self) -> &Stores {
        self.service.stores()
    }
}
