//! Style checks, line by line: trailing whitespace, tabs, long lines, star imports and the final
//! newline.

use super::{Category, Finding, FindingSeverity};

/// The line length the generated `pyproject.toml` configures for ruff.
pub const MAX_LINE_LENGTH: usize = 100;

fn finding(
    path: &str,
    line: usize,
    severity: FindingSeverity,
    rule: &str,
    message: &str,
    fixable: bool,
) -> Finding {
    Finding {
        file: path.to_string(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        severity,
        category: Category::Style,
        rule: rule.to_string(),
        message: message.to_string(),
        fixable,
    }
}

/// Checks that apply to any text file.
pub(super) fn check_text(path: &str, content: &str, findings: &mut Vec<Finding>) {
    for (i, line) in content.lines().enumerate() {
        if line.ends_with([' ', '\t']) {
            findings.push(finding(
                path,
                i + 1,
                FindingSeverity::Low,
                "trailing-whitespace",
                "trailing whitespace",
                true,
            ));
        }
    }
    if !content.is_empty() && !content.ends_with('\n') {
        let last = content.lines().count().max(1);
        findings.push(finding(
            path,
            last,
            FindingSeverity::Low,
            "missing-final-newline",
            "the file does not end with a newline",
            true,
        ));
    }
}

/// Checks for Python files.
pub(super) fn check_python(path: &str, content: &str, findings: &mut Vec<Finding>) {
    check_text(path, content, findings);
    for (i, line) in content.lines().enumerate() {
        let indent: &str = &line[..line.len() - line.trim_start().len()];
        if indent.contains('\t') {
            findings.push(finding(
                path,
                i + 1,
                FindingSeverity::Low,
                "tab-indentation",
                "indentation uses tabs",
                true,
            ));
        }
        if line.chars().count() > MAX_LINE_LENGTH {
            findings.push(finding(
                path,
                i + 1,
                FindingSeverity::Low,
                "line-too-long",
                "line longer than 100 characters",
                false,
            ));
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("from ") && trimmed.ends_with("import *") {
            findings.push(finding(
                path,
                i + 1,
                FindingSeverity::Medium,
                "star-import",
                "`import *` hides where names come from",
                false,
            ));
        }
    }
}
