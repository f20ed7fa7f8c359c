//! The seller portal's feeds: upload a CSV or JSON file of products, watch it being applied,
//! read its report row by row, and see each picture URL's fate (with "try again" for the
//! ones that failed). The upload is a plain multipart form to the JSON API, which answers it
//! with a redirect back here; pages refresh themselves while work is in progress.

use crate::error::AppError;
use crate::format::utc;
use crate::sellers::{SellerNav, sign_in_first};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use shop::feeds::{FeedView, FetchStatus};

#[server(prefix = "/rpc", endpoint = "seller/feeds")]
pub async fn load_feeds() -> Result<Vec<FeedView>, AppError> {
    let seller = crate::sellers::seller()?;
    let services = crate::services::services()?;
    Ok(services.feeds.list(seller, 30).await?)
}

#[server(prefix = "/rpc", endpoint = "seller/feed")]
pub async fn load_feed(id: String) -> Result<FeedView, AppError> {
    let seller = crate::sellers::seller()?;
    let services = crate::services::services()?;
    let id: i64 = id.parse().map_err(|_| shop::feeds::FeedError::NotFound)?;
    Ok(services.feeds.view(Some(seller), id).await?)
}

/// Puts a failed picture back in the queue (after the seller fixed their server or URL).
#[server(prefix = "/rpc", endpoint = "seller/fetch-retry")]
pub async fn retry_fetch(id: i64, feed: i64) -> Result<(), AppError> {
    let seller = crate::sellers::seller()?;
    let services = crate::services::services()?;
    services.feeds.retry(seller, id).await?;
    crate::session::redirect(&format!("/seller/feeds/{feed}?retried=1"));
    Ok(())
}

fn status_label(status: &str) -> &'static str {
    match status {
        "queued" => "waiting",
        "processing" => "being applied",
        "done" => "applied",
        _ => "refused",
    }
}

