//! Where an archive lives: an `s3://bucket/prefix` URL (AWS or any S3-compatible server), a
//! `file:///directory`, or `memory://` (tests), opened with the `object_store` crate.

use crate::ArchiveError;
use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// An archive's location and credentials, as written in a sinks file (`archive:`) or given to
/// `kevents archive`. Settings not given come from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT`, ...).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArchiveConfig {
    /// `s3://bucket[/prefix]`, `file:///absolute/directory` or `memory://`.
    pub url: String,
    /// S3 endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000` (default: AWS).
    pub endpoint: Option<String>,
    /// S3 region (default `us-east-1`).
    pub region: Option<String>,
    /// Allow `http://` endpoints (default false).
    pub allow_http: Option<bool>,
    /// Access key; with `secretAccessKey`, instead of `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// Secret key.
    pub secret_access_key: Option<String>,
    /// Further `object_store` S3 settings by name (`aws_virtual_hosted_style_request`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// An opened archive location: an object store and the prefix under which the archive lives.
#[derive(Debug, Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    url: String,
}

fn invalid(message: String) -> ArchiveError {
    ArchiveError::Config(message)
}

impl Location {
    /// Opens the location a config names; every setting is checked here.
    pub fn open(config: &ArchiveConfig) -> Result<Location, ArchiveError> {
        let url = config.url.as_str();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            invalid(format!(
                "url {url:?}: use s3://bucket/prefix or file:///dir"
            ))
        })?;
        let rest = rest.trim_end_matches('/');
        let s3_only = config.endpoint.is_some()
            || config.region.is_some()
            || config.allow_http.is_some()
            || config.access_key_id.is_some()
            || config.secret_access_key.is_some()
            || !config.options.is_empty();
        if scheme != "s3" && s3_only {
            return Err(invalid(format!(
                "url {url:?}: endpoint, region, allowHttp, credentials and options are S3 settings"
            )));
        }
        let (store, prefix): (Arc<dyn ObjectStore>, &str) = match scheme {
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid(format!("url {url:?}: no bucket")));
                }
                (Arc::new(s3(config, bucket)?), prefix)
            }
            "file" => {
                if !rest.starts_with('/') {
                    return Err(invalid(format!(
                        "url {url:?}: use an absolute path, file:///dir"
                    )));
                }
                std::fs::create_dir_all(rest)
                    .map_err(|e| invalid(format!("url {url:?}: creating the directory: {e}")))?;
                let local = LocalFileSystem::new_with_prefix(rest)
                    .map_err(|e| invalid(format!("url {url:?}: {e}")))?;
                (Arc::new(local), "")
            }
            "memory" => (Arc::new(InMemory::new()), rest),
            other => {
                return Err(invalid(format!(
                    "url {url:?}: unsupported scheme {other}: (use s3 or file)"
                )))
            }
        };
        let prefix =
            Path::parse(prefix).map_err(|e| invalid(format!("url {url:?}: prefix: {e}")))?;
        Ok(Location {
            store,
            prefix,
            url: url.to_string(),
        })
    }

    /// The URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, relative: &str) -> Result<Path, ArchiveError> {
        let relative = Path::parse(relative)
            .map_err(|e| ArchiveError::Corrupt(format!("object path {relative:?}: {e}")))?;
        Ok(self.prefix.parts().chain(relative.parts()).collect())
    }

    /// Writes an object (atomically: readers see the old or the new one, never a part).
    pub async fn put(&self, relative: &str, data: Bytes) -> Result<(), ArchiveError> {
        let path = self.path(relative)?;
        self.store
            .put(&path, PutPayload::from_bytes(data))
            .await
            .map_err(|e| ArchiveError::store(&self.url, relative, e))?;
        Ok(())
    }

    /// Reads an object; `Ok(None)` when it does not exist.
    pub async fn get(&self, relative: &str) -> Result<Option<Bytes>, ArchiveError> {
        let path = self.path(relative)?;
        let error = |e| ArchiveError::store(&self.url, relative, e);
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(error)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(error(e)),
        }
    }
}

fn s3(config: &ArchiveConfig, bucket: &str) -> Result<object_store::aws::AmazonS3, ArchiveError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in &config.options {
        let parsed: AmazonS3ConfigKey = key
            .parse()
            .map_err(|_| invalid(format!("options: unknown S3 setting {key:?}")))?;
        builder = builder.with_config(parsed, value);
    }
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let Some(allow_http) = config.allow_http {
        builder = builder.with_allow_http(allow_http);
    }
    match (&config.access_key_id, &config.secret_access_key) {
        (Some(id), Some(secret)) => {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret)
        }
        (None, None) => {}
        _ => {
            return Err(invalid(
                "accessKeyId and secretAccessKey go together".into(),
            ))
        }
    }
    builder.build().map_err(|e| invalid(format!("s3: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ArchiveConfig {
        ArchiveConfig {
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn settings_are_checked_when_opened() {
        let error = |c: ArchiveConfig| Location::open(&c).unwrap_err().to_string();
        assert!(error(config("bucket/x")).contains("use s3://"));
        assert!(error(config("ftp://x")).contains("unsupported scheme"));
        assert!(error(config("file://relative")).contains("absolute"));
        let mut file_with_endpoint = config("file:///tmp/x");
        file_with_endpoint.endpoint = Some("http://127.0.0.1:9000".into());
        assert!(error(file_with_endpoint).contains("S3 settings"));
        let mut unknown = config("s3://b/p");
        unknown.options.insert("aws_colour".into(), "red".into());
        assert!(error(unknown).contains("unknown S3 setting"));
        let mut half = config("s3://b/p");
        half.access_key_id = Some("id".into());
        assert!(error(half).contains("go together"));
    }

    #[tokio::test]
    async fn objects_live_under_the_prefix_of_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/archive", dir.path().display());
        let location = Location::open(&config(&url)).unwrap();
        assert_eq!(location.get("a/b.json").await.unwrap(), None);
        location
            .put(
                "cluster=c/date=2026-01-02/1-2.parquet",
                Bytes::from_static(b"x"),
            )
            .await
            .unwrap();
        let written = dir
            .path()
            .join("archive/cluster=c/date=2026-01-02/1-2.parquet");
        assert_eq!(std::fs::read(written).unwrap(), b"x");
    }
}
