//! The evidence a run may retrieve: a local dataset of CRM-like records.
//!
//! A dataset is a JSON file mapping collection names to arrays of records:
//!
//! ```json
//! { "contacts": [ { "id": "c-1", "partition": "EU", "email": "ada@example.eu" } ],
//!   "history":  [ { "id": "h-1", "partition": "EU", "contact_id": "c-1", "channel": "email" } ] }
//! ```
//!
//! Every record needs a string `id` and a string `partition`; other values
//! (strings, numbers, booleans) become text fields, sorted by name.

use crate::model::{Evidence, Field, HostError, Query};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most records one retrieval returns, whatever the query asks.
pub const MAX_RECORDS_PER_QUERY: u32 = 1_000;

/// A dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be read.
    #[error("cannot read dataset `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid JSON or not of the expected shape.
    #[error("dataset `{path}`: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What and where.
        reason: String,
    },
}

/// Records by collection, in file order.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    collections: BTreeMap<String, Vec<Evidence>>,
}

impl Dataset {
    /// An empty dataset: every collection is unknown.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Load a dataset file.
    pub fn load(path: &Path) -> Result<Self, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text).map_err(|reason| DatasetError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse a dataset from JSON text; the error says what and where.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let serde_json::Value::Object(map) = value else {
            return Err("expected an object of collections".to_string());
        };
        let mut collections = BTreeMap::new();
        for (name, records) in map {
            let serde_json::Value::Array(records) = records else {
                return Err(format!("collection `{name}`: expected an array of records"));
            };
            let mut out = Vec::with_capacity(records.len());
            for (i, record) in records.into_iter().enumerate() {
                out.push(record_from_json(&name, i, record)?);
            }
            collections.insert(name, out);
        }
        Ok(Self { collections })
    }

    /// Add records to a collection (used by generators and tests).
    pub fn insert(&mut self, record: Evidence) {
        self.collections
            .entry(record.collection.clone())
            .or_default()
            .push(record);
    }

    /// The records of `collection`, in order (empty when unknown).
    pub fn records(&self, collection: &str) -> &[Evidence] {
        self.collections.get(collection).map_or(&[], Vec::as_slice)
    }

    /// A copy that keeps, of `collection`, only the records `keep` accepts
    /// (every other collection whole): a run's share of a dataset.
    pub fn only(&self, collection: &str, keep: impl Fn(&Evidence) -> bool) -> Self {
        let mut collections = self.collections.clone();
        if let Some(records) = collections.get_mut(collection) {
            records.retain(|r| keep(r));
        }
        Self { collections }
    }

    /// Answer a guest's query within `partition`: records of other
    /// partitions are never returned.
    pub fn retrieve(&self, partition: &str, query: &Query) -> Result<Vec<Evidence>, HostError> {
        let Some(records) = self.collections.get(&query.collection) else {
            return Err(HostError::UnknownCollection(query.collection.clone()));
        };
        let limit = query.limit.min(MAX_RECORDS_PER_QUERY) as usize;
        Ok(records
            .iter()
            .filter(|r| r.partition == partition)
            .filter(|r| {
                query.filter.iter().all(|f| {
                    r.get(&f.name) == Some(f.value.as_str()) || (f.name == "id" && r.id == f.value)
                })
            })
            .take(limit)
            .cloned()
            .collect())
    }

    /// A record by collection and id, in any partition (host-side use only).
    pub fn get(&self, collection: &str, id: &str) -> Option<&Evidence> {
        self.collections
            .get(collection)?
            .iter()
            .find(|r| r.id == id)
    }

    /// Records of `collection` whose `field` equals `value`, in any partition
    /// (host-side use only).
    pub fn find<'a>(
        &'a self,
        collection: &str,
        field: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = &'a Evidence> + 'a {
        self.collections
            .get(collection)
            .into_iter()
            .flatten()
            .filter(move |r| r.get(field) == Some(value))
    }
}

fn record_from_json(
    collection: &str,
    index: usize,
    record: serde_json::Value,
) -> Result<Evidence, String> {
    let at = || format!("collection `{collection}`, record {index}");
    let serde_json::Value::Object(map) = record else {
        return Err(format!("{}: expected an object", at()));
    };
    let mut id = None;
    let mut partition = None;
    let mut fields = Vec::new();
    for (name, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        match name.as_str() {
            "id" => id = Some(text),
            "partition" => partition = Some(text),
            _ => fields.push(Field { name, value: text }),
        }
    }
    Ok(Evidence {
        id: id.ok_or_else(|| format!("{}: missing `id`", at()))?,
        collection: collection.to_string(),
        partition: partition.ok_or_else(|| format!("{}: missing `partition`", at()))?,
        fields,
    })
}
