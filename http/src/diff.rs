//! The unified diff between two file trees (a generation and the one it refines).

use codebegen_pipeline::FileTree;
use similar::TextDiff;

/// Lines of context around each change.
const CONTEXT_LINES: usize = 3;

/// A git-style unified diff of every file that differs, in path order: `--- a/path` /
/// `+++ b/path` headers, `/dev/null` for added and removed files, empty when nothing changed.
pub fn unified_diff(old: &FileTree, new: &FileTree) -> String {
    let mut paths: Vec<&str> = old
        .iter()
        .map(|(p, _)| p)
        .chain(new.iter().map(|(p, _)| p))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out = String::new();
    for path in paths {
        let (before, after) = (old.get(path), new.get(path));
        if before == after {
            continue;
        }
        let from = before.map_or_else(|| "/dev/null".to_string(), |_| format!("a/{path}"));
        let to = after.map_or_else(|| "/dev/null".to_string(), |_| format!("b/{path}"));
        out.push_str(&format!("diff --git a/{path} b/{path}\n"));
        let diff = TextDiff::from_lines(before.unwrap_or_default(), after.unwrap_or_default());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(CONTEXT_LINES)
                .header(&from, &to)
                .to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> FileTree {
        let mut tree = FileTree::new();
        for (path, content) in files {
            tree.insert(*path, *content);
        }
        tree
    }

    fn check(old: &[(&str, &str)], new: &[(&str, &str)], expected: &str) {
        assert_eq!(unified_diff(&tree(old), &tree(new)), expected);
    }

    #[test]
    fn unchanged_trees_have_an_empty_diff() {
        check(&[("a.py", "x = 1\n")], &[("a.py", "x = 1\n")], "");
    }

    #[test]
    fn changed_added_and_removed_files() {
        check(
            &[("a.py", "x = 1\ny = 2\n"), ("gone.py", "old\n")],
            &[("a.py", "x = 1\ny = 3\n"), ("new.py", "fresh\n")],
            "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n\
             diff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n\
             diff --git a/new.py b/new.py\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+fresh\n",
        );
    }
}
