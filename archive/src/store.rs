//! A blocking face over an [`object_store::ObjectStore`] under one prefix:
//! the archive's calls wait on a current-thread Tokio runtime of their own,
//! so that callers need no async runtime.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, Result};

/// An object store and the prefix the archive lives under (keys are
/// `<prefix>/<timeline>/...`, see [`crate::format::keys`]).
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
    rt: Arc<tokio::runtime::Runtime>,
    timeout: Option<std::time::Duration>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({} at {})", self.inner, self.prefix)
    }
}

/// The default bound on one store call: 60 s.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What a put-if-absent found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The object was created.
    Created,
    /// An object was there already (left unchanged).
    Existed,
}

impl Store {
    /// The store and prefix a URL names: `file:///abs/dir` (a directory,
    /// created as needed), `memory:///prefix` (in this process only, empty
    /// at first), and with the `s3` feature `s3://bucket/prefix` (endpoint,
    /// region and credentials from `AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`; puts
    /// conditional with `If-None-Match: *`). Errors: `InvalidArgument` (a
    /// URL of another scheme), `Store`.
    pub fn from_url(url: &str) -> Result<Store> {
        let u = url::Url::parse(url).map_err(|e| Error::InvalidArgument(format!("{url}: {e}")))?;
        let (store, prefix): (Arc<dyn ObjectStore>, Path) = match u.scheme() {
            "file" => {
                let dir = u
                    .to_file_path()
                    .map_err(|_| Error::InvalidArgument(format!("{url}: not an absolute file path")))?;
                std::fs::create_dir_all(&dir)?;
                (
                    Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir)?),
                    Path::default(),
                )
            }
            "memory" => (Arc::new(object_store::memory::InMemory::new()), Path::from(u.path())),
            #[cfg(feature = "s3")]
            "s3" => {
                use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
                let bucket = u
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| Error::InvalidArgument(format!("{url}: no bucket")))?;
                // The HTTP client's TLS needs a process-wide crypto
                // provider (ring); one installed already is kept.
                let _ = rustls::crypto::ring::default_provider().install_default();
                // Endpoint, region and credentials from the AWS_*
                // environment; put-if-absent as `If-None-Match: *`.
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_conditional_put(S3ConditionalPut::ETagMatch)
                    .build()?;
                (Arc::new(s3), Path::from(u.path()))
            }
            s => {
                return Err(Error::InvalidArgument(format!(
                    "{url}: unsupported scheme {s:?} (this build: file://, memory://{})",
                    if cfg!(feature = "s3") { ", s3://" } else { "" }
                )))
            }
        };
        Store::new(store, prefix.as_ref())
    }

    /// An archive under `prefix` of `store` (any [`ObjectStore`]: S3, GCS,
    /// Azure through `object_store`'s features, or one of the caller's).
    /// Errors: `Io` (the runtime could not start).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Store> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Store {
            inner: store,
            prefix: Path::from(prefix),
            rt: Arc::new(rt),
            timeout: Some(DEFAULT_TIMEOUT),
        })
    }

    /// The same archive with every store call bounded by `t` (`None`: no
    /// bound): a call still running then fails with a `Store` error saying
    /// it timed out (a put that timed out may still land; the archiver's
    /// retry recognises it). Default [`DEFAULT_TIMEOUT`].
    pub fn with_timeout(mut self, t: Option<std::time::Duration>) -> Store {
        self.timeout = t;
        self
    }

    /// Runs `f` on the runtime, within the timeout.
    fn block<T>(&self, f: impl std::future::Future<Output = object_store::Result<T>>) -> object_store::Result<T> {
        let Some(t) = self.timeout else {
            return self.rt.block_on(f);
        };
        self.rt.block_on(async {
            match tokio::time::timeout(t, f).await {
                Ok(r) => r,
                Err(_) => Err(object_store::Error::Generic {
                    store: "walden-archive",
                    source: format!("the store did not answer within {t:?} (timed out)").into(),
                }),
            }
        })
    }

    /// The underlying store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    fn path(&self, key: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in key.split('/') {
            p = p.join(part);
        }
        p
    }

    /// Writes `bytes` at `key` unless an object is there (`PutMode::Create`:
    /// a conditional put, so two writers never overwrite each other).
    /// Errors: `Store`.
    pub fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<Put> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let p = self.path(key);
        match self.block(self.inner.put_opts(&p, PutPayload::from(bytes), opts)) {
            Ok(_) => Ok(Put::Created),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(Put::Existed),
            Err(e) => Err(e.into()),
        }
    }

    /// The object at `key`, or `None`. Errors: `Store`.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let p = self.path(key);
        let r = self.block(async {
            match self.inner.get(&p).await {
                Ok(g) => g.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        Ok(r?)
    }

    /// Bytes `start..end` of the object at `key` (fewer if it is shorter).
    /// Errors: `Store` (`NotFound` included).
    pub fn get_range(&self, key: &str, start: u64, end: u64) -> Result<Bytes> {
        let p = self.path(key);
        Ok(self.block(self.inner.get_range(&p, start..end))?)
    }

    /// Every key under the prefix (relative to it), sorted. Errors: `Store`.
    pub fn list(&self) -> Result<Vec<String>> {
        let prefix = if self.prefix.as_ref().is_empty() {
            None
        } else {
            Some(&self.prefix)
        };
        let metas: Vec<_> = self.block(self.inner.list(prefix).try_collect())?;
        let base = self.prefix.as_ref().len();
        let mut keys: Vec<String> = metas
            .into_iter()
            .map(|m| {
                let s = m.location.as_ref();
                let rel = if base == 0 { s } else { s.get(base + 1..).unwrap_or("") };
                rel.to_string()
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Deletes the object at `key` (no error if it is gone). Errors: `Store`.
    pub fn delete(&self, key: &str) -> Result<()> {
        let p = self.path(key);
        match self.block(self.inner.delete(&p)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
