//! [`FsArtifactStore`]: artifacts as files under a root directory, key `a/b/c` at `root/a/b/c`.
//!
//! A write goes to a temporary file in the target's own directory (so the same file system),
//! is fsynced, renamed over the target, and then the directory is fsynced: readers see the old
//! or the new content, never a mix, and an acknowledged write survives a crash. Keys are
//! checked with [`crate::valid_key`]; an invalid key is a `Conflict`. Temporary files are named
//! `.codebegen-tmp-*`, so keys with a segment starting that way are refused too, and listings
//! skip them. A key cannot be both a blob and a "directory" of other keys (`a` and `a/b`);
//! writing the second is a `Conflict`.

use crate::{check_key, check_prefix, ArtifactStore, StoreError, StoreResult};
use async_trait::async_trait;
use bytes::Bytes;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name prefix of in-flight writes.
const TEMP_PREFIX: &str = ".codebegen-tmp-";

/// Blobs as files under one directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FsArtifactStore {
    root: Arc<PathBuf>,
}

impl FsArtifactStore {
    /// Uses `root`, creating it if needed. Blocks for file IO: call it at startup.
    pub fn open(root: impl AsRef<Path>) -> StoreResult<FsArtifactStore> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|err| unavailable(&root, &err))?;
        Ok(FsArtifactStore {
            root: Arc::new(root),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        check_key(key)?;
        if key
            .split('/')
            .any(|segment| segment.starts_with(TEMP_PREFIX))
        {
            return Err(StoreError::Conflict(format!(
                "artifact key {key:?} uses the reserved prefix {TEMP_PREFIX}"
            )));
        }
        Ok(self.root.join(key))
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Unavailable(format!("an artifact task did not finish: {err}")))?
}

fn unavailable(path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{}: {err}", path.display()))
}

/// Whether an IO error means "a file stands where a directory must be" or the reverse.
fn is_collision(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::NotADirectory
            | ErrorKind::IsADirectory
            | ErrorKind::AlreadyExists
            | ErrorKind::DirectoryNotEmpty
    )
}

#[async_trait]
impl ArtifactStore for FsArtifactStore {
    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()> {
        let path = self.path_of(key)?;
        let key = key.to_string();
        blocking(move || write_atomically(&path, &data, &key)).await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let path = self.path_of(key)?;
        blocking(move || match fs::read(&path) {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(err) if err.kind() == ErrorKind::NotFound || is_collision(&err) => Ok(None),
            Err(err) => Err(unavailable(&path, &err)),
        })
        .await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        check_prefix(prefix)?;
        let root = Arc::clone(&self.root);
        let prefix = prefix.to_string();
        blocking(move || {
            // Only the directory that the prefix names can hold matching keys.
            let directory = prefix.rfind('/').map_or("", |slash| &prefix[..slash]);
            let mut keys = Vec::new();
            walk(&root.join(directory), directory, &mut keys)?;
            keys.retain(|key| key.starts_with(&prefix));
            keys.sort_unstable();
            Ok(keys)
        })
        .await
    }

    async fn delete(&self, key: &str) -> StoreResult<bool> {
        let path = self.path_of(key)?;
        let root = Arc::clone(&self.root);
        blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::NotFound || is_collision(&err) => {
                    return Ok(false)
                }
                Err(err) => return Err(unavailable(&path, &err)),
            }
            // Prune directories left empty, so that `a` can later be a blob again.
            let mut directory = path.parent();
            while let Some(dir) = directory.filter(|dir| *dir != root.as_path()) {
                if fs::remove_dir(dir).is_err() {
                    break;
                }
                directory = dir.parent();
            }
            Ok(true)
        })
        .await
    }
}

fn write_atomically(path: &Path, data: &[u8], key: &str) -> StoreResult<()> {
    let collision = || {
        StoreError::Conflict(format!(
            "artifact key {key:?} collides with an existing key"
        ))
    };
    let directory = path
        .parent()
        .ok_or_else(|| StoreError::Conflict(format!("invalid artifact key {key:?}")))?;
    // A concurrent delete may prune the directory between creating it and creating the
    // temporary file in it; try again a few times.
    let mut attempts = 0;
    let (temp_path, mut file) = loop {
        attempts += 1;
        fs::create_dir_all(directory).map_err(|err| {
            if is_collision(&err) {
                collision()
            } else {
                unavailable(directory, &err)
            }
        })?;
        let temp_path = directory.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
        match File::create_new(&temp_path) {
            Ok(file) => break (temp_path, file),
            Err(err) if err.kind() == ErrorKind::NotFound && attempts < 5 => continue,
            Err(err) => return Err(unavailable(&temp_path, &err)),
        }
    };
    let written = file.write_all(data).and_then(|()| file.sync_all());
    drop(file);
    let renamed = written.and_then(|()| fs::rename(&temp_path, path));
    if let Err(err) = renamed {
        // Best effort: the temporary file is invisible to readers either way.
        let _ = fs::remove_file(&temp_path);
        return Err(if is_collision(&err) {
            collision()
        } else {
            unavailable(path, &err)
        });
    }
    // Make the rename itself durable.
    match File::open(directory).and_then(|dir| dir.sync_all()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(unavailable(directory, &err)),
    }
}

/// Collects the keys of the regular files under `dir` (whose key prefix is `dir_key`), skipping
/// temporary files, symbolic links and names that are not UTF-8.
fn walk(dir: &Path, dir_key: &str, keys: &mut Vec<String>) -> StoreResult<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound || err.kind() == ErrorKind::NotADirectory => {
            return Ok(())
        }
        Err(err) => return Err(unavailable(dir, &err)),
    };
    for entry in entries {
        let entry = entry.map_err(|err| unavailable(dir, &err))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let key = if dir_key.is_empty() {
            name
        } else {
            format!("{dir_key}/{name}")
        };
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(err) if err.kind() == ErrorKind::NotFound => continue,
            Err(err) => return Err(unavailable(&entry.path(), &err)),
        };
        if file_type.is_dir() {
            walk(&entry.path(), &key, keys)?;
        } else if file_type.is_file() {
            keys.push(key);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blob_and_directory_keys_collide_as_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsArtifactStore::open(dir.path()).unwrap();
        store.put("a", Bytes::from_static(b"1")).await.unwrap();
        assert!(matches!(
            store.put("a/b", Bytes::from_static(b"2")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.delete("a").await.unwrap());
        store.put("a/b", Bytes::from_static(b"2")).await.unwrap();
        assert!(matches!(
            store.put("a", Bytes::from_static(b"1")).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.get("a").await.unwrap(), None);
        assert!(!store.delete("a").await.unwrap());
        // Deleting the last key under `a/` prunes the directory, so `a` is free again.
        assert!(store.delete("a/b").await.unwrap());
        store.put("a", Bytes::from_static(b"3")).await.unwrap();
    }

    #[tokio::test]
    async fn temporary_files_are_hidden_and_reserved() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsArtifactStore::open(dir.path()).unwrap();
        store.put("x/y", Bytes::from_static(b"1")).await.unwrap();
        fs::write(
            dir.path().join("x").join(format!("{TEMP_PREFIX}leftover")),
            b"partial",
        )
        .unwrap();
        assert_eq!(store.list("").await.unwrap(), vec!["x/y".to_string()]);
        let reserved = format!("x/{TEMP_PREFIX}leftover");
        assert!(matches!(
            store.get(&reserved).await,
            Err(StoreError::Conflict(_))
        ));
    }
}
