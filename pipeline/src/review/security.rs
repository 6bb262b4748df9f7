//! Security checks over a parsed Python module (and plain config files): hard-coded secrets,
//! `eval`/`exec`, SQL built by string formatting, writes without auth, debug mode, and CORS `*`
//! with credentials.

use rustpython_ast::{self as ast, Constant, Expr, Operator, Ranged, Visitor};
use rustpython_parser::text_size::TextRange;

use super::{line_of, Category, Finding, FindingSeverity, ReviewContext};

const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
];
const NOT_SECRET_WORDS: &[&str] = &[
    "url",
    "type",
    "endpoint",
    "path",
    "header",
    "expire",
    "name",
    "length",
    "algorithm",
];
const PLACEHOLDERS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "your-",
    "example",
    "xxx",
    "<",
    "replace",
];

/// Whether an assignment target name suggests a credential.
pub(super) fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
        && !NOT_SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// Whether a literal looks like a real credential rather than an empty value or a placeholder.
pub(super) fn is_secret_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.len() >= 8
        && !value.contains(char::is_whitespace)
        && !value.starts_with('/')
        && !lower.starts_with("http")
        && !PLACEHOLDERS.iter().any(|p| lower.contains(p))
}

fn is_test_file(path: &str) -> bool {
    path.starts_with("tests/")
        || path.contains("/tests/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("test_") || n == "conftest.py")
}

struct SecurityVisitor<'a> {
    path: &'a str,
    source: &'a str,
    cx: ReviewContext,
    findings: &'a mut Vec<Finding>,
}

impl SecurityVisitor<'_> {
    fn push(
        &mut self,
        range: TextRange,
        severity: FindingSeverity,
        rule: &str,
        message: String,
        fixable: bool,
    ) {
        self.findings.push(Finding {
            file: self.path.to_string(),
            line: line_of(self.source, u32::from(range.start()) as usize),
            severity,
            category: Category::Security,
            rule: rule.to_string(),
            message,
            fixable,
        });
    }

    fn check_assignment(&mut self, target: &Expr, value: &Expr, range: TextRange) {
        let name = match target {
            Expr::Name(n) => n.id.as_str().to_string(),
            Expr::Attribute(a) => a.attr.as_str().to_string(),
            _ => return,
        };
        if let Some(text) = string_constant(value) {
            if !is_test_file(self.path) && is_secret_name(&name) && is_secret_value(text) {
                self.push(
                    range,
                    FindingSeverity::High,
                    "hardcoded-secret",
                    format!("`{name}` is set to a literal secret; read it from the environment"),
                    false,
                );
            }
        }
        if name.eq_ignore_ascii_case("debug") && is_true(value) {
            self.push(
                range,
                FindingSeverity::Medium,
                "debug-enabled",
                format!("`{name}` defaults to True; debug must be opt-in"),
                true,
            );
        }
    }

    fn check_route(&mut self, decorators: &[Expr], body_start: Option<u32>, def_range: TextRange) {
        if !self.cx.auth_enabled
            || self.path.rsplit('/').next() == Some("auth.py")
            || is_test_file(self.path)
        {
            return;
        }
        let is_write = decorators.iter().any(|d| {
            matches!(d, Expr::Call(call) if matches!(call.func.as_ref(), Expr::Attribute(a) if matches!(a.attr.as_str(), "post" | "put" | "patch" | "delete")))
        });
        if !is_write {
            return;
        }
        let start = decorators
            .iter()
            .map(|d| u32::from(d.range().start()))
            .min()
            .unwrap_or(u32::from(def_range.start()));
        let end = body_start.unwrap_or(u32::from(def_range.end()));
        let signature = self.source.get(start as usize..end as usize).unwrap_or("");
        let guarded = [
            "current_user",
            "require_",
            "get_current",
            "CurrentUser",
            "AdminUser",
            "admin_user",
        ]
        .iter()
        .any(|g| signature.contains(g));
        if !guarded {
            let range = decorators.first().map(|d| d.range()).unwrap_or(def_range);
            self.push(
                range,
                FindingSeverity::High,
                "write-without-auth",
                "a write endpoint does not depend on the current user while auth is enabled".into(),
                false,
            );
        }
    }
}

