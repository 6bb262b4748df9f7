//! The route table and its warp filters. Each route reads path, then method, then the bearer
//! token, then the body, so a request is told 404/405, then 401, then 415/413/400/422.

use std::convert::Infallible;

use codebegen_schema::generation::{GenerationId, ProjectId};
use uuid::Uuid;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use crate::{auth, body, events, files, generations, guard, ops, projects, specs};

/// Every route as (method, path template); the templates label metrics and the OpenAPI paths.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/projects"),
    ("GET", "/api/v1/projects"),
    ("GET", "/api/v1/projects/{id}"),
    ("DELETE", "/api/v1/projects/{id}"),
    ("POST", "/api/v1/generations"),
    ("GET", "/api/v1/generations"),
    ("GET", "/api/v1/generations/{id}"),
    ("GET", "/api/v1/generations/{id}/events"),
    ("GET", "/api/v1/generations/{id}/files"),
    ("GET", "/api/v1/generations/{id}/files/{path}"),
    ("GET", "/api/v1/generations/{id}/archive"),
    ("GET", "/api/v1/generations/{id}/diff"),
    ("POST", "/api/v1/generations/{id}/cancel"),
    ("POST", "/api/v1/specs"),
    ("GET", "/api/v1/cluster"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

/// Whether `path` fits `template`: `{path}` (last) takes one or more segments, other `{...}` one.
fn fits(template: &str, path: &str) -> bool {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    for part in template.split('/').filter(|s| !s.is_empty()) {
        match (part, segments.next()) {
            ("{path}", Some(_)) => return true,
            (_, None) => return false,
            (part, Some(_)) if part.starts_with('{') => {}
            (part, Some(segment)) if part == segment => {}
            _ => return false,
        }
    }
    segments.next().is_none()
}

/// The template a raw path belongs to (for metric labels), if any.
pub fn route_template(path: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .map(|(_, template)| *template)
        .find(|template| fits(template, path))
}

/// A request no route took: 405 when the path has routes for other methods, else 404.
#[derive(Debug)]
pub(crate) struct Unrouted {
    method: String,
    path: String,
}

impl warp::reject::Reject for Unrouted {}

impl Unrouted {
    pub(crate) fn to_error(&self) -> ApiError {
        let allowed: Vec<&str> = ROUTES
            .iter()
            .filter(|(_, template)| fits(template, &self.path))
            .map(|(method, _)| *method)
            .collect();
        if allowed.is_empty() || allowed.contains(&self.method.as_str()) {
            ApiError::new(
                codebegen_schema::generation::ErrorCode::NotFound,
                "no such route",
            )
        } else {
            ApiError::method_not_allowed(&allowed)
        }
    }
}

/// The whole API with errors recovered into the error shape, traced and counted in metrics.
pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let metrics = state.metrics.clone();
    auth_routes(&state)
        .or(project_routes(&state))
        .unify()
        .or(generation_routes(&state))
        .unify()
        .or(artifact_routes(&state))
        .unify()
        .or(spec_routes(&state))
        .unify()
        .or(ops_routes(&state))
        .unify()
        .or(unrouted())
        .unify()
        .recover(crate::error::recover)
        .with(warp::log::custom(move |info| {
            let route = route_template(info.path()).unwrap_or("unmatched");
            metrics.observe_request(
                route,
                info.method().as_str(),
                info.status().as_u16(),
                info.elapsed(),
            );
        }))
        .with(warp::trace::request())
}

fn with_state(state: &AppState) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    let state = state.clone();
    warp::any().map(move || state.clone())
}

fn unrouted() -> BoxedFilter<(Response,)> {
    warp::method()
        .and(warp::path::full())
        .and_then(
            |method: warp::http::Method, path: warp::path::FullPath| async move {
                Err::<Response, Rejection>(warp::reject::custom(Unrouted {
                    method: method.to_string(),
                    path: path.as_str().to_string(),
                }))
            },
        )
        .boxed()
}

fn auth_routes(state: &AppState) -> BoxedFilter<(Response,)> {
    let register = warp::path!("api" / "v1" / "auth" / "register")
        .and(warp::post())
        .and(with_state(state))
        .and(body::json())
        .then(|state, request| guard::run(auth::register(state, request)));
    let login = warp::path!("api" / "v1" / "auth" / "login")
        .and(warp::post())
        .and(with_state(state))
        .and(body::json())
        .then(|state, request| guard::run(auth::login(state, request)));
    let refresh = warp::path!("api" / "v1" / "auth" / "refresh")
        .and(warp::post())
        .and(with_state(state))
        .and(body::json())
        .then(|state, request| guard::run(auth::refresh(state, request)));
    let logout = warp::path!("api" / "v1" / "auth" / "logout")
        .and(warp::post())
        .and(with_state(state))
        .and(body::json())
        .then(|state, request| guard::run(auth::logout(state, request)));
    let me = warp::path!("api" / "v1" / "auth" / "me")
        .and(warp::get())
        .and(authenticated(state.clone()))
        .then(|user| guard::run(auth::me(user)));
    register
        .or(login)
        .unify()
        .or(refresh)
        .unify()
        .or(logout)
        .unify()
        .or(me)
        .unify()
        .boxed()
}

