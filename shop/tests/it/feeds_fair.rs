//! The shared queues are fair: one seller's backlog, slow server or many feeds never holds
//! up another seller's work, a server is paced by its address whatever names point at it,
//! and a seller past their quota is refused with the limit, never silently dropped. Against
//! the real queue, by the order things are taken (direct calls, a manual clock; no timing).

use crate::feeds::{Rig, picture_server, rig};
use shop::catalog::{Catalog, SellerId};
use shop::clock::{Clock, ManualClock, SystemClock};
use shop::feeds::fetch::{Fetcher, Limits};
use shop::feeds::guard::Policy;
use shop::feeds::worker::{Pool, PoolConfig};
use shop::feeds::{Feeds, Job, QueueConfig};
use shop::{Failure, FailureKind};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The first `n` sellers of the demo shop, by id (the order the queue walks them in).
async fn sellers(rig: &Rig, n: i64) -> Vec<SellerId> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM sellers ORDER BY id LIMIT $1")
        .bind(n)
        .fetch_all(rig.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(ids.len() as i64, n, "the demo shop has {n} sellers");
    ids.into_iter().map(SellerId::new).collect()
}

async fn two_sellers(rig: &Rig) -> (SellerId, SellerId) {
    let sellers = sellers(rig, 2).await;
    (sellers[0], sellers[1])
}

/// A feed of one new product per URL, each with that picture.
fn picture_feed(rig: &Rig, tag: &str, urls: &[String]) -> String {
    let mut csv = String::from("product_key,sku,price,title,description,category,image_urls\n");
    for (n, url) in urls.iter().enumerate() {
        csv.push_str(&format!(
            "{tag}{n},{tag}-{n},5.00,Item {tag} {n},Item {n} of {tag},\"{}\",{url}\n",
            rig.category
        ));
    }
    csv
}

/// Queues `urls` as `seller`'s pictures (one feed, applied) and returns the seller's queued
/// fetches, oldest first.
async fn queue(rig: &Rig, seller: SellerId, tag: &str, urls: &[String]) -> Vec<i64> {
    let csv = picture_feed(rig, tag, urls);
    rig.feeds
        .submit(seller, &format!("{tag}.csv"), csv.as_bytes())
        .await
        .unwrap();
    while rig.feeds.process_next().await.unwrap() {}
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM image_fetches WHERE seller_id = $1 AND status = 'queued' ORDER BY id",
    )
    .bind(seller.get())
    .fetch_all(rig.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(ids.len(), urls.len(), "{tag}: every picture is queued");
    ids
}

fn urls(n: usize, url: impl Fn(usize) -> String) -> Vec<String> {
    (0..n).map(url).collect()
}

fn ids(jobs: &[Job]) -> Vec<i64> {
    jobs.iter().map(|j| j.id).collect()
}

#[tokio::test]
async fn a_seller_with_one_picture_is_served_in_the_first_round_behind_a_big_backlog() {
    let rig = rig().await;
    let (a, b) = two_sellers(&rig).await;
    // A queued a big backlog on one slow server first; B then queued two pictures.
    let a_line = queue(
        &rig,
        a,
        "BIG",
        &urls(40, |n| format!("http://slow.example/{n}.jpg")),
    )
    .await;
    let b_line = queue(
        &rig,
        b,
        "ONE",
        &urls(2, |n| format!("http://b.example/{n}.jpg")),
    )
    .await;

    let first = rig.feeds.take(4, &[]).await.unwrap();
    assert_eq!(
        ids(&first),
        [a_line[0], b_line[0]],
        "the first round serves each seller with due work: A's oldest picture and B's"
    );
    // A's server is busy (its fetches are all in flight): B's next picture does not wait
    // behind A's line.
    let second = rig.feeds.take(4, &["slow.example".into()]).await.unwrap();
    assert_eq!(
        ids(&second),
        [b_line[1]],
        "B is served while A's server is busy"
    );
    // A's line then moves on, oldest first.
    let third = rig.feeds.take(4, &[]).await.unwrap();
    assert_eq!(ids(&third), [a_line[1]]);
}

