//! Review: static checks over a generated (or hand-edited) tree — Python syntax, security and
//! style — each finding with file, line and severity, plus a 0–100 score. Pure: it reads the tree
//! it is given and nothing else.

mod fix;
mod security;
mod style;

pub use fix::{fix, AppliedFix};

use serde::{Deserialize, Serialize};

use crate::tree::FileTree;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSeverity {
    /// Cosmetic.
    Low,
    /// Worth fixing.
    Medium,
    /// A security hole or a broken behaviour.
    High,
    /// The file cannot run at all (a syntax error).
    Critical,
}

impl FindingSeverity {
    /// Points this finding takes off the score.
    pub fn penalty(self) -> u32 {
        match self {
            FindingSeverity::Low => 1,
            FindingSeverity::Medium => 4,
            FindingSeverity::High => 15,
            FindingSeverity::Critical => 30,
        }
    }
}

/// Which family of checks produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Python that does not parse.
    Syntax,
    /// A security problem.
    Security,
    /// Style and hygiene.
    Style,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Relative path.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// Severity.
    pub severity: FindingSeverity,
    /// Family.
    pub category: Category,
    /// Stable rule id (`hardcoded-secret`, `eval`, ...).
    pub rule: String,
    /// A sentence for a person.
    pub message: String,
    /// Whether [`fix`] repairs it automatically.
    pub fixable: bool,
}

/// The review of a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Findings, sorted by file then line.
    pub findings: Vec<Finding>,
    /// 100 minus the penalties, floored at 0.
    pub score: u32,
}

/// What the reviewer needs to know about the project besides its files.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewContext {
    /// Whether the spec turned auth on (then every write route must depend on the current user).
    pub auth_enabled: bool,
}

