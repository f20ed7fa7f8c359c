//! Background traffic for the chaos run: shoppers browsing product pages, loading their
//! pictures, searching, and buying across many SKUs while the flash sale and the faults go
//! on. What they see is tallied apart while the object store is black-holed and while it is
//! killed, so the run can show that a dead store costs at most the pictures no node holds,
//! never a page, and never a broken picture on a page served during the outage.

use crate::loadgen::resend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What shoppers got, by kind of request and answer.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub pages: Answers,
    pub images: Answers,
    /// Pictures served after the store came back.
    pub images_after_outage: usize,
    pub searches: Answers,
    pub checkouts: Answers,
    /// Requests that never got an answer, even resent (every node down at once).
    pub unanswered: usize,
    /// Page latencies while the store was up, in milliseconds.
    pub page_ms: Vec<f64>,
    /// What shoppers saw while the store was out, by [`Outage`].
    pub outages: [Seen; 2],
    /// When the shoppers started and stopped.
    pub began: Option<Instant>,
    pub ended: Option<Instant>,
}

impl Tally {
    /// Page views per second while the store was up.
    pub fn pages_per_second(&self) -> f64 {
        let (Some(began), Some(ended)) = (self.began, self.ended) else {
            return 0.0;
        };
        let out: f64 = self
            .outages
            .iter()
            .filter_map(|o| Some((o.until? - o.from?).as_secs_f64()))
            .sum();
        self.pages.total() as f64 / ((ended - began).as_secs_f64() - out).max(1.0)
    }
}

/// How the object store fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Frozen (SIGSTOP): connections are accepted and never answered.
    BlackHoled = 0,
    /// Gone (SIGKILL): connections are refused.
    Killed = 1,
}

impl Outage {
    pub const ALL: [Outage; 2] = [Outage::BlackHoled, Outage::Killed];

    pub fn name(self) -> &'static str {
        match self {
            Self::BlackHoled => "black-holed",
            Self::Killed => "killed",
        }
    }
}

/// What shoppers saw during one outage.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub pages: Answers,
    /// Pages answered 200 without their product's heading.
    pub pages_without_text: usize,
    pub page_ms: Vec<f64>,
    /// The pictures the pages served during the outage pointed at, fetched at once as a
    /// browser would: each a picture (`ok`), or broken (any other answer).
    pub pictures: Answers,
    /// Of those, the neutral placeholders answered for a picture the node serving it did not
    /// hold (a page from the other node, or from just before the outage).
    pub placeholders: usize,
    /// Pictures of pages seen before the outage, asked for during it.
    pub earlier_pictures: Answers,
    pub earlier_placeholders: usize,
    /// When the outage began and ended.
    pub from: Option<Instant>,
    pub until: Option<Instant>,
}