#[tokio::test]
async fn sellers_take_turns_and_each_sellers_pictures_go_oldest_first() {
    let rig = rig().await;
    let sellers = sellers(&rig, 3).await;
    let mut lines = HashMap::new();
    for (s, seller) in sellers.iter().enumerate() {
        // Every picture on a server of its own: only the turns decide the order.
        let line = urls(3, |n| format!("http://s{s}-{n}.example/p.jpg"));
        lines.insert(*seller, queue(&rig, *seller, &format!("T{s}"), &line).await);
    }
    let mut taken = Vec::new();
    for _ in 0..9 {
        let jobs = rig.feeds.take(1, &[]).await.unwrap();
        assert_eq!(jobs.len(), 1, "one picture per call while any is due");
        taken.push((jobs[0].seller, jobs[0].id));
    }
    let turns: Vec<SellerId> = taken.iter().map(|(seller, _)| *seller).collect();
    let round: Vec<SellerId> = sellers.iter().copied().cycle().take(9).collect();
    assert_eq!(turns, round, "the sellers take turns, one picture each");
    for seller in &sellers {
        let theirs: Vec<i64> = taken
            .iter()
            .filter(|(s, _)| s == seller)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(theirs, lines[seller], "a seller's pictures go oldest first");
    }
    assert!(rig.feeds.take(1, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn two_host_names_on_one_address_are_paced_as_one_server() {
    let rig = rig().await;
    let line = ["a.example", "b.example", "c.example"]
        .map(|host| format!("http://{host}/picture.jpg"))
        .to_vec();
    queue(&rig, rig.seller, "NAMES", &line).await;
    // a.example and b.example are one server; c.example is another.
    let one: IpAddr = [127, 0, 0, 1].into();
    let fetcher = Fetcher::new(
        Policy {
            allow_loopback: true,
            ..Policy::default()
        },
        Limits::default(),
    )
    .unwrap()
    .resolving("a.example", one)
    .resolving("b.example", one)
    .resolving("c.example", [127, 0, 0, 2].into());
    // One fetch at a time per server, and an hour between two: whatever the machine's
    // speed, a server asked once in this test is not asked again in it.
    let config = PoolConfig {
        workers: 8,
        per_host: 1,
        host_interval: Duration::from_secs(3600),
        poll: Duration::from_secs(1),
    };
    let pool = Pool::new(rig.feeds.clone(), fetcher.clone(), config);

    let started = pool.next(8).await.unwrap();
    let mut hosts: Vec<&str> = started.iter().map(|s| s.job.host.as_str()).collect();
    hosts.sort_unstable();
    assert_eq!(
        hosts.len(),
        2,
        "one of a.example and b.example starts (one server), with c.example: {hosts:?}"
    );
    assert_eq!(hosts[1], "c.example");
    let held_back = if hosts[0] == "a.example" {
        "b.example"
    } else {
        "a.example"
    };
    // The picture held back went back to the queue at once, not leased: another node, whose
    // pacing has not met this server, takes it now.
    let other = Pool::new(rig.feeds.clone(), fetcher, config);
    let taken = other.next(8).await.unwrap();
    let hosts: Vec<&str> = taken.iter().map(|s| s.job.host.as_str()).collect();
    assert_eq!(
        hosts,
        [held_back],
        "the picture held back is due again at once"
    );
}

#[tokio::test]
async fn a_fetch_connects_to_the_address_its_name_was_paced_by() {
    let server = picture_server().await;
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    // `pictures.example` is in no DNS (RFC 2606): only the fetcher's pin can take the
    // connection to the server.
    let here: IpAddr = [127, 0, 0, 1].into();
    let fetcher = Fetcher::new(
        Policy {
            allow_loopback: true,
            extra_ports: vec![port],
        },
        Limits::default(),
    )
    .unwrap()
    .resolving("pictures.example", here);
    let url = format!("http://pictures.example:{port}/good.jpg");
    assert_eq!(fetcher.address(&url).await.unwrap(), here);
    let picture = fetcher.fetch(&url).await;
    assert!(
        picture.as_ref().is_ok_and(|bytes| !bytes.is_empty()),
        "the connection goes to the address the pool paced by: {picture:?}"
    );
}

#[tokio::test]
async fn feeds_take_turns_between_sellers() {
    let rig = rig().await;
    let (a, b) = two_sellers(&rig).await;
    let clock = ManualClock::starting_at(SystemClock.now());
    let node = Feeds::new(
        rig.scratch.db.clone(),
        Catalog::new(rig.scratch.db.clone()),
        Arc::new(clock.clone()),
        QueueConfig::default(),
    );
    // A uploads three feeds, then B two.
    let mut seller_of = HashMap::new();
    for (seller, n) in [(a, 3), (b, 2)] {
        for i in 0..n {
            let id = node
                .submit(seller, &format!("{i}.csv"), b"product_key,sku,price\n")
                .await
                .unwrap();
            seller_of.insert(id, seller);
        }
    }
    while node.process_next().await.unwrap() {
        clock.advance(1000);
    }
    let finished: Vec<i64> = sqlx::query_scalar("SELECT id FROM feeds ORDER BY finished_at, id")
        .fetch_all(rig.scratch.db.pool())
        .await
        .unwrap();
    let turns: Vec<SellerId> = finished.iter().map(|id| seller_of[id]).collect();
    assert_eq!(turns, [a, b, a, b, a], "the sellers' feeds alternate");
}

#[tokio::test]
async fn a_seller_over_quota_is_refused_with_the_limit_and_other_sellers_are_not() {
    let rig = rig().await;
    let (a, b) = two_sellers(&rig).await;
    let node = Feeds::new(
        rig.scratch.db.clone(),
        Catalog::new(rig.scratch.db.clone()),
        Arc::new(SystemClock),
        QueueConfig {
            seller_pictures: 3,
            seller_feeds: 2,
            ..QueueConfig::default()
        },
    );
    let empty = b"product_key,sku,price\n";
    for n in 0..2 {
        node.submit(a, &format!("{n}.csv"), empty)
            .await
            .expect("two feeds may wait");
    }
    let refused = node
        .submit(a, "third.csv", empty)
        .await
        .expect_err("a third waiting feed is refused");
    assert_eq!(refused.kind(), FailureKind::Throttled, "{refused}");
    assert!(
        refused.public_message().contains("2 feeds"),
        "the refusal says the limit: {}",
        refused.public_message()
    );
    node.submit(b, "theirs.csv", empty)
        .await
        .expect("another seller's feed is not held back by A's quota");
    while node.process_next().await.unwrap() {}

    // Five pictures in one feed, room for three: three wait, two are reported on their rows.
    let line = urls(5, |n| format!("http://p{n}.example/p.jpg"));
    let id = node
        .submit(a, "pictures.csv", picture_feed(&rig, "Q", &line).as_bytes())
        .await
        .unwrap();
    while node.process_next().await.unwrap() {}
    let view = node.view(Some(a), id).await.unwrap();
    assert_eq!(
        view.created, 5,
        "every product is listed: {:?}",
        view.errors
    );
    assert_eq!(view.fetches.len(), 3, "{:?}", view.fetches);
    let left_out: Vec<_> = view
        .errors
        .iter()
        .filter(|e| e.column == "image_urls")
        .collect();
    assert_eq!(
        left_out.len(),
        2,
        "the two rows whose pictures found no room say so: {:?}",
        view.errors
    );
    assert!(
        left_out.iter().all(|e| e.reason.contains("3 pictures")),
        "{left_out:?}"
    );
    // While A's picture queue is full, A's next feed is refused, saying why.
    let full = node
        .submit(a, "more.csv", empty)
        .await
        .expect_err("a feed while the picture queue is full is refused");
    assert_eq!(full.kind(), FailureKind::Throttled, "{full}");
    assert!(
        full.public_message().contains("3 pictures"),
        "{}",
        full.public_message()
    );
}

#[tokio::test]
async fn a_retried_picture_counts_against_the_quota_like_a_fed_one() {
    let rig = rig().await;
    let (a, b) = two_sellers(&rig).await;
    let node = Feeds::new(
        rig.scratch.db.clone(),
        Catalog::new(rig.scratch.db.clone()),
        Arc::new(SystemClock),
        QueueConfig {
            seller_pictures: 2,
            ..QueueConfig::default()
        },
    );
    let set_status = |id: i64, status: &'static str| {
        let db = rig.scratch.db.clone();
        async move {
            sqlx::query("UPDATE image_fetches SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(id)
                .execute(db.pool())
                .await
                .unwrap();
        }
    };
    let first = node
        .submit(
            a,
            "first.csv",
            picture_feed(
                &rig,
                "R",
                &urls(2, |n| format!("http://r{n}.example/p.jpg")),
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    while node.process_next().await.unwrap() {}
    let fetches = node.view(Some(a), first).await.unwrap().fetches;
    assert_eq!(fetches.len(), 2, "{fetches:?}");
    let (failed, waiting) = (fetches[0].id, fetches[1].id);
    // One of them fails for good; another feed fills the freed place: the quota is full again.
    set_status(failed, "refused").await;
    node.submit(
        a,
        "second.csv",
        picture_feed(&rig, "S", &urls(1, |_| "http://s.example/p.jpg".into())).as_bytes(),
    )
    .await
    .unwrap();
    while node.process_next().await.unwrap() {}

    let full = node
        .retry(a, failed)
        .await
        .expect_err("a retry past the quota is refused");
    assert_eq!(full.kind(), FailureKind::Throttled, "{full}");
    assert!(
        full.public_message().contains("2 pictures"),
        "the refusal says the limit: {}",
        full.public_message()
    );
    let status: String = sqlx::query_scalar("SELECT status FROM image_fetches WHERE id = $1")
        .bind(failed)
        .fetch_one(rig.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(
        status, "refused",
        "the refused retry left the picture as it was"
    );
    let theirs = node
        .retry(b, failed)
        .await
        .expect_err("another seller cannot retry A's picture");
    assert_eq!(theirs.kind(), FailureKind::NotFound, "{theirs}");

    // A picture fetched frees a place, and the retry goes through.
    set_status(waiting, "stored").await;
    node.retry(a, failed)
        .await
        .expect("with room, the retry queues the picture");
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM image_fetches WHERE seller_id = $1 AND status = 'queued'",
    )
    .bind(a.get())
    .fetch_one(rig.scratch.db.pool())
    .await
    .unwrap();
    assert_eq!(queued, 2, "the quota holds after the retry");
}
