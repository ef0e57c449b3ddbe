//! The state file: per sink, the fingerprints already notified as firing, so a restart does not
//! notify them again. Every save rewrites the whole (small) file atomically: temp file + rename.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The state of every sink, shared by the sink tasks; each sink writes only its own entry.
pub(super) struct StateFile {
    path: PathBuf,
    sinks: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    /// Sink key → fingerprints notified as firing.
    sinks: BTreeMap<String, BTreeSet<String>>,
}

impl StateFile {
    /// Reads the file, keeping only the entries of `sink_keys` (sinks no longer configured are
    /// forgotten). A missing file is an empty state; an unparsable one is logged and ignored,
    /// since re-notifying beats not alerting.
    pub(super) fn load(path: &Path, sink_keys: &[String]) -> std::io::Result<StateFile> {
        let mut sinks = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(on_disk) => on_disk.sinks,
                Err(error) => {
                    tracing::warn!(
                        path = %path.display(),
                        %error,
                        "alert delivery state unreadable; already notified alerts may be notified again"
                    );
                    BTreeMap::new()
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => return Err(error),
        };
        sinks.retain(|key, _| sink_keys.contains(key));
        Ok(StateFile {
            path: path.to_path_buf(),
            sinks: Mutex::new(sinks),
        })
    }

    /// The fingerprints a sink had notified as firing.
    pub(super) fn notified(&self, sink_key: &str) -> BTreeSet<String> {
        self.sinks.lock().get(sink_key).cloned().unwrap_or_default()
    }

    /// Records a sink's notified fingerprints and rewrites the file. A failure is logged, not
    /// returned: delivery goes on, at worst a restart notifies again.
    pub(super) fn save(&self, sink_key: &str, notified: &BTreeSet<String>) {
        let mut sinks = self.sinks.lock();
        sinks.insert(sink_key.to_string(), notified.clone());
        // Written under the lock so two sinks' saves cannot interleave; the file is small.
        let on_disk = OnDisk {
            sinks: sinks.clone(),
        };
        if let Err(error) = write_atomically(&self.path, &on_disk) {
            tracing::error!(
                path = %self.path.display(),
                %error,
                "cannot write the alert delivery state; a restart may notify again"
            );
        }
    }
}

fn write_atomically(path: &Path, on_disk: &OnDisk) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(on_disk)?;
    let mut temp_name = path.file_name().unwrap_or_default().to_os_string();
    temp_name.push(".tmp");
    let temp_path = path.with_file_name(temp_name);
    let mut file = std::fs::File::create(&temp_path)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp_path, path)?;
    // Makes the rename itself durable; not every platform can sync a directory, hence best effort.
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_is_loaded_back_for_configured_sinks_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delivery.json");
        let keys = vec!["webhook:a".to_string(), "webhook:b".to_string()];
        let state = StateFile::load(&path, &keys).unwrap();
        assert!(state.notified("webhook:a").is_empty());
        state.save("webhook:a", &BTreeSet::from(["alertname=X".to_string()]));
        state.save("webhook:b", &BTreeSet::from(["alertname=Y".to_string()]));

        let reloaded = StateFile::load(&path, &keys[..1]).unwrap();
        assert_eq!(
            reloaded.notified("webhook:a"),
            BTreeSet::from(["alertname=X".to_string()])
        );
        assert!(reloaded.notified("webhook:b").is_empty());
        assert!(!dir.path().join("delivery.json.tmp").exists());
    }

    #[test]
    fn corrupt_state_file_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delivery.json");
        std::fs::write(&path, b"{not json").unwrap();
        let state = StateFile::load(&path, &["webhook:a".to_string()]).unwrap();
        assert!(state.notified("webhook:a").is_empty());
    }
}