/// Reviews every Python file (and a few config files) in the tree.
pub fn review(tree: &FileTree, cx: ReviewContext) -> Review {
    let mut findings = Vec::new();
    for (path, content) in tree.iter() {
        if path.ends_with(".py") {
            match rustpython_parser::parse(content, rustpython_parser::Mode::Module, path) {
                Ok(module) => security::check_module(path, content, module, cx, &mut findings),
                Err(err) => {
                    let offset = u32::from(err.offset) as usize;
                    findings.push(Finding {
                        file: path.to_string(),
                        line: line_of(content, offset),
                        severity: FindingSeverity::Critical,
                        category: Category::Syntax,
                        rule: "syntax-error".into(),
                        message: format!("Python syntax error: {}", err.error),
                        fixable: false,
                    });
                }
            }
            style::check_python(path, content, &mut findings);
        } else if is_text_config(path) {
            security::check_config(path, content, &mut findings);
            style::check_text(path, content, &mut findings);
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
    let penalty: u32 = findings.iter().map(|f| f.severity.penalty()).sum();
    Review {
        score: 100u32.saturating_sub(penalty),
        findings,
    }
}

fn is_text_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with(".env")
        || [
            ".toml",
            ".ini",
            ".cfg",
            ".yml",
            ".yaml",
            ".txt",
            ".md",
            "Dockerfile",
            "Makefile",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// 1-based line number of a byte offset.
pub(crate) fn line_of(content: &str, offset: usize) -> u32 {
    let end = offset.min(content.len());
    let newlines = content.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(files: &[(&str, &str)], auth: bool) -> Vec<String> {
        let mut tree = FileTree::new();
        for (p, c) in files {
            tree.insert(*p, *c);
        }
        review(&tree, ReviewContext { auth_enabled: auth })
            .findings
            .into_iter()
            .map(|f| format!("{}:{}:{}", f.file, f.line, f.rule))
            .collect()
    }

    fn check(source: &str, expected: &[&str]) {
        assert_eq!(
            rules(&[("app/x.py", source)], true),
            expected,
            "source:\n{source}"
        );
    }

    #[test]
    fn syntax_errors_are_critical() {
        check("def f(:\n    pass\n", &["app/x.py:1:syntax-error"]);
    }

    #[test]
    fn clean_code_has_no_findings() {
        check(
            "import os\n\nSECRET_KEY = os.environ.get(\"SECRET_KEY\", \"\")\n",
            &[],
        );
    }

    #[test]
    fn security_rules() {
        check("x = eval(input())\n", &["app/x.py:1:eval"]);
        check(
            "SECRET_KEY = \"s3cr3t-value-123\"\n",
            &["app/x.py:1:hardcoded-secret"],
        );
        check(
            "api_token: str = \"abcdefgh12345678\"\n",
            &["app/x.py:1:hardcoded-secret"],
        );
        check(
            "db.execute(f\"SELECT * FROM t WHERE id = {x}\")\n",
            &["app/x.py:1:sql-string-format"],
        );
        check(
            "db.execute(\"SELECT * FROM t WHERE id = %s\" % x)\n",
            &["app/x.py:1:sql-string-format"],
        );
        check(
            "db.execute(text(\"SELECT \" + x))\n",
            &["app/x.py:1:sql-string-format"],
        );
        check("db.execute(\"SELECT 1\")\n", &[]);
        check("app = FastAPI(debug=True)\n", &["app/x.py:1:debug-enabled"]);
        check(
            "app.add_middleware(CORSMiddleware, allow_origins=[\"*\"], allow_credentials=True)\n",
            &["app/x.py:1:cors-wildcard-credentials"],
        );
        check(
            "app.add_middleware(CORSMiddleware, allow_origins=[\"https://a.example\"], allow_credentials=True)\n",
            &[],
        );
    }

    #[test]
    fn writes_without_auth_are_flagged_only_when_auth_is_on() {
        let open = "@router.post(\"/items\")\ndef create(payload: dict, db=Depends(get_db)):\n    return payload\n";
        assert_eq!(
            rules(&[("app/api/v1/items.py", open)], true),
            ["app/api/v1/items.py:1:write-without-auth"]
        );
        assert!(rules(&[("app/api/v1/items.py", open)], false).is_empty());
        let guarded = "@router.post(\"/items\")\ndef create(payload: dict, user=Depends(get_current_user)):\n    return payload\n";
        assert!(rules(&[("app/api/v1/items.py", guarded)], true).is_empty());
        let annotated = "@router.delete(\"/items/{id}\")\ndef delete(id: int, user: Annotated[User, Depends(require_role(\"admin\"))]):\n    return None\n";
        assert!(rules(&[("app/api/v1/items.py", annotated)], true).is_empty());
        let admin_only = "@router.delete(\n    \"/{item_id}\",\n    dependencies=[deps.require_admin],\n)\ndef delete_item(item_id: int) -> None:\n    return None\n";
        assert!(rules(&[("app/api/v1/items.py", admin_only)], true).is_empty());
        let login = "@router.post(\"/login\")\ndef login(form=Depends()):\n    return None\n";
        assert!(rules(&[("app/api/v1/auth.py", login)], true).is_empty());
    }

    #[test]
    fn style_rules() {
        check("x = 1   \n", &["app/x.py:1:trailing-whitespace"]);
        check("x = 1", &["app/x.py:1:missing-final-newline"]);
        check("if True:\n\tx = 1\n", &["app/x.py:2:tab-indentation"]);
        check("from os import *\n", &["app/x.py:1:star-import"]);
        check(
            "try:\n    pass\nexcept:\n    pass\n",
            &["app/x.py:3:bare-except"],
        );
        let long = format!("x = \"{}\"\n", "a".repeat(120));
        check(&long, &["app/x.py:1:line-too-long"]);
    }

    #[test]
    fn config_files_are_checked() {
        let found = rules(
            &[
                (".env", "SECRET_KEY=abcdefghijklmnop\n"),
                (".env.example", "SECRET_KEY=change-me\n"),
            ],
            true,
        );
        assert_eq!(found, [".env:1:hardcoded-secret"]);
    }

    #[test]
    fn score_drops_with_findings() {
        let mut tree = FileTree::new();
        tree.insert("a.py", "x = eval('1')\n");
        let r = review(&tree, ReviewContext::default());
        assert_eq!(r.score, 85);
        tree.insert("b.py", "def (\n");
        assert_eq!(review(&tree, ReviewContext::default()).score, 55);
    }
}
