//! Assets: the upload pipeline against hostile and borderline files, the quality gate, the
//! per-seller layout and versions in a local-folder store, and the breaker against a store
//! that accepts connections and never answers. (The S3 path is tested against a real
//! S3-compatible server in the server's tests.)

use crate::images;

use crate::common::{eventually, imported_shop_with_assets};
use shop::assets::pipeline::{self, Refusal};
use shop::assets::{
    AssetError, AssetStore, Assets, ImageStatus, ImageVariant, StoreError, StoreLocation,
    StoreOptions, UploadRequest, object_key,
};
use shop::catalog::{ProductId, SellerId};
use shop::db::scratch::ScratchDb;
use shop::resilience::BreakerState;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The image pipeline alone: bytes in, variants or a refusal out, no database and no store.
/// (The PostgreSQL pass leaves these out: see `.config/nextest.toml`.)
mod pure {
    use crate::images;
    use shop::assets::ResolutionTier;
    use shop::assets::pipeline::{self, Refusal};

    fn refusal(bytes: &[u8]) -> Refusal {
        match pipeline::process(bytes) {
            Ok(p) => panic!("accepted: {:?}", p.quality),
            Err(e) => e,
        }
    }

    #[test]
    fn the_real_type_comes_from_the_magic_bytes() {
        assert!(matches!(refusal(b""), Refusal::Empty));
        let html = b"<!doctype html><html><body>not a photo</body></html>";
        assert!(
            matches!(refusal(html), Refusal::NotAnImage(_)),
            "an HTML page named .jpg"
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!";
        let e = refusal(gif);
        assert!(matches!(e, Refusal::NotAnImage(_)), "{e:?}");
        assert!(e.to_string().contains("JPEG, PNG or WebP"), "{e}");
        // PNG and WebP are taken as well as JPEG.
        let photo = images::photo(1200, 900);
        for format in [image::ImageFormat::Png, image::ImageFormat::WebP] {
            let processed = pipeline::process(&images::encode(&photo, format)).unwrap();
            assert!(processed.goes_live(), "{format:?}: {:?}", processed.quality);
        }
    }

    /// A decompression bomb is refused from its header, before any pixel is decoded: a file
    /// that declares the same size and holds no pixel data at all is refused the same way,
    /// while at a size the shop takes, that file's missing pixels make it unreadable (what a
    /// decoder says of it).
    #[test]
    fn bombs_truncated_and_huge_files_are_refused_before_harm() {
        let too_many = Refusal::TooManyPixels {
            width: 20_000,
            height: 20_000,
        };
        assert_eq!(
            refusal(&images::png_without_pixels(20_000)),
            too_many,
            "refused from the header alone, with no pixel data to decode"
        );
        let e = refusal(&images::png_without_pixels(1_000));
        assert!(
            matches!(e, Refusal::Unreadable(_)),
            "a header of a size the shop takes, and no pixels: {e:?}"
        );
        let e = refusal(&images::png_bomb(20_000));
        assert_eq!(e, too_many);
        assert!(e.to_string().contains("20000 × 20000"), "{e}");

        let whole = images::jpeg(&images::photo(1200, 900));
        let e = refusal(&whole[..whole.len() / 2]);
        assert!(
            matches!(e, Refusal::Unreadable(_)),
            "a truncated JPEG: {e:?}"
        );

        let mut huge = whole.clone();
        huge.resize(pipeline::MAX_BYTES + 1, 0);
        assert!(matches!(refusal(&huge), Refusal::TooLarge(_)));
    }

    #[test]
    fn metadata_is_stripped_by_re_encoding() {
        let photo = images::photo(1200, 900);
        let upload = images::jpeg_with_gps(&photo);
        assert!(
            upload.windows(4).any(|w| w == b"Exif"),
            "the fixture carries EXIF"
        );
        let processed = pipeline::process(&upload).unwrap();
        assert_eq!(processed.variants.len(), 3);
        for (variant, bytes) in &processed.variants {
            assert!(
                !bytes.windows(4).any(|w| w == b"Exif"),
                "{variant:?} keeps EXIF"
            );
            assert!(
                !bytes.windows(3).any(|w| w == b"GPS"),
                "{variant:?} keeps GPS"
            );
            let decoded = image::load_from_memory(bytes).unwrap();
            let expected = variant.size_for(1200, 900);
            assert_eq!((decoded.width(), decoded.height()), expected, "{variant:?}");
        }
    }

    #[test]
    fn the_quality_gate_passes_sharp_flags_blurred_and_grades_resolution() {
        let photo = images::photo(1600, 1200);
        let sharp = pipeline::process(&images::jpeg(&photo)).unwrap();
        assert!(sharp.goes_live(), "{:?}", sharp.quality);
        assert_eq!(sharp.quality.tier, ResolutionTier::Zoom);

        // A slightly blurred copy is accepted for review, with the reason.
        let soft = pipeline::process(&images::jpeg(&images::blurred(&photo, 1.5))).unwrap();
        assert!(!soft.goes_live());
        assert!(
            soft.quality.reasons.iter().any(|r| r.contains("blurred")),
            "{:?}",
            soft.quality
        );
        assert!(soft.quality.sharpness < sharp.quality.sharpness / 2.0);

        // A clearly blurred one is refused.
        let e = refusal(&images::jpeg(&images::blurred(&photo, 4.0)));
        assert!(matches!(e, Refusal::Blurred(_)), "{e:?}");

        // A 120 px image fails the zoom tier: held for review, saying why.
        let small = pipeline::process(&images::jpeg(&images::photo(120, 120))).unwrap();
        assert_eq!(small.quality.tier, ResolutionTier::Thumbnail);
        assert!(!small.goes_live());
        assert!(
            small.quality.reasons.iter().any(|r| r.contains("zoom")),
            "{:?}",
            small.quality
        );
        // Below 100 px on a side, or stretched past 4:1, it is refused.
        assert!(matches!(
            refusal(&images::jpeg(&images::photo(90, 90))),
            Refusal::TooSmall { .. }
        ));
        assert!(matches!(
            refusal(&images::jpeg(&images::photo(2000, 400))),
            Refusal::BadAspect(_)
        ));
        // A print-size original is graded so.
        let print = pipeline::process(&images::jpeg(&images::photo(2600, 1800))).unwrap();
        assert_eq!(print.quality.tier, ResolutionTier::Print);
    }

    #[test]
    fn demo_pictures_pass_the_gate_and_are_deterministic() {
        let a = shop::assets::art::png("Modern Sofa Bed", "furniture/sofas", "Sofas");
        let b = shop::assets::art::png("Modern Sofa Bed", "furniture/sofas", "Sofas");
        assert_eq!(pipeline::hex_sha256(&a), pipeline::hex_sha256(&b));
        for (title, category, class) in [
            ("Essence Mascara Lash Princess", "beauty", ""),
            ("Annibale Colombo Bed", "furniture/beds", "Beds"),
            ("1 x 2 Shelf", "furniture", "Bookcases"),
        ] {
            let p = pipeline::process(&shop::assets::art::png(title, category, class)).unwrap();
            assert!(p.goes_live(), "{title}: {:?}", p.quality);
        }
    }
}

struct Rig {
    scratch: ScratchDb,
    dir: tempfile::TempDir,
    assets: Assets,
    /// A product of seller `a`, and one of seller `b`.
    a: (SellerId, ProductId),
    b: (SellerId, ProductId),
}

async fn rig() -> Rig {
    let (scratch, assets, dir) = imported_shop_with_assets().await;
    let first = |sql: &'static str| {
        let db = scratch.db.clone();
        async move {
            let (p, s): (i64, i64) = sqlx::query_as(sql).fetch_one(db.pool()).await.unwrap();
            (SellerId::new(s), ProductId::new(p))
        }
    };
    let a = first("SELECT id, seller_id FROM products ORDER BY id LIMIT 1").await;
    let b = {
        let (p, s): (i64, i64) = sqlx::query_as(
            "SELECT id, seller_id FROM products WHERE seller_id <> $1 ORDER BY id LIMIT 1",
        )
        .bind(a.0.get())
        .fetch_one(scratch.db.pool())
        .await
        .unwrap();
        (SellerId::new(s), ProductId::new(p))
    };
    Rig {
        scratch,
        dir,
        assets,
        a,
        b,
    }
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn uploads_live_under_the_sellers_prefix_by_content_hash() {
    let r = rig().await;
    let (seller, product) = r.a;
    let bytes = images::jpeg(&images::photo(1600, 1200));
    let image = r
        .assets
        .upload(seller, product, bytes.clone(), UploadRequest::default())
        .await
        .unwrap();
    assert_eq!(image.status, ImageStatus::Live);
    assert_eq!(image.hash, pipeline::hex_sha256(&bytes));
    let files = files_under(r.dir.path());
    let prefix = format!("sellers/{}/images/{}/", seller.get(), image.hash);
    assert_eq!(
        files,
        ["card.jpg", "thumb.jpg", "zoom.jpg"]
            .map(|f| format!("{prefix}{f}"))
            .to_vec()
    );
    // The same bytes again: the same image, nothing new.
    let again = r
        .assets
        .upload(seller, product, bytes, UploadRequest::default())
        .await
        .unwrap();
    assert_eq!(again.id, image.id);
    assert_eq!(files_under(r.dir.path()).len(), 3);
    // Shoppers see it, and it is served.
    let shown = r.assets.pictures_for(&[product]).await.unwrap();
    assert_eq!(shown[&product].len(), 1);
    assert_eq!(
        shown[&product][0].base,
        format!("/assets/s/{}/{}", seller.get(), image.hash)
    );
    let card = r
        .assets
        .serve(seller, &image.hash, ImageVariant::Card)
        .await
        .unwrap();
    assert_eq!(image::load_from_memory(&card).unwrap().width(), 480);
}

#[tokio::test]
async fn no_seller_reaches_another_sellers_products_or_files() {
    let r = rig().await;
    let (a, a_product) = r.a;
    let (b, b_product) = r.b;
    let bytes = images::jpeg(&images::photo(1200, 900));
    // Seller b cannot upload to, list, remove or restore a's product.
    let e = r
        .assets
        .upload(b, a_product, bytes.clone(), UploadRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(e, AssetError::NotFound), "{e:?}");
    assert!(files_under(r.dir.path()).is_empty(), "nothing stored");
    let image = r
        .assets
        .upload(a, a_product, bytes.clone(), UploadRequest::default())
        .await
        .unwrap();
    assert!(matches!(
        r.assets.list(b, a_product).await.unwrap_err(),
        AssetError::NotFound
    ));
    assert!(matches!(
        r.assets.remove(b, a_product, image.id).await.unwrap_err(),
        AssetError::NotFound
    ));
    // Nor name a's image through its own product.
    assert!(matches!(
        r.assets.remove(b, b_product, image.id).await.unwrap_err(),
        AssetError::NotFound
    ));
    assert!(matches!(
        r.assets
            .upload(
                b,
                b_product,
                bytes.clone(),
                UploadRequest {
                    replaces: Some(image.id),
                    ..Default::default()
                }
            )
            .await
            .unwrap_err(),
        AssetError::NotFound
    ));
    // a's picture is not served under b's id, nor with a hash that is not one.
    assert!(matches!(
        r.assets.serve(b, &image.hash, ImageVariant::Card).await,
        Err(AssetError::NotFound)
    ));
    for hash in [
        "../../etc/passwd",
        "..%2F..%2Fsellers",
        &image.hash[..10],
        "",
    ] {
        assert!(matches!(
            r.assets.serve(a, hash, ImageVariant::Card).await,
            Err(AssetError::NotFound)
        ));
    }
    // The same bytes uploaded by b to its own product go under b's prefix, separately.
    let theirs = r
        .assets
        .upload(b, b_product, bytes, UploadRequest::default())
        .await
        .unwrap();
    assert_eq!(theirs.hash, image.hash);
    let files = files_under(r.dir.path());
    assert_eq!(files.len(), 6);
    assert!(
        files
            .iter()
            .all(|f| f.starts_with(&format!("sellers/{}/", a.get()))
                || f.starts_with(&format!("sellers/{}/", b.get())))
    );
    // Removing b's copy leaves a's shown.
    r.assets.remove(b, b_product, theirs.id).await.unwrap();
    assert!(
        r.assets
            .serve(a, &image.hash, ImageVariant::Card)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn replacing_and_removing_keep_every_version_restorable() {
    let r = rig().await;
    let (seller, product) = r.a;
    let v1 = r
        .assets
        .upload(
            seller,
            product,
            images::jpeg(&images::photo(1200, 900)),
            UploadRequest::default(),
        )
        .await
        .unwrap();
    let v2 = r
        .assets
        .upload(
            seller,
            product,
            images::jpeg(&images::photo(1300, 1000)),
            UploadRequest {
                replaces: Some(v1.id),
                alt: Some("The sofa, from the front".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(v2.status, ImageStatus::Live);
    assert_eq!(v2.replaces, Some(v1.id));
    assert_eq!(v2.position, v1.position, "the replacement takes its place");
    assert_eq!(v2.alt, "The sofa, from the front");
    let list = r.assets.list(seller, product).await.unwrap();
    assert_eq!(
        list.iter().find(|i| i.id == v1.id).unwrap().status,
        ImageStatus::Replaced
    );
    let shown = r.assets.pictures_for(&[product]).await.unwrap();
    assert_eq!(shown[&product].len(), 1);
    assert!(shown[&product][0].base.ends_with(&v2.hash));
    // The old version's bytes are still in the store, and restoring brings it back.
    let store = r.assets.store();
    assert!(
        store
            .exists(&object_key(seller, &v1.hash, ImageVariant::Zoom))
            .await
            .unwrap()
    );
    r.assets.restore(seller, product, v1.id).await.unwrap();
    assert_eq!(
        r.assets.pictures_for(&[product]).await.unwrap()[&product].len(),
        2
    );
    // Removing hides it from shoppers and from /assets, and keeps the bytes.
    r.assets.remove(seller, product, v2.id).await.unwrap();
    assert!(matches!(
        r.assets.serve(seller, &v2.hash, ImageVariant::Card).await,
        Err(AssetError::NotFound)
    ));
    assert!(
        store
            .exists(&object_key(seller, &v2.hash, ImageVariant::Card))
            .await
            .unwrap()
    );
    assert_eq!(files_under(r.dir.path()).len(), 6);
}

#[tokio::test]
async fn a_borderline_image_waits_for_review_before_shoppers_see_it() {
    let r = rig().await;
    let (seller, product) = r.a;
    let small = r
        .assets
        .upload(
            seller,
            product,
            images::jpeg(&images::photo(300, 300)),
            UploadRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(small.status, ImageStatus::NeedsReview);
    assert!(!small.quality.reasons.is_empty());
    assert!(r.assets.pictures_for(&[product]).await.unwrap().is_empty());
    assert!(matches!(
        r.assets
            .serve(seller, &small.hash, ImageVariant::Thumb)
            .await,
        Err(AssetError::NotFound)
    ));
    r.assets.approve(seller, product, small.id).await.unwrap();
    assert_eq!(
        r.assets.pictures_for(&[product]).await.unwrap()[&product].len(),
        1
    );
    assert!(
        r.assets
            .serve(seller, &small.hash, ImageVariant::Thumb)
            .await
            .is_ok()
    );
    // A refused upload stores nothing and records nothing.
    let e = r
        .assets
        .upload(
            seller,
            product,
            b"<html>".to_vec(),
            UploadRequest::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, AssetError::Refused(Refusal::NotAnImage(_))),
        "{e:?}"
    );
    assert_eq!(files_under(r.dir.path()).len(), 3);
    assert_eq!(r.assets.list(seller, product).await.unwrap().len(), 1);
    drop(r.scratch);
}

/// The store fails: the very first failed read switches the node's pages to the pictures it
/// holds a copy of (no second shopper is sent to a dead store), those keep loading, and a
/// page points only at the variants held.
#[tokio::test]
async fn a_failing_store_leaves_pages_the_pictures_this_node_holds() {
    let r = rig().await;
    let upload = |(seller, product): (SellerId, ProductId), seed: u32| {
        let assets = r.assets.clone();
        async move {
            let bytes = images::jpeg(&images::photo(1600 + seed, 1200));
            assets
                .upload(seller, product, bytes, UploadRequest::default())
                .await
                .unwrap()
        }
    };
    let seen = upload(r.a, 0).await;
    let unseen = upload(r.b, 1).await;
    let seen_card = r
        .assets
        .serve(r.a.0, &seen.hash, ImageVariant::Card)
        .await
        .unwrap();

    // A file where the store's folder was: every call fails (a missing folder would only
    // answer "no such object", which is the store working).
    let away = r.dir.path().with_extension("away");
    std::fs::rename(r.dir.path(), &away).unwrap();
    std::fs::write(r.dir.path(), "not a folder").unwrap();
    let failed = r
        .assets
        .serve(r.b.0, &unseen.hash, ImageVariant::Card)
        .await;
    assert!(
        matches!(failed, Err(AssetError::StoreUnavailable(_))),
        "{failed:?}"
    );
    assert!(
        !r.assets.serving(),
        "one failed read is enough: the next page must not point at the store"
    );

    let held = r
        .assets
        .serve(r.a.0, &seen.hash, ImageVariant::Card)
        .await
        .expect("a picture this node served loads from its own copy");
    assert_eq!(held, seen_card);
    assert!(
        r.assets
            .serve(r.a.0, &seen.hash, ImageVariant::Zoom)
            .await
            .is_err(),
        "a variant never served is not held"
    );
    let shown = r.assets.pictures_for(&[r.a.1, r.b.1]).await.unwrap();
    assert!(
        !shown.contains_key(&r.b.1),
        "a picture this node does not hold is left out: {shown:?}"
    );
    let picture = &shown[&r.a.1][0];
    assert_eq!(picture.held, Some(vec![ImageVariant::Card]));
    assert_eq!(
        picture.src(ImageVariant::Zoom),
        format!("{}/card.jpg", seen.picture.base),
        "the product page's large view points at the variant held"
    );
    std::fs::remove_file(r.dir.path()).unwrap();
    std::fs::rename(&away, r.dir.path()).unwrap();
}

/// A TCP server that accepts connections and never answers: the worst kind of failing
/// store, since nothing fails until a timeout says so. It counts the requests that reach it
/// (each on its own connection: without an answer, a client cannot send a second).
async fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                // Read the request's head, count it, then keep the connection open in silence
                // until the client gives up.
                while let Ok(n @ 1..) = socket.read(&mut buf).await {
                    head.extend_from_slice(&buf[..n]);
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        counted.fetch_add(1, Ordering::SeqCst);
                        while matches!(socket.read(&mut buf).await, Ok(1..)) {}
                        return;
                    }
                }
            });
        }
    });
    (url, requests)
}

