//! The search service pages and the API call: the index when it is ready, the plain database
//! search when it is not, and live stock for whatever is shown.

use super::engine::{Checkpoint, Engine, EngineError, Location};
use super::first_stage::FirstStage;
use super::indexer::{Indexer, IndexerError};
use super::query::{self, Rank, Stages};
use super::types::{Hit, SearchQuery, SearchResults, SearchSort, Suggestion};
use crate::Currency;
use crate::Money;
use crate::catalog::{
    Catalog, CatalogError, PageRequest, ProductId, Rating, SearchText, Slug, Sort,
};
use crate::db::Db;
use crate::resilience::Admission;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tantivy::TantivyDocument;
use tantivy::schema::Value;

/// Where the index is in its life.
#[derive(Clone, Debug)]
enum State {
    /// Being opened or built; the database answers meanwhile.
    Building,
    Ready(Arc<Engine>),
    /// It could not be opened or built; the database answers.
    Failed(String),
}

/// How search is doing, for `/readyz` and `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHealth {
    pub ready: bool,
    pub detail: String,
    pub documents: u64,
    /// Searches answered by the database fallback since start.
    pub degraded_queries: u64,
    pub queries: u64,
    /// The indexer's checkpoint: the outbox id up to which every event has been applied
    /// (0 until the index is ready).
    pub position: i64,
}

/// The search service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Search {
    state: Arc<RwLock<State>>,
    catalog: Catalog,
    queries: Arc<AtomicU64>,
    degraded: Arc<AtomicU64>,
    position: Arc<AtomicI64>,
    /// Searches running and waiting on this node: past both, a search is refused at once.
    admission: Admission,
}

/// Searches run at once per core (each is CPU work on the blocking pool), and how many may
/// wait behind them: a second or so of work, after which "try again" beats waiting.
const SEARCHES_PER_CORE: usize = 2;
const SEARCHES_WAITING: usize = 64;

fn default_admission() -> Admission {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Admission::new(cores * SEARCHES_PER_CORE, SEARCHES_WAITING)
}

/// How often the indexer looks at the outbox.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

