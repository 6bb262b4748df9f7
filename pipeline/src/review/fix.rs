//! Automatic fixes for the findings marked `fixable`: whitespace, tabs, the final newline, debug
//! defaults and CORS credentials with a wildcard origin.

use serde::{Deserialize, Serialize};

use super::Review;
use crate::tree::FileTree;

/// A fix that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFix {
    /// Relative path.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// The rule it fixes.
    pub rule: String,
}

/// Applies every fixable finding of `review` to a copy of `tree`. Review the result again to get
/// the final findings.
pub fn fix(tree: &FileTree, review: &Review) -> (FileTree, Vec<AppliedFix>) {
    let mut out = tree.clone();
    let mut applied = Vec::new();
    for finding in review.findings.iter().filter(|f| f.fixable) {
        let Some(content) = out.files.get(&finding.file) else {
            continue;
        };
        let fixed = match finding.rule.as_str() {
            "missing-final-newline" => Some(format!("{content}\n")),
            rule => edit_line(content, finding.line, |line| fix_line(rule, line)),
        };
        if let Some(fixed) = fixed.filter(|f| f != content) {
            out.files.insert(finding.file.clone(), fixed);
            applied.push(AppliedFix {
                file: finding.file.clone(),
                line: finding.line,
                rule: finding.rule.clone(),
            });
        }
    }
    (out, applied)
}

fn fix_line(rule: &str, line: &str) -> String {
    match rule {
        "trailing-whitespace" => line.trim_end().to_string(),
        "tab-indentation" => {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            format!("{}{body}", indent.replace('\t', "    "))
        }
        "debug-enabled" => line
            .replace("debug=True", "debug=False")
            .replacen("= True", "= False", 1),
        "cors-wildcard-credentials" => {
            line.replace("allow_credentials=True", "allow_credentials=False")
        }
        _ => line.to_string(),
    }
}

fn edit_line(content: &str, line_no: u32, edit: impl Fn(&str) -> String) -> Option<String> {
    let index = usize::try_from(line_no).ok()?.checked_sub(1)?;
    let mut lines: Vec<String> = content.split('\n').map(str::to_string).collect();
    let line = lines.get_mut(index)?;
    *line = edit(line);
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::{review, ReviewContext};

    fn fixed(source: &str) -> (String, usize) {
        let mut tree = FileTree::new();
        tree.insert("app/x.py", source);
        let before = review(&tree, ReviewContext::default());
        let (after, applied) = fix(&tree, &before);
        let remaining = review(&after, ReviewContext::default()).findings.len();
        assert_eq!(
            remaining,
            0,
            "left: {:?}",
            review(&after, ReviewContext::default()).findings
        );
        (
            after.get("app/x.py").unwrap_or_default().to_string(),
            applied.len(),
        )
    }

    #[test]
    fn fixes_whitespace_tabs_and_newline() {
        assert_eq!(
            fixed("if True:\n\tx = 1   \ny = 2"),
            ("if True:\n    x = 1\ny = 2\n".to_string(), 3)
        );
    }

    #[test]
    fn fixes_debug_and_cors() {
        assert_eq!(
            fixed("app = FastAPI(debug=True)\n").0,
            "app = FastAPI(debug=False)\n"
        );
        assert_eq!(fixed("DEBUG: bool = True\n").0, "DEBUG: bool = False\n");
        let cors =
            "app.add_middleware(CORSMiddleware, allow_origins=[\"*\"], allow_credentials=True)\n";
        assert_eq!(
            fixed(cors).0,
            cors.replace("allow_credentials=True", "allow_credentials=False")
        );
    }
}