#[component]
pub fn SellerFeedsRoute() -> impl IntoView {
    let query = crate::route::query_map();
    let feeds = Resource::new(|| (), |_| load_feeds());
    let error = move || query.read().get("error");
    view! {
        <Title text="Feeds"/>
        <section class="portal">
            <h1>"Feeds"</h1>
            <SellerNav/>
            {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="feed-error">{e}</p> })}
            <p>"Upload a CSV or JSON file of products to create or update many at once. "
               "Rows are matched by your SKUs, so sending the same file again changes nothing. "
               "Pictures named by URL are fetched in the background."</p>
            <form method="post" enctype="multipart/form-data" action="/api/v1/seller/feeds?return_to=/seller/feeds" class="stacked-form">
                <label>"Feed file (CSV or JSON, up to 8 MB)"
                    <input type="file" name="feed" accept=".csv,.json,text/csv,application/json" required/>
                </label>
                <button type="submit">"Upload feed"</button>
            </form>
            <details>
                <summary>"Columns"</summary>
                <p><code>"product_key, sku, price"</code> " on every row; "
                   <code>"title, description, category"</code> " on a product's first row; "
                   <code>"brand, options, stock, image_urls"</code> " if you have them. "
                   "Rows with the same product_key are one product's variants. "
                   "A category is written as a path, such as " <code>"Furniture > Beds"</code> "; "
                   "options as " <code>"Size: Queen, Color: Blue"</code> "; "
                   "up to 8 picture URLs separated by spaces. JSON: an array of objects with the same keys."</p>
            </details>
            <h2>"Recent feeds"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match feeds.await {
                        Ok(feeds) if feeds.is_empty() => view! { <p class="muted">"No feeds yet."</p> }.into_any(),
                        Ok(feeds) => {
                            let busy = feeds.iter().any(FeedView::in_progress);
                            let rows: Vec<AnyView> = feeds.into_iter().map(|f| {
                                let href = format!("/seller/feeds/{}", f.id);
                                view! {
                                    <tr data-testid="feed-row">
                                        <td><a href=href>{f.file_name.clone()}</a></td>
                                        <td>{utc(f.created_at)}</td>
                                        <td data-testid="feed-status">{status_label(&f.status)}</td>
                                        <td>{format!("{} / {}", f.rows_done, f.rows_total)}</td>
                                        <td>{format!("{} new, {} changed, {} unchanged", f.created, f.updated, f.unchanged)}</td>
                                        <td>{f.errors.len()}</td>
                                    </tr>
                                }.into_any()
                            }).collect();
                            view! {
                                {busy.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
                                <table class="orders-table">
                                    <thead><tr><th>"File"</th><th>"Uploaded"</th><th>"Status"</th><th>"Rows"</th><th>"Products"</th><th>"Problems"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => sign_in_first(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn SellerFeedRoute() -> impl IntoView {
    let params = crate::route::params_map();
    let query = crate::route::query_map();
    let feed = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        load_feed,
    );
    let retried = move || query.read().get("retried").is_some();
    view! {
        <Title text="Feed report"/>
        <section class="portal">
            <h1>"Feed report"</h1>
            <SellerNav/>
            <Show when=retried>
                <p class="notice" role="status">"The picture is queued again."</p>
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match feed.await {
                        Ok(feed) => view! { <FeedReport feed/> }.into_any(),
                        Err(e) => sign_in_first(e),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn FeedReport(feed: FeedView) -> impl IntoView {
    let retry = ServerAction::<RetryFetch>::new();
    let busy = feed.in_progress() || feed.fetches.iter().any(|f| f.status == FetchStatus::Queued);
    let feed_id = feed.id.to_string();
    let issues: Vec<AnyView> = feed
        .errors
        .iter()
        .map(|e| {
            view! {
                <tr data-testid="feed-issue">
                    <td>{e.line}</td>
                    <td>{e.column.clone()}</td>
                    <td>{e.reason.clone()}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let pictures: Vec<AnyView> = feed
        .fetches
        .iter()
        .map(|f| {
            let product = format!("/seller/products/{}", f.product_id);
            let can_retry = matches!(f.status, FetchStatus::NeedsReview | FetchStatus::Refused);
            let (id, feed_id) = (f.id.to_string(), feed_id.clone());
            view! {
                <tr data-testid="feed-picture" data-status=f.status.as_str()>
                    <td><a href=product>{format!("#{}", f.product_id)}</a></td>
                    <td class="url">{f.url.clone()}</td>
                    <td>{f.status.label()}</td>
                    <td>{f.attempts}</td>
                    <td>{f.reason.clone().unwrap_or_default()}</td>
                    <td>{can_retry.then(move || view! {
                        <ActionForm action=retry>
                            <crate::accounts::CsrfField/>
                            <input type="hidden" name="id" value=id.clone()/>
                            <input type="hidden" name="feed" value=feed_id.clone()/>
                            <button type="submit" class="secondary">"Try again"</button>
                        </ActionForm>
                    })}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    let has_issues = !issues.is_empty();
    let has_pictures = !pictures.is_empty();
    view! {
        {busy.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
        <p>
            <strong>{feed.file_name.clone()}</strong> " (" {feed.format.to_uppercase()} "), uploaded "
            {utc(feed.created_at)} ": "
            <span data-testid="feed-status">{status_label(&feed.status)}</span>
        </p>
        <p>
            <progress max=feed.rows_total.max(1) value=feed.rows_done></progress>
            " " {format!("{} of {} rows", feed.rows_done, feed.rows_total)}
        </p>
        {feed.failure.clone().map(|f| view! { <p class="notice error" role="alert" data-testid="feed-failure">"The file was not applied: " {f}</p> })}
        <p data-testid="feed-counts">{format!(
            "{} new product(s), {} changed, {} unchanged; {} row(s) with problems.",
            feed.created, feed.updated, feed.unchanged, feed.errors.len()
        )}</p>
        {has_issues.then(|| view! {
            <h2>"Rows with problems"</h2>
            <p class="muted">"These rows were skipped; the others were applied. Fix them and upload the file again."</p>
            <table class="orders-table">
                <thead><tr><th>"Line"</th><th>"Column"</th><th>"Problem"</th></tr></thead>
                <tbody>{issues}</tbody>
            </table>
        })}
        {has_pictures.then(|| view! {
            <h2>"Pictures"</h2>
            <p class="muted">"Products are listed without pictures until theirs arrive."</p>
            <table class="orders-table">
                <thead><tr><th>"Product"</th><th>"URL"</th><th>"Status"</th><th>"Tries"</th><th>"Why"</th><th></th></tr></thead>
                <tbody>{pictures}</tbody>
            </table>
        })}
    }
}
