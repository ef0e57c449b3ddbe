//! Files that list named entries (the sinks file, the triggers file): read as one YAML
//! document, each entry compiled by its owner, names unique, every error naming the file, and
//! the YAML's line or the entry's position and name.

use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::path::Path;

/// A file of named entries that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EntriesFileError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML does not fit the format (unknown keys, wrong types).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong, with the line.
        message: String,
    },
    /// An entry's settings are wrong.
    #[error("{file}: {list}[{index}] ({name}): {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The list the entry is in (`sinks`, `triggers`).
        list: &'static str,
        /// Position of the entry in the list.
        index: usize,
        /// Its name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// What a file of named entries holds: the key of its list and what one entry is called.
#[derive(Debug, Clone, Copy)]
pub struct EntriesFile {
    /// The key of the list (`sinks`), as errors name it.
    pub list: &'static str,
    /// One entry (`sink`), as the duplicate-name error names it.
    pub entry: &'static str,
}

impl EntriesFile {
    /// Parses `text` as a `File`, takes its list with `entries` and compiles each entry in
    /// order with `compile`; `name` tells an entry's name. `file` names the file in errors.
    pub fn parse<File, Entry, Spec>(
        &self,
        file: &str,
        text: &str,
        entries: impl FnOnce(File) -> Vec<Entry>,
        name: impl Fn(&Entry) -> String,
        mut compile: impl FnMut(Entry) -> Result<Spec, String>,
    ) -> Result<Vec<Spec>, EntriesFileError>
    where
        File: DeserializeOwned,
    {
        let parsed: File = serde_saphyr::from_str(text).map_err(|e| EntriesFileError::Parse {
            file: file.to_string(),
            message: e
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid YAML")
                .to_string(),
        })?;
        let mut names = HashSet::new();
        let mut specs = Vec::new();
        for (index, entry) in entries(parsed).into_iter().enumerate() {
            let name = name(&entry);
            let invalid = |message: String| EntriesFileError::Invalid {
                file: file.to_string(),
                list: self.list,
                index,
                name: name.clone(),
                message,
            };
            if !names.insert(name.clone()) {
                return Err(invalid(format!("duplicate {} name", self.entry)));
            }
            specs.push(compile(entry).map_err(invalid)?);
        }
        Ok(specs)
    }

    /// Reads the file at `path`; returns its name for errors and its text.
    pub fn read(&self, path: &Path) -> Result<(String, String), EntriesFileError> {
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((file, text)),
            Err(source) => Err(EntriesFileError::Read { file, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ThingsFile {
        things: Vec<Thing>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Thing {
        name: String,
        size: u32,
    }

    const THINGS: EntriesFile = EntriesFile {
        list: "things",
        entry: "thing",
    };

    fn parse(text: &str) -> Result<Vec<(String, u32)>, EntriesFileError> {
        THINGS.parse(
            "t.yaml",
            text,
            |f: ThingsFile| f.things,
            |t| t.name.clone(),
            |t| match t.size {
                0 => Err("size: must be positive".to_string()),
                size => Ok((t.name, size)),
            },
        )
    }

    #[test]
    fn entries_compile_in_file_order() {
        let specs = parse("things:\n- {name: b, size: 2}\n- {name: a, size: 1}\n").unwrap();
        assert_eq!(specs, [("b".to_string(), 2), ("a".to_string(), 1)]);
    }

    #[test]
    fn yaml_that_does_not_fit_names_the_file_and_the_line_in_one_line() {
        let err = parse("things:\n- name: a\n  size: 1\n  colour: red\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml: "), "{err}");
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("line 4"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn an_entry_that_does_not_compile_is_named_by_position_and_name() {
        let err = parse("things:\n- {name: a, size: 1}\n- {name: z, size: 0}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yaml: things[1] (z): size: must be positive"
        );
    }

    #[test]
    fn a_second_entry_of_the_same_name_is_refused() {
        let err = parse("things:\n- {name: a, size: 1}\n- {name: a, size: 2}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yaml: things[1] (a): duplicate thing name"
        );
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let missing = Path::new("/nonexistent/things.yaml");
        let err = THINGS.read(missing).unwrap_err();
        assert!(matches!(err, EntriesFileError::Read { .. }));
        assert!(
            err.to_string().starts_with("/nonexistent/things.yaml: "),
            "{err}"
        );
    }
}
