//! Shared by the tests that need real servers: where a server is (from the environment, as
//! `deploy/dev/services.sh start` prints it), or why the test skips. With
//! `CODEBEGEN_REQUIRE_SERVICES=1` (CI) a missing server is a failure, not a skip.

/// The value of `variable`, or `None` after saying why the test skips; panics instead when
/// services are required.
pub fn service(variable: &str, what: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Some(value.trim().to_string()),
        _ => {
            let required = std::env::var("CODEBEGEN_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{variable} is not set but CODEBEGEN_REQUIRE_SERVICES=1: start the {what} with \
                 `eval \"$(deploy/dev/services.sh start)\"`"
            );
            eprintln!(
                "skipped: {variable} not set (no {what}); run `eval \"$(deploy/dev/services.sh start)\"` to test against one"
            );
            None
        }
    }
}

/// A name no other run uses: `<base>_<12 hex digits>`.
pub fn unique(base: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{base}_{}", &id[..12])
}