fn string_constant(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Constant(c) => match &c.value {
            Constant::Str(s) => Some(s.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::Constant(c) if matches!(c.value, Constant::Bool(true)))
}

/// Whether an expression builds a string by formatting: f-string with values, `%`, `+` with a
/// literal, or `"...".format(...)`.
fn is_formatted_string(expr: &Expr) -> bool {
    match expr {
        Expr::JoinedStr(j) => j
            .values
            .iter()
            .any(|v| matches!(v, Expr::FormattedValue(_))),
        Expr::BinOp(b) => match b.op {
            Operator::Mod => string_constant(&b.left).is_some() || is_formatted_string(&b.left),
            Operator::Add => {
                string_constant(&b.left).is_some()
                    || string_constant(&b.right).is_some()
                    || is_formatted_string(&b.left)
                    || is_formatted_string(&b.right)
            }
            _ => false,
        },
        Expr::Call(c) => {
            matches!(c.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "format" && string_constant(&a.value).is_some())
        }
        _ => false,
    }
}

fn call_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

impl Visitor for SecurityVisitor<'_> {
    fn visit_expr_call(&mut self, node: ast::ExprCall) {
        let name = call_name(&node.func).unwrap_or("").to_string();
        if matches!(node.func.as_ref(), Expr::Name(_)) && (name == "eval" || name == "exec") {
            self.push(
                node.range,
                FindingSeverity::High,
                "eval",
                format!("`{name}` runs arbitrary code"),
                false,
            );
        }
        if matches!(
            name.as_str(),
            "execute" | "executemany" | "exec_driver_sql" | "text" | "executescript" | "raw"
        ) {
            if let Some(first) = node.args.first() {
                // `execute(text(...))`: the inner `text` call is checked on its own.
                if is_formatted_string(first) {
                    self.push(
                        node.range,
                        FindingSeverity::High,
                        "sql-string-format",
                        "SQL built by string formatting; use bound parameters".into(),
                        false,
                    );
                }
            }
        }
        for kw in &node.keywords {
            let Some(arg) = &kw.arg else { continue };
            if arg.as_str() == "debug" && is_true(&kw.value) {
                self.push(
                    node.range,
                    FindingSeverity::Medium,
                    "debug-enabled",
                    "debug=True in a call; debug must be opt-in".into(),
                    true,
                );
            }
        }
        let credentials = node.keywords.iter().any(|k| {
            k.arg
                .as_ref()
                .is_some_and(|a| a.as_str() == "allow_credentials")
                && is_true(&k.value)
        });
        let wildcard = node.keywords.iter().any(|k| {
            k.arg
                .as_ref()
                .is_some_and(|a| a.as_str() == "allow_origins")
                && match &k.value {
                    Expr::List(l) => l.elts.iter().any(|e| string_constant(e) == Some("*")),
                    Expr::Tuple(t) => t.elts.iter().any(|e| string_constant(e) == Some("*")),
                    other => string_constant(other) == Some("*"),
                }
        });
        if credentials && wildcard {
            self.push(
                node.range,
                FindingSeverity::High,
                "cors-wildcard-credentials",
                "CORS allows any origin together with credentials".into(),
                true,
            );
        }
        self.generic_visit_expr_call(node);
    }

    fn visit_expr_constant(&mut self, node: ast::ExprConstant) {
        if let Constant::Str(s) = &node.value {
            let aws = s.len() == 20
                && s.starts_with("AKIA")
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if aws || s.contains("-----BEGIN") && s.contains("PRIVATE KEY") {
                self.push(
                    node.range,
                    FindingSeverity::High,
                    "hardcoded-secret",
                    "a credential is embedded in the code".into(),
                    false,
                );
            }
        }
    }

    fn visit_stmt_assign(&mut self, node: ast::StmtAssign) {
        for target in &node.targets {
            self.check_assignment(target, &node.value, node.range);
        }
        self.generic_visit_stmt_assign(node);
    }

    fn visit_stmt_ann_assign(&mut self, node: ast::StmtAnnAssign) {
        if let Some(value) = &node.value {
            self.check_assignment(&node.target, value, node.range);
        }
        self.generic_visit_stmt_ann_assign(node);
    }

    fn visit_stmt_function_def(&mut self, node: ast::StmtFunctionDef) {
        let body_start = node.body.first().map(|s| u32::from(s.range().start()));
        self.check_route(&node.decorator_list, body_start, node.range);
        self.generic_visit_stmt_function_def(node);
    }

    fn visit_stmt_async_function_def(&mut self, node: ast::StmtAsyncFunctionDef) {
        let body_start = node.body.first().map(|s| u32::from(s.range().start()));
        self.check_route(&node.decorator_list, body_start, node.range);
        self.generic_visit_stmt_async_function_def(node);
    }

    fn visit_excepthandler_except_handler(&mut self, node: ast::ExceptHandlerExceptHandler) {
        if node.type_.is_none() {
            self.findings.push(Finding {
                file: self.path.to_string(),
                line: line_of(self.source, u32::from(node.range.start()) as usize),
                severity: FindingSeverity::Medium,
                category: Category::Style,
                rule: "bare-except".into(),
                message: "bare `except:` also catches KeyboardInterrupt and SystemExit".into(),
                fixable: false,
            });
        }
        self.generic_visit_excepthandler_except_handler(node);
    }
}

/// Runs the security checks over one parsed module.
pub(super) fn check_module(
    path: &str,
    source: &str,
    module: ast::Mod,
    cx: ReviewContext,
    findings: &mut Vec<Finding>,
) {
    let ast::Mod::Module(module) = module else {
        return;
    };
    let mut visitor = SecurityVisitor {
        path,
        source,
        cx,
        findings,
    };
    for stmt in module.body {
        visitor.visit_stmt(stmt);
    }
}

/// Checks `.env`-style and Dockerfile lines for literal secrets.
pub(super) fn check_config(path: &str, content: &str, findings: &mut Vec<Finding>) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let env_file =
        name.starts_with(".env") && !name.ends_with(".example") && !name.ends_with(".sample");
    let dockerfile = name == "Dockerfile";
    if !env_file && !dockerfile {
        return;
    }
    for (i, raw) in content.lines().enumerate() {
        let line = raw
            .trim()
            .trim_start_matches("ENV ")
            .trim_start_matches("ARG ")
            .trim_start_matches("export ");
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').trim_matches('\'');
        if is_secret_name(key.trim()) && is_secret_value(value) {
            findings.push(Finding {
                file: path.to_string(),
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                severity: FindingSeverity::High,
                category: Category::Security,
                rule: "hardcoded-secret".into(),
                message: format!("`{}` holds a literal secret", key.trim()),
                fixable: false,
            });
        }
    }
}