impl Seen {
    /// Page views per second during the outage.
    pub fn pages_per_second(&self) -> f64 {
        match (self.from, self.until) {
            (Some(from), Some(until)) if until > from => {
                self.pages.total() as f64 / (until - from).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Answers by status class.
#[derive(Debug, Default, Clone, Copy)]
pub struct Answers {
    pub ok: usize,
    /// 4xx: the shopper's own mistake or a business refusal (sold out, declined…).
    pub refused: usize,
    /// 503: a part of the shop is down and said so.
    pub unavailable: usize,
    /// 500: the shop failed (never the right answer to anything).
    pub internal: usize,
    /// 502, 504 and the rest of 5xx (a checkout whose gateway failed says so with 502).
    pub errors: usize,
}

impl Answers {
    fn add(&mut self, status: u16) {
        match status {
            200..=399 => self.ok += 1,
            400..=499 => self.refused += 1,
            503 => self.unavailable += 1,
            500 => self.internal += 1,
            _ => self.errors += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.ok + self.refused + self.unavailable + self.internal + self.errors
    }
}

/// Where the object store is in the run, as the shoppers' answers are filed under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Up,
    Out(Outage),
    BackAfterOutage,
}

impl Store {
    fn to_atomic(self) -> usize {
        match self {
            Self::Up => 0,
            Self::Out(Outage::BlackHoled) => 1,
            Self::Out(Outage::Killed) => 2,
            Self::BackAfterOutage => 3,
        }
    }

    fn from_atomic(value: usize) -> Self {
        match value {
            1 => Self::Out(Outage::BlackHoled),
            2 => Self::Out(Outage::Killed),
            3 => Self::BackAfterOutage,
            _ => Self::Up,
        }
    }
}

/// Shared between the workers and whoever disrupts the shop.
#[derive(Debug, Default)]
pub struct Traffic {
    stop: AtomicBool,
    /// A `Store`, as its number.
    store: AtomicUsize,
    tally: Mutex<Tally>,
    images: Mutex<Vec<String>>,
}

impl Traffic {
    pub fn store_out(&self, outage: Outage) {
        self.store
            .store(Store::Out(outage).to_atomic(), Ordering::SeqCst);
        self.record(|t, _| t.outages[outage as usize].from = Some(Instant::now()));
    }

    pub fn store_back(&self) {
        self.end_outage();
        self.store
            .store(Store::BackAfterOutage.to_atomic(), Ordering::SeqCst);
    }

    pub fn stop(&self) {
        self.end_outage();
        self.record(|t, _| t.ended = Some(Instant::now()));
        self.stop.store(true, Ordering::SeqCst);
    }

    fn end_outage(&self) {
        self.record(|t, store| {
            if let Store::Out(outage) = store {
                t.outages[outage as usize]
                    .until
                    .get_or_insert_with(Instant::now);
            }
        });
    }

    pub fn tally(&self) -> Tally {
        self.tally.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn record(&self, f: impl FnOnce(&mut Tally, Store)) {
        let store = Store::from_atomic(self.store.load(Ordering::SeqCst));
        if let Ok(mut t) = self.tally.lock() {
            f(&mut t, store);
        }
    }
}

/// What the shoppers browse and buy.
#[derive(Clone, Debug)]
pub struct Shelf {
    pub slugs: Vec<String>,
    pub skus: Vec<String>,
    pub words: Vec<String>,
}

/// Runs `workers` shoppers against `shop` until `traffic.stop()`.
pub fn start(
    shop: String,
    shelf: Shelf,
    workers: usize,
    traffic: Arc<Traffic>,
) -> tokio::task::JoinSet<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    traffic.record(|t, _| t.began = Some(Instant::now()));
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (http, shop, shelf, traffic) =
            (http.clone(), shop.clone(), shelf.clone(), traffic.clone());
        set.spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            let mut n = 0usize;
            while !traffic.stop.load(Ordering::SeqCst) {
                n += 1;
                let roll = rng.random_range(0..100);
                let result = if roll < 45 {
                    let slug = &shelf.slugs[rng.random_range(0..shelf.slugs.len())];
                    page(&http, &shop, slug, &traffic).await
                } else if roll < 70 {
                    image(&http, &shop, &mut rng, &traffic).await
                } else if roll < 85 {
                    let word = &shelf.words[rng.random_range(0..shelf.words.len())];
                    search(&http, &shop, word, &traffic).await
                } else {
                    let sku = &shelf.skus[rng.random_range(0..shelf.skus.len())];
                    buy(
                        &http,
                        &shop,
                        sku,
                        &format!("bg-{w}-{n}-{}", std::process::id()),
                        &traffic,
                    )
                    .await
                };
                if result.is_err() {
                    traffic.record(|t, _| t.unanswered += 1);
                }
            }
        });
    }
    set
}

async fn page(
    http: &reqwest::Client,
    shop: &str,
    slug: &str,
    traffic: &Traffic,
) -> anyhow::Result<()> {
    let sent = Instant::now();
    let response = resend(|| http.get(format!("{shop}/p/{slug}")).send()).await?;
    let status = response.status().as_u16();
    let html = response.text().await?;
    let ms = sent.elapsed().as_secs_f64() * 1000.0;
    let mut found: Vec<String> = html
        .match_indices("/assets/s/")
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            rest.find(".jpg").map(|end| rest[..end + 4].to_string())
        })
        .collect();
    found.sort();
    found.dedup();
    let mut outage = None;
    traffic.record(|t, store| match store {
        Store::Out(o) => {
            outage = Some(o);
            let seen = &mut t.outages[o as usize];
            seen.pages.add(status);
            seen.pages_without_text += usize::from(status == 200 && !html.contains("<h1"));
            seen.page_ms.push(ms);
        }
        Store::Up | Store::BackAfterOutage => {
            t.pages.add(status);
            t.page_ms.push(ms);
        }
    });
    // In an outage, every picture the page points at is loaded at once, as a browser would:
    // none may be broken.
    if let Some(o) = outage {
        for path in &found {
            let (status, placeholder) = picture(http, shop, path).await?;
            traffic.record(|t, _| {
                let seen = &mut t.outages[o as usize];
                seen.pictures.add(status);
                seen.placeholders += usize::from(placeholder);
            });
        }
    }
    if let Ok(mut images) = traffic.images.lock()
        && images.len() < 2_000
    {
        images.extend(found.into_iter().take(4));
    }
    Ok(())
}

