//! The index itself: opening (or noticing it must be rebuilt), and reading. Writing belongs
//! to the indexer task alone (see `indexer`).

use super::counts::FacetCodes;
use super::dense::DenseWords;
use super::schema::{Fields, SCHEMA_VERSION, register_analyzer};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use tantivy::index::SegmentId;
use tantivy::{Index, IndexReader, IndexSettings, ReloadPolicy, SearcherGeneration, Warmer};

/// Where the index lives.
#[derive(Clone, Debug)]
pub enum Location {
    /// A folder (created if missing).
    Dir(PathBuf),
    /// In memory: tests, and a fallback when the folder cannot be used.
    Ram,
}

/// What the last commit recorded: the schema it was built with and how far into the outbox
/// the index has followed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub position: i64,
}

/// Why an index cannot be searched as it is.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index folder: {0}")]
    Io(#[from] std::io::Error),
}

/// An open index with its reader. Searches take a fresh searcher from the reader each time.
pub struct Engine {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    /// Every live segment's facet values, packed for counting; the reader keeps them.
    pub codes: Arc<FacetCodes>,
    /// Bitsets of the words common in a segment, for intersections; the reader keeps them.
    pub dense: Arc<DenseWords>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("docs", &self.reader.searcher().num_docs())
            .finish()
    }
}

impl Engine {
    /// Opens the index at `location`, creating an empty one if there is none or if the one
    /// there is corrupt or of another schema version. Returns the checkpoint of its last
    /// commit: `None` means the index is new and must be built from the database.
    pub fn open(location: &Location) -> Result<(Engine, Option<Checkpoint>), EngineError> {
        let (schema, fields) = Fields::build();
        let (index, checkpoint) = match location {
            Location::Ram => (
                Index::builder()
                    .schema(schema)
                    .settings(settings())
                    .create_in_ram()?,
                None,
            ),
            Location::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                let existing = Index::open_in_dir(dir).ok().and_then(|index| {
                    let checkpoint = index
                        .load_metas()
                        .ok()?
                        .payload
                        .and_then(|p| serde_json::from_str::<Checkpoint>(&p).ok())
                        .filter(|c| c.version == SCHEMA_VERSION)?;
                    // A schema that differs in any field means a rebuild, whatever it says.
                    (index.schema() == schema).then_some((index, checkpoint))
                });
                match existing {
                    Some((index, checkpoint)) => (index, Some(checkpoint)),
                    None => {
                        tracing::info!(dir = %dir.display(), "creating a new search index");
                        std::fs::remove_dir_all(dir)?;
                        std::fs::create_dir_all(dir)?;
                        let index = Index::builder()
                            .schema(schema)
                            .settings(settings())
                            .create_in_dir(dir)?;
                        (index, None)
                    }
                }
            }
        };
        register_analyzer(&index);
        let codes = Arc::new(FacetCodes::default());
        let dense = Arc::new(DenseWords::default());
        let warmers: Vec<Weak<dyn Warmer>> = vec![
            Arc::downgrade(&codes) as Weak<dyn Warmer>,
            Arc::downgrade(&dense) as Weak<dyn Warmer>,
        ];
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .warmers(warmers)
            .try_into()?;
        Ok((
            Engine {
                index,
                reader,
                fields,
                codes,
                dense,
            },
            checkpoint,
        ))
    }

    /// The field handles (the same for every index of this schema version).
    pub fn open_fields() -> Fields {
        Fields::build().1
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// A new index's settings: the stored documents in blocks of 1 KB (a few products each)
/// instead of Tantivy's 16 KB. A page of results reads its twenty documents from twenty
/// scattered blocks, and each read decompresses a whole block; smaller blocks cost some
/// compression. Measured at a million products (`tools bench search`, each query against
/// both indexes in turn): 1 KB blocks against 4 KB, documents and snippets 0.143 against
/// 0.165 ms per search and the p50 5 % lower, for an index 16 % larger (272 against 235 MB).
fn settings() -> IndexSettings {
    IndexSettings {
        docstore_blocksize: 1024,
        ..IndexSettings::default()
    }
}

/// The segments the searchers still in use hold: what a per-segment cache kept beside the
/// reader (facet codes, dense words' bitsets) may keep when Tantivy collects garbage.
pub fn live_segments(live: &[&SearcherGeneration]) -> HashSet<SegmentId> {
    live.iter()
        .flat_map(|generation| generation.segments().keys().copied())
        .collect()
}
