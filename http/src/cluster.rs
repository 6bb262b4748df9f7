//! `GET /api/v1/cluster` (admin): this node and its peers with roles and liveness, the model
//! workers per model, the scheduler's queue, and the generation leases. Admin means the bearer
//! token equals the operator token `nodes` configures (`CODEBEGEN_ADMIN_TOKEN`); without one
//! the route is refused.

use std::collections::BTreeMap;

use codebegen_schema::generation::ErrorCode;
use serde_json::{json, Value};
use warp::reply::Response;
use warp::Reply as _;

use crate::error::ApiError;
use crate::state::AppState;

/// The response.
pub(crate) async fn cluster(state: AppState, bearer: Option<String>) -> Result<Response, ApiError> {
    let Some(expected) = state.admin_token.as_deref() else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "no operator token is configured on this node (set CODEBEGEN_ADMIN_TOKEN)",
        ));
    };
    let given = bearer
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the operator token is required",
        ));
    }
    let queue = match state.service.scheduler_stats().await {
        Ok(stats) => json!({
            "queued": stats.queued,
            "in_flight": stats.in_flight,
            "workers": stats.workers.iter().map(|(id, running, capacity)| json!({
                "id": id, "running": running, "capacity": capacity })).collect::<Vec<_>>(),
        }),
        Err(err) => json!({ "error": err.to_string() }),
    };
    let leases = match state.stores().leases.list_leases().await {
        Ok(leases) => leases
            .into_iter()
            .map(|l| json!({ "generation_id": l.generation_id, "owner": l.owner, "expires_at": l.expires_at }))
            .collect::<Vec<_>>(),
        Err(err) => return Err(ApiError::unavailable(err)),
    };
    let (mode, nodes, workers) = match &state.cluster {
        None => ("single", Vec::new(), BTreeMap::new()),
        Some(cluster) => {
            let view = cluster
                .view()
                .await
                .ok_or_else(|| ApiError::unavailable("the membership actor did not answer"))?;
            let mut workers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            let mut nodes = vec![node_json(&view.me, "self", 0)];
            for worker in &view.me.workers {
                workers.entry(worker.model.clone()).or_default().push(
                    json!({ "node": view.me.name, "capacity": worker.capacity, "served": worker.served }),
                );
            }
            for peer in &view.peers {
                nodes.push(node_json(
                    &peer.info,
                    peer.status.as_str(),
                    peer.last_seen_ms_ago,
                ));
                if peer.status == codebegen_actors::cluster::PeerStatus::Alive {
                    for worker in &peer.info.workers {
                        workers.entry(worker.model.clone()).or_default().push(json!({
                            "node": peer.info.name, "capacity": worker.capacity, "served": worker.served }));
                    }
                }
            }
            ("cluster", nodes, workers)
        }
    };
    Ok(warp::reply::json(&json!({
        "node": state.service.node_name(),
        "mode": mode,
        "nodes": nodes,
        "workers": workers,
        "queue": queue,
        "leases": leases,
    }))
    .into_response())
}

fn node_json(
    info: &codebegen_schema::cluster::NodeInfo,
    status: &str,
    last_seen_ms_ago: u64,
) -> Value {
    json!({
        "name": info.name,
        "roles": info.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "status": status,
        "cluster_address": info.advertise,
        "http": info.http,
        "draining": info.draining,
        "last_seen_ms_ago": last_seen_ms_ago,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