/// Loads one picture: its status, and whether it is the placeholder a node answers for a
/// picture it neither reads from the store nor holds.
async fn picture(http: &reqwest::Client, shop: &str, path: &str) -> anyhow::Result<(u16, bool)> {
    let response = resend(|| http.get(format!("{shop}{path}")).send()).await?;
    let status = response.status().as_u16();
    let placeholder = response.headers().contains_key("x-emporium-placeholder");
    let _ = response.bytes().await?;
    Ok((status, placeholder))
}

async fn image(
    http: &reqwest::Client,
    shop: &str,
    rng: &mut StdRng,
    traffic: &Traffic,
) -> anyhow::Result<()> {
    let path = {
        let images = traffic
            .images
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        if images.is_empty() {
            return Ok(());
        }
        images[rng.random_range(0..images.len())].clone()
    };
    let (status, placeholder) = picture(http, shop, &path).await?;
    traffic.record(|t, store| match store {
        Store::Out(o) => {
            let seen = &mut t.outages[o as usize];
            seen.earlier_pictures.add(status);
            seen.earlier_placeholders += usize::from(placeholder);
        }
        Store::Up | Store::BackAfterOutage => {
            t.images.add(status);
            if store == Store::BackAfterOutage && status == 200 && !placeholder {
                t.images_after_outage += 1;
            }
        }
    });
    Ok(())
}

async fn search(
    http: &reqwest::Client,
    shop: &str,
    word: &str,
    traffic: &Traffic,
) -> anyhow::Result<()> {
    let response = resend(|| {
        http.get(format!("{shop}/api/v1/search"))
            .query(&[("q", word)])
            .send()
    })
    .await?;
    let status = response.status().as_u16();
    let _ = response.bytes().await?;
    traffic.record(|t, _| t.searches.add(status));
    Ok(())
}

/// A whole purchase: a cart, one line, a checkout (resent with its key if a node dies).
async fn buy(
    http: &reqwest::Client,
    shop: &str,
    sku: &str,
    key: &str,
    traffic: &Traffic,
) -> anyhow::Result<()> {
    let cart = crate::loadgen::new_cart(http, shop, sku).await?;
    let body = json!({
        "cart_id": cart,
        "email": "shopper@example.com",
        "shipping_address": { "name": "Shopper", "line1": "2 Side St", "city": "Springfield",
                              "region": "IL", "postal_code": "62701", "country": "US" },
        "payment": { "card_number": "4242424242424242" },
    });
    let response = resend(|| {
        http.post(format!("{shop}/api/v1/checkouts"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    })
    .await?;
    let status = response.status().as_u16();
    let _ = response.bytes().await?;
    traffic.record(|t, _| t.checkouts.add(status));
    Ok(())
}