impl Search {
    /// This node's bound on searches at once (for a test to take every turn, or an operator
    /// to size it differently).
    pub fn with_admission(mut self, admission: Admission) -> Self {
        self.admission = admission;
        self
    }

    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// Opens the index at `location` (building it from the database if needed, in the
    /// background) and starts the indexer task that keeps it fresh. Until the index is ready,
    /// searches are answered from the database.
    pub fn start(db: Db, catalog: Catalog, location: Location) -> Self {
        let search = Search {
            state: Arc::new(RwLock::new(State::Building)),
            catalog,
            queries: Arc::default(),
            degraded: Arc::default(),
            position: Arc::default(),
            admission: default_admission(),
        };
        let (state, position) = (search.state.clone(), search.position.clone());
        tokio::spawn(async move {
            let mut indexer = match open(&db, &location).await {
                Ok((engine, indexer)) => {
                    position.store(indexer.position(), Ordering::Relaxed);
                    set(&state, State::Ready(engine));
                    indexer
                }
                Err(e) => {
                    tracing::error!(error = %e, "search index unavailable; searching the database");
                    set(&state, State::Failed(e.to_string()));
                    return;
                }
            };
            let mut failures = 0u32;
            loop {
                tokio::time::sleep(FOLLOW_EVERY).await;
                match indexer.follow().await {
                    Ok(_) => {
                        failures = 0;
                        position.store(indexer.position(), Ordering::Relaxed);
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, failures, "search indexer pass failed");
                        if failures >= 50 {
                            set(&state, State::Failed(e.to_string()));
                        }
                    }
                }
            }
        });
        search
    }

    /// A search that never uses an index: the database answers everything (and says so).
    pub fn database_only(catalog: Catalog) -> Self {
        Search {
            state: Arc::new(RwLock::new(State::Failed("no index configured".into()))),
            catalog,
            queries: Arc::default(),
            degraded: Arc::default(),
            position: Arc::default(),
            admission: default_admission(),
        }
    }

    pub(super) fn engine(&self) -> Option<Arc<Engine>> {
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            State::Ready(engine) => Some(engine.clone()),
            _ => None,
        }
    }

    /// Waits until the index is ready (or has failed), at most `limit`. True when ready.
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
                State::Ready(_) => return true,
                State::Failed(_) => return false,
                State::Building => {}
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn health(&self) -> SearchHealth {
        let (ready, detail, documents) =
            match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
                State::Ready(e) => (true, "index".to_string(), e.num_docs()),
                State::Building => (false, "index building; database fallback".to_string(), 0),
                State::Failed(why) => (false, format!("database fallback: {why}"), 0),
            };
        SearchHealth {
            ready,
            detail,
            documents,
            degraded_queries: self.degraded.load(Ordering::Relaxed),
            queries: self.queries.load(Ordering::Relaxed),
            position: self.position.load(Ordering::Relaxed),
        }
    }

    /// Runs a search; never fails for the shopper's words, only if the database fails too.
    // The span has the query's length, never its words: what a shopper types can be
    // personal (a name, an address), and logs are kept and shared more widely than orders.
    #[tracing::instrument(name = "search", skip_all, fields(chars = q.text.chars().count(), page = q.page))]
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResults, CatalogError> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let _turn = self
            .admission
            .admit()
            .await
            .map_err(|_| CatalogError::Busy)?;
        if let Some(engine) = self.engine() {
            let query = q.clone();
            match tokio::task::spawn_blocking(move || hits(&engine, &query)).await {
                Ok(Ok(mut results)) => {
                    self.fill_stock(&mut results.hits).await?;
                    self.name_categories(&mut results.facets.categories).await;
                    return Ok(results);
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "search failed; answering from the database")
                }
                Err(e) => {
                    tracing::error!(error = %e, "search task failed; answering from the database")
                }
            }
        }
        self.degraded.fetch_add(1, Ordering::Relaxed);
        let mut results = self.fallback(q).await?;
        self.fill_stock(&mut results.hits).await?;
        Ok(results)
    }

    /// Gives category facet values their catalog names (the index knows only paths).
    async fn name_categories(&self, values: &mut [super::types::FacetValue]) {
        if values.is_empty() {
            return;
        }
        if let Ok(all) = self.catalog.categories().await {
            for value in values {
                if let Some(c) = all.iter().find(|c| c.path.as_str() == value.value) {
                    value.label = c.name.clone();
                }
            }
        }
    }

    /// Autocomplete: up to six products and four categories for what has been typed so far.
    #[tracing::instrument(name = "search.suggest", skip_all, fields(chars = text.chars().count()))]
    pub async fn suggest(&self, text: &str) -> Result<Vec<Suggestion>, CatalogError> {
        let text: String = text.trim_start().chars().take(100).collect();
        if text.trim().chars().count() < 2 {
            return Ok(vec![]);
        }
        let needle = text.trim().to_lowercase();
        let _turn = self
            .admission
            .admit()
            .await
            .map_err(|_| CatalogError::Busy)?;
        let mut out: Vec<Suggestion> = self
            .catalog
            .categories()
            .await?
            .iter()
            .filter(|c| {
                c.product_count > 0
                    && c.name
                        .to_lowercase()
                        .split_whitespace()
                        .any(|w| w.starts_with(&needle))
            })
            .take(4)
            .map(|c| Suggestion {
                kind: "category".into(),
                label: c.name.clone(),
                url: c.url(),
            })
            .collect();
        if let Some(engine) = self.engine() {
            let docs =
                tokio::task::spawn_blocking(move || query::suggest_titles(&engine, &text, 6)).await;
            if let Ok(Ok(docs)) = docs {
                let fields = Engine::open_fields();
                for doc in docs {
                    let title = text_of(&doc, fields.title);
                    let slug = text_of(&doc, fields.slug);
                    if let Ok(slug) = Slug::parse(&slug) {
                        out.insert(
                            out.len().min(6),
                            Suggestion {
                                kind: "product".into(),
                                label: title,
                                url: crate::catalog::product_url(&slug),
                            },
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    /// Product ids like `product` (more-like-this over the index); empty without an index.
    pub async fn similar(&self, product: ProductId, limit: usize) -> Vec<ProductId> {
        let Some(engine) = self.engine() else {
            return vec![];
        };
        let id = u64::try_from(product.get()).unwrap_or(0);
        match tokio::task::spawn_blocking(move || query::similar(&engine, id, limit)).await {
            Ok(Ok(ids)) => ids
                .into_iter()
                .filter_map(|i| i64::try_from(i).ok())
                .map(ProductId::new)
                .collect(),
            _ => vec![],
        }
    }

    async fn fill_stock(&self, hits: &mut [Hit]) -> Result<(), CatalogError> {
        let ids: Vec<ProductId> = hits.iter().map(|h| h.product_id).collect();
        let mut stock = self.catalog.listing_stock(&ids).await?;
        for hit in hits {
            let live = stock.remove(&hit.product_id).unwrap_or_default();
            hit.available = live.available;
            hit.only_sku = live.only_sku;
        }
        Ok(())
    }

    /// The plain database search: words in titles, brands and category names, or a category
    /// listing when there are no words. Facets are left empty.
    async fn fallback(&self, q: &SearchQuery) -> Result<SearchResults, CatalogError> {
        let page = PageRequest {
            page: q.page,
            per_page: q.per_page,
        };
        let text = SearchText::parse(&q.text);
        let cards = if text.is_empty() {
            let sort = match q.sort {
                SearchSort::Relevance | SearchSort::Rating => Sort::Featured,
                SearchSort::PriceAsc => Sort::PriceAsc,
                SearchSort::PriceDesc => Sort::PriceDesc,
                SearchSort::Newest => Sort::Newest,
            };
            match self.catalog.list(q.category.as_ref(), sort, page).await {
                Err(CatalogError::CategoryNotFound) => self.catalog.list(None, sort, page).await?,
                other => other?,
            }
        } else {
            self.catalog.search(&text, page).await?
        };
        Ok(SearchResults {
            query: q.clone(),
            total: cards.total,
            hits: cards
                .items
                .into_iter()
                .map(|c| Hit {
                    title_html: escape(&c.title),
                    snippet_html: String::new(),
                    product_id: c.id,
                    external_id: c.external_id,
                    slug: c.slug,
                    title: c.title,
                    brand: c.brand,
                    category: c.category,
                    price_from: c.price_from,
                    price_varies: c.price_varies,
                    rating: c.rating,
                    available: c.available,
                    only_sku: None,
                    picture: None,
                })
                .collect(),
            facets: Default::default(),
            did_you_mean: None,
            degraded: true,
        })
    }
}

fn set(state: &RwLock<State>, new: State) {
    *state.write().unwrap_or_else(|p| p.into_inner()) = new;
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Indexer(#[from] IndexerError),
}

/// Rebuilds the index at `location` from the database, whatever state it is in: the
/// `server reindex` command. Fails (touching nothing) if a running node holds the index.
pub async fn reindex(
    db: &Db,
    location: &Location,
    progress: &indicatif::ProgressBar,
) -> Result<u64, OpenError> {
    let (_, mut indexer, _) = take_writer(db, location).await?;
    Ok(indexer.rebuild(progress).await?)
}

/// Opens the index (off the runtime: it reads files) and takes its one writer.
async fn take_writer(
    db: &Db,
    location: &Location,
) -> Result<(Arc<Engine>, Indexer, Option<Checkpoint>), OpenError> {
    let location = location.clone();
    let (engine, checkpoint) = tokio::task::spawn_blocking(move || Engine::open(&location))
        .await
        .map_err(IndexerError::from)??;
    let engine = Arc::new(engine);
    let indexer = Indexer::new(db.clone(), engine.clone(), checkpoint)?;
    Ok((engine, indexer, checkpoint))
}

async fn open(db: &Db, location: &Location) -> Result<(Arc<Engine>, Indexer), OpenError> {
    let (engine, mut indexer, checkpoint) = take_writer(db, location).await?;
    if checkpoint.is_none() {
        let started = std::time::Instant::now();
        let docs = indexer.rebuild(&indicatif::ProgressBar::hidden()).await?;
        tracing::info!(docs, elapsed = ?started.elapsed(), "search index built");
    }
    Ok((engine, indexer))
}

/// Runs the query and turns the documents into hits (stock still to be filled).
pub(super) fn hits(engine: &Engine, q: &SearchQuery) -> tantivy::Result<SearchResults> {
    answer(engine, q, FirstStage::default()).map(|answer| answer.results)
}

/// What the index path answers to a query.
pub(super) struct Answer {
    /// The results, stock still to be filled.
    pub results: SearchResults,
    /// Why each hit is where it is.
    pub ranks: Vec<Rank>,
    /// How long each stage of the run took.
    pub stages: Stages,
}

/// Runs the query through `stage` and turns the documents into hits (stock still to be
/// filled), with each hit's rank and the run's time by stage.
pub(super) fn answer(
    engine: &Engine,
    q: &SearchQuery,
    stage: FirstStage,
) -> tantivy::Result<Answer> {
    let found = query::run(engine, q, stage)?;
    let f = &engine.fields;
    let (hits, ranks) = found
        .docs
        .iter()
        .zip(found.ranks)
        .zip(found.title_snippets)
        .zip(found.description_snippets)
        .filter_map(|((((_, doc), rank), title_html), snippet_html)| {
            let title = text_of(doc, f.title);
            let u = |field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
            let currency = Currency::parse(&text_of(doc, f.currency)).unwrap_or(Currency::shop());
            let rating = u(f.rating);
            let hit = Hit {
                product_id: ProductId::new(i64::try_from(u(f.product_id)).ok()?),
                external_id: text_of(doc, f.external_id),
                slug: Slug::parse(&text_of(doc, f.slug)).ok()?,
                title_html: if title_html.is_empty() {
                    escape(&title)
                } else {
                    title_html
                },
                snippet_html,
                title,
                brand: Some(text_of(doc, f.brand)).filter(|b| !b.is_empty()),
                category: text_of(doc, f.category_name),
                price_from: Money::new(i64::try_from(u(f.price)).unwrap_or(0), currency),
                price_varies: u(f.price_varies) == 1,
                rating: (rating > 0)
                    .then(|| Rating::from_hundredths(i64::try_from(rating - 1).unwrap_or(0)).ok())
                    .flatten(),
                available: 0,
                only_sku: None,
                picture: None,
            };
            Some((hit, rank))
        })
        .unzip();
    // Category facet labels come from the documents' own names where possible.
    let mut facets = found.facets;
    for value in &mut facets.categories {
        value.label = value
            .value
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace('-', " ");
    }
    let results = SearchResults {
        query: q.clone(),
        total: found.total,
        hits,
        facets,
        did_you_mean: found.did_you_mean,
        degraded: false,
    };
    Ok(Answer {
        results,
        ranks,
        stages: found.stages,
    })
}

fn text_of(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

/// HTML-escapes text for the `*_html` fields.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Appends `text` to `out`, HTML-escaped.
pub(super) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}
