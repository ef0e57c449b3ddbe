//! Retention: events are deleted when their TTL runs out (`expire`) and, when the store outgrows
//! its size limit, the events written longest ago go early (`enforce_retention`). Both delete
//! through the writer with the event's version as a guard, so a racing update wins and watchers
//! see `DELETED` as for any delete.

use crate::{Mutation, Store, StoreError};
use kevents_model::{EventKey, Micros};
use std::sync::atomic::Ordering;

/// Most expiries queued at once.
const CHUNK: usize = 4096;
/// Rounds of checkpoint-and-delete before giving up until the next call; one is the rule, more
/// only when the per-event estimate was off.
const MAX_ROUNDS: usize = 4;

impl Store {
    /// Deletes every event whose TTL has passed at `now`, then applies the size limit
    /// (`enforce_retention`); returns how many events were deleted.
    pub async fn expire(&self, now: Micros) -> Result<usize, StoreError> {
        let mut deleted = 0;
        loop {
            let expired = self
                .shared
                .head
                .read()
                .expired(now, CHUNK, self.ttl_micros());
            let chunk = expired.len();
            deleted += self.expire_keys(expired).await?;
            if chunk < CHUNK {
                break;
            }
        }
        Ok(deleted + self.enforce_retention().await?)
    }

    /// When the log and checkpoints take more than `retention_bytes`, compacts the log with a
    /// checkpoint and, if that is not enough, deletes the events written longest ago until the
    /// store takes at most 90% of the limit (the margin keeps this from running on every write);
    /// returns how many events were deleted. Counted in `StoreStats::retention_deleted`.
    pub async fn enforce_retention(&self) -> Result<usize, StoreError> {
        let limit = self.shared.config.retention_bytes;
        if self.store_bytes() <= limit {
            return Ok(0);
        }
        let target = limit - limit / 10;
        let mut deleted = 0;
        // The footprint and the deletions of the previous round, for what one event frees.
        let mut previous: Option<(u64, usize)> = None;
        for round in 0.. {
            // Superseded versions and deletes only leave the disk with a checkpoint (which
            // rewrites the cold files they are in).
            self.checkpoint_with(true).await?;
            self.refresh_disk_bytes();
            let footprint = self.store_bytes();
            let live = self.shared.head.read().live();
            if footprint <= target || live == 0 || round == MAX_ROUNDS {
                break;
            }
            // After a checkpoint the footprint is almost all live events, so its average per
            // event says how many must go; once a round deleted some, what that freed per
            // event says it better (files have a fixed part, and a smaller block compresses
            // less well). Never more than the average: a round that freed more per event than
            // that (blocks compress differently from run to run) would delete too few next.
            let average = footprint.div_ceil(live as u64);
            let per_event = match previous {
                Some((before, count)) if count > 0 && before > footprint => {
                    ((before - footprint) / count as u64).min(average)
                }
                _ => average,
            }
            .max(1);
            let excess = (footprint - target).div_ceil(per_event);
            let count = usize::try_from(excess).unwrap_or(usize::MAX).min(live);
            let deleted_before = deleted;
            let mut remaining = count;
            while remaining > 0 {
                let oldest = self.shared.head.read().expired(
                    Micros(i64::MAX),
                    CHUNK.min(remaining),
                    self.ttl_micros(),
                );
                if oldest.is_empty() {
                    break;
                }
                remaining = remaining.saturating_sub(oldest.len());
                let done = self.expire_keys(oldest).await?;
                deleted += done;
                self.shared
                    .retention_deleted
                    .fetch_add(done as u64, Ordering::Relaxed);
            }
            previous = Some((footprint, deleted - deleted_before));
        }
        if deleted > 0 {
            tracing::warn!(
                deleted,
                limit_bytes = limit,
                disk_bytes = self.shared.disk_bytes.load(Ordering::Relaxed),
                "the store outgrew its size limit: deleted the events written longest ago"
            );
        }
        Ok(deleted)
    }

    /// Bytes of segments and checkpoints, the footprint retention bounds.
    fn store_bytes(&self) -> u64 {
        crate::files::reclaimable_bytes(&self.shared.config.data_dir.join("wal"))
    }

    /// Deletes `keys` unless they changed since the given versions; returns how many went.
    async fn expire_keys(&self, keys: Vec<(EventKey, u64)>) -> Result<usize, StoreError> {
        let mutations = keys
            .into_iter()
            .map(|(key, expected_rv)| Mutation::Expire { key, expected_rv })
            .collect();
        let mut deleted = 0;
        for result in self.write_many(mutations).await {
            match result {
                Ok(_) => deleted += 1,
                Err(StoreError::Skipped) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }
}

/// Parses a size: bytes (`1048576`), or a number with a binary (`512MiB`, `10GiB`, `1TiB`,
/// `64KiB`, also `Ki`/`Mi`/`Gi`/`Ti`) or decimal (`500MB`, `10GB`, `1TB`, `kB`) unit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "Ki" => 1 << 10,
        "MiB" | "Mi" => 1 << 20,
        "GiB" | "Gi" => 1 << 30,
        "TiB" | "Ti" => 1 << 40,
        "kB" | "KB" | "k" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        "TB" | "T" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {text:?} (use e.g. 10GiB, 512MiB or bytes)"
            ))
        }
    };
    let bad = || format!("{text:?} is not a size (use e.g. 10GiB, 512MiB or bytes)");
    let value = if let Some((whole, fraction)) = number.split_once('.') {
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let digits = fraction.len().min(9) as u32;
        let fraction: u64 = fraction
            .get(..digits as usize)
            .unwrap_or("0")
            .parse()
            .map_err(|_| bad())?;
        let scale = 10u64.pow(digits);
        whole
            .checked_mul(multiplier)
            .and_then(|w| {
                w.checked_add((fraction as u128 * multiplier as u128 / scale as u128) as u64)
            })
            .ok_or_else(bad)?
    } else {
        number
            .parse::<u64>()
            .map_err(|_| bad())?
            .checked_mul(multiplier)
            .ok_or_else(bad)?
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64Ki"), Ok(64 << 10));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size(" 7 MiB "), Ok(7 << 20));
    }

    #[test]
    fn nonsense_sizes_are_refused() {
        for bad in ["", "GiB", "10 parsecs", "-1", "1.2.3MiB", "99999999999TiB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