fn project_routes(state: &AppState) -> BoxedFilter<(Response,)> {
    let user = || authenticated(state.clone());
    let create = warp::path!("api" / "v1" / "projects")
        .and(warp::post())
        .and(with_state(state))
        .and(user())
        .and(body::json())
        .then(|state, user, request| guard::run(projects::create(state, user, request)));
    let list = warp::path!("api" / "v1" / "projects")
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .and(warp::query())
        .then(|state, user, query| guard::run(projects::list(state, user, query)));
    let get = warp::path!("api" / "v1" / "projects" / Uuid)
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(projects::get(state, user, ProjectId(id))));
    let delete = warp::path!("api" / "v1" / "projects" / Uuid)
        .and(warp::delete())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(projects::delete(state, user, ProjectId(id))));
    create
        .or(list)
        .unify()
        .or(get)
        .unify()
        .or(delete)
        .unify()
        .boxed()
}

fn generation_routes(state: &AppState) -> BoxedFilter<(Response,)> {
    let user = || authenticated(state.clone());
    let create = warp::path!("api" / "v1" / "generations")
        .and(warp::post())
        .and(with_state(state))
        .and(user())
        .and(body::json())
        .then(|state, user, request| guard::run(generations::create(state, user, request)));
    let list = warp::path!("api" / "v1" / "generations")
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .and(warp::query())
        .then(|state, user, query| guard::run(generations::list(state, user, query)));
    let get = warp::path!("api" / "v1" / "generations" / Uuid)
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(generations::get(state, user, GenerationId(id))));
    let cancel = warp::path!("api" / "v1" / "generations" / Uuid / "cancel")
        .and(warp::post())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(generations::cancel(state, user, GenerationId(id))));
    let events = warp::path!("api" / "v1" / "generations" / Uuid / "events")
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .and(warp::header::optional::<String>("last-event-id"))
        .and(warp::query())
        .then(|id, state, user, header, query| {
            guard::run(events::events(state, user, GenerationId(id), header, query))
        });
    create
        .or(list)
        .unify()
        .or(get)
        .unify()
        .or(cancel)
        .unify()
        .or(events)
        .unify()
        .boxed()
}

fn spec_routes(state: &AppState) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "v1" / "specs")
        .and(warp::post())
        .and(with_state(state))
        .and(authenticated(state.clone()))
        .and(body::json())
        .then(|state, user, request| guard::run(specs::create(state, user, request)))
        .boxed()
}

fn artifact_routes(state: &AppState) -> BoxedFilter<(Response,)> {
    let user = || authenticated(state.clone());
    let list = warp::path!("api" / "v1" / "generations" / Uuid / "files")
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(files::list(state, user, GenerationId(id))));
    let file = warp::path!("api" / "v1" / "generations" / Uuid / "files" / ..)
        .and(warp::path::tail())
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .then(|id, tail: warp::path::Tail, state, user| {
            guard::run(files::get(
                state,
                user,
                GenerationId(id),
                tail.as_str().to_string(),
            ))
        });
    let archive = warp::path!("api" / "v1" / "generations" / Uuid / "archive")
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(files::archive(state, user, GenerationId(id))));
    let diff = warp::path!("api" / "v1" / "generations" / Uuid / "diff")
        .and(warp::get())
        .and(with_state(state))
        .and(user())
        .then(|id, state, user| guard::run(files::diff(state, user, GenerationId(id))));
    list.or(file)
        .unify()
        .or(archive)
        .unify()
        .or(diff)
        .unify()
        .boxed()
}

fn ops_routes(state: &AppState) -> BoxedFilter<(Response,)> {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .then(|| guard::run(ops::healthz()));
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_state(state))
        .then(|state| guard::run(ops::readyz(state)));
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_state(state))
        .then(|state| guard::run(ops::metrics(state)));
    let cluster = warp::path!("api" / "v1" / "cluster")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::optional::<String>("authorization"))
        .then(|state, bearer| guard::run(crate::cluster::cluster(state, bearer)));
    let openapi = warp::path!("api" / "v1" / "openapi.json")
        .and(warp::get())
        .then(|| guard::run(ops::openapi()));
    healthz
        .or(readyz)
        .unify()
        .or(metrics)
        .unify()
        .or(openapi)
        .unify()
        .or(cluster)
        .unify()
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, expected: Option<&str>) {
        assert_eq!(route_template(path), expected, "{path}");
    }

    #[test]
    fn raw_paths_map_to_templates() {
        check("/api/v1/auth/login", Some("/api/v1/auth/login"));
        check("/api/v1/projects/", Some("/api/v1/projects"));
        check("/api/v1/generations/abc", Some("/api/v1/generations/{id}"));
        check(
            "/api/v1/generations/abc/files",
            Some("/api/v1/generations/{id}/files"),
        );
        check(
            "/api/v1/generations/abc/files/app/main.py",
            Some("/api/v1/generations/{id}/files/{path}"),
        );
        check("/api/v1/generations/abc/nope", None);
        check("/metrics", Some("/metrics"));
        check("/", None);
    }

    #[test]
    fn wrong_methods_on_known_paths_are_405() {
        let error = Unrouted {
            method: "PUT".into(),
            path: "/api/v1/projects/x".into(),
        }
        .to_error();
        assert_eq!(error.status().as_u16(), 405);
        let error = Unrouted {
            method: "GET".into(),
            path: "/api/v1/projects/not-a-uuid".into(),
        }
        .to_error();
        assert_eq!(error.status().as_u16(), 404);
        let error = Unrouted {
            method: "GET".into(),
            path: "/nowhere".into(),
        }
        .to_error();
        assert_eq!(error.status().as_u16(), 404);
    }
}