/// Three probes that time out open the breaker; while it is open a call fails at once, and
/// no request reaches the store; once the cool-down is over, one probe goes out, fails, and
/// opens it again.
#[tokio::test]
async fn the_breaker_opens_on_a_silent_store_and_then_fails_fast() {
    let (url, requests) = black_hole().await;
    let reached = || requests.load(Ordering::SeqCst);
    let mut location = StoreLocation::parse("s3://pictures/shop", Some(url)).unwrap();
    if let StoreLocation::S3 { credentials, .. } = &mut location {
        *credentials = Some(shop::assets::S3Credentials {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            region: "us-east-1".into(),
        });
    }
    let timeout = Duration::from_millis(200);
    let store = AssetStore::open(
        &location,
        StoreOptions {
            failures_to_open: 3,
            // Long enough that the call right after the breaker opens finds it still open on
            // a busy machine; the test waits for the cool-down's end by polling the state.
            cool_down: Duration::from_secs(1),
            max_timeout: timeout,
            min_timeout: Duration::from_millis(50),
        },
    )
    .unwrap();
    assert!(store.serving());
    for n in 1..=3 {
        let e = store.probe().await.unwrap_err();
        assert!(
            matches!(e, StoreError::Timeout(t) if t == timeout),
            "the shop's own timeout ends a call the store never answers: {e:?}"
        );
        assert_eq!(
            store.state() == BreakerState::Open,
            n == 3,
            "after {n} failures"
        );
    }
    assert!(!store.serving(), "open after three failures");

    // Open: the call fails at once, and the store never hears of it.
    let e = store.probe().await;
    assert!(
        matches!(e, Err(StoreError::Open)),
        "open: the call fails at once, without asking the store: {e:?}"
    );
    eventually("the three probes' requests reach the store", async || {
        reached() >= 3
    })
    .await;
    assert_eq!(reached(), 3, "no request while the breaker is open");

    // After the cool-down one probe goes out; it fails, and the breaker opens again.
    eventually("the cool-down ends: the breaker is half-open", async || {
        store.state() == BreakerState::HalfOpen
    })
    .await;
    assert!(
        !store.serving(),
        "half-open: pages wait for the probe's answer"
    );
    assert!(matches!(store.probe().await, Err(StoreError::Timeout(_))));
    assert_eq!(store.state(), BreakerState::Open);
    eventually(
        "the half-open probe's request reaches the store",
        async || reached() >= 4,
    )
    .await;
    assert_eq!(reached(), 4, "one probe, one request");
    let m = store.metrics();
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(m.calls.load(Relaxed), 4);
    assert_eq!(m.opened.load(Relaxed), 2);
    assert_eq!(m.half_opened.load(Relaxed), 1);
    assert_eq!(m.rejected.load(Relaxed), 1);
}

#[tokio::test]
async fn the_demo_drawings_are_for_products_of_those_sources_that_have_no_picture() {
    let r = rig().await;
    let unpictured = |sources: &'static [&'static str]| {
        let assets = r.assets.clone();
        async move { assets.products_without_pictures(sources).await.unwrap() }
    };
    assert_eq!(unpictured(&["dummyjson"]).await.len(), 194);
    assert_eq!(
        unpictured(&["wands"]).await,
        vec![],
        "no product of another source"
    );

    let (seller, product) = r.a;
    let bytes = images::jpeg(&images::photo(1600, 1200));
    r.assets
        .upload(seller, product, bytes, UploadRequest::default())
        .await
        .unwrap();

    let left = unpictured(&["dummyjson"]).await;
    assert_eq!(left.len(), 193);
    assert!(
        left.iter().all(|u| u.product != product),
        "a product with a picture gets no drawing"
    );
}
