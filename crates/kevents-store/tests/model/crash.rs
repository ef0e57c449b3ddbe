//! Crash copies: the data directory as a kill -9 at a step would leave it (optionally with a
//! torn frame at the end of the log), and the model it must reopen as.

use super::Model;
use std::path::{Path, PathBuf};

/// The copy a kill -9 at this point would leave, plus the model it must reopen as.
pub struct CrashCopy {
    /// The copied data directory.
    pub dir: tempfile::TempDir,
    /// What it must reopen as.
    pub model: Model,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn last_segment(dir: &Path) -> Option<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    segments.pop()
}

/// Copies `dir`; with `torn`, the last segment also gets that many bytes of a frame cut short.
pub fn crash_copy(dir: &Path, model: &Model, torn: Option<u8>) -> CrashCopy {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir, copy.path());
    if let (Some(torn), Some(segment)) = (torn, last_segment(copy.path())) {
        // The start of a frame whose write was cut short: a plausible header, part of a payload.
        let mut frame = vec![120, 0, 0, 0, 7, 7, 7, 7];
        frame.extend(std::iter::repeat_n(b'{', 120));
        frame.truncate(torn as usize);
        let mut bytes = std::fs::read(&segment).unwrap();
        bytes.extend_from_slice(&frame);
        std::fs::write(&segment, bytes).unwrap();
    }
    CrashCopy {
        dir: copy,
        model: model.clone(),
    }
}
