//! Pictures in the media library (issue 15, in progress): a picture stored under a temporary
//! uploads folder and entered as an attachment in a real MariaDB, row for row as WooCommerce's
//! import writes it (`observed/i2`: the gallery of `Боди сзади.jpg` 900x1200 and `body-detail.jpg`
//! 800x800).

mod common;

use std::collections::HashMap;

use common::TestShop;
use mysql_async::prelude::*;
use mysql_async::TxOpts;
use woosync::config::Settings;
use woosync::apply::media::{insert_attachments, NewAttachment, HASH_META, SOURCE_META};
use woosync::fixture::Spec;
use woosync::media::fetch::{FetchOptions, Fetcher};
use woosync::media::gather::{gather, Library, Ready, Wanted};
use woosync::media::pending;
use woosync::media::store::{content_hash, store};
use woosync::woo::media::registered_sizes;

/// `_wp_attachment_metadata` of attachments 25 and 26 as WordPress wrote them.
const OBSERVED_25: &str = r#"a:6:{s:5:"width";i:900;s:6:"height";i:1200;s:4:"file";s:31:"2026/12/Боди-сзади.jpg";s:8:"filesize";i:60413;s:5:"sizes";a:7:{s:6:"medium";a:5:{s:4:"file";s:31:"Боди-сзади-225x300.jpg";s:5:"width";i:225;s:6:"height";i:300;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:4364;}s:5:"large";a:5:{s:4:"file";s:32:"Боди-сзади-768x1024.jpg";s:5:"width";i:768;s:6:"height";i:1024;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:23940;}s:9:"thumbnail";a:5:{s:4:"file";s:31:"Боди-сзади-150x150.jpg";s:5:"width";i:150;s:6:"height";i:150;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:2257;}s:12:"medium_large";a:5:{s:4:"file";s:32:"Боди-сзади-768x1024.jpg";s:5:"width";i:768;s:6:"height";i:1024;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:23940;}s:21:"woocommerce_thumbnail";a:6:{s:4:"file";s:31:"Боди-сзади-300x300.jpg";s:5:"width";i:300;s:6:"height";i:300;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:4797;s:9:"uncropped";b:0;}s:18:"woocommerce_single";a:5:{s:4:"file";s:31:"Боди-сзади-600x800.jpg";s:5:"width";i:600;s:6:"height";i:800;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:15989;}s:29:"woocommerce_gallery_thumbnail";a:5:{s:4:"file";s:31:"Боди-сзади-100x100.jpg";s:5:"width";i:100;s:6:"height";i:100;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:1612;}}s:10:"image_meta";a:12:{s:8:"aperture";s:1:"0";s:6:"credit";s:0:"";s:6:"camera";s:0:"";s:7:"caption";s:0:"";s:17:"created_timestamp";s:1:"0";s:9:"copyright";s:0:"";s:12:"focal_length";s:1:"0";s:3:"iso";s:1:"0";s:13:"shutter_speed";s:1:"0";s:5:"title";s:0:"";s:11:"orientation";s:1:"0";s:8:"keywords";a:0:{}}}"#;
const OBSERVED_26: &str = r#"a:6:{s:5:"width";i:800;s:6:"height";i:800;s:4:"file";s:23:"2026/12/body-detail.jpg";s:8:"filesize";i:42959;s:5:"sizes";a:6:{s:6:"medium";a:5:{s:4:"file";s:23:"body-detail-300x300.jpg";s:5:"width";i:300;s:6:"height";i:300;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:5062;}s:9:"thumbnail";a:5:{s:4:"file";s:23:"body-detail-150x150.jpg";s:5:"width";i:150;s:6:"height";i:150;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:2310;}s:12:"medium_large";a:5:{s:4:"file";s:23:"body-detail-768x768.jpg";s:5:"width";i:768;s:6:"height";i:768;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:19938;}s:21:"woocommerce_thumbnail";a:6:{s:4:"file";s:23:"body-detail-300x300.jpg";s:5:"width";i:300;s:6:"height";i:300;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:5062;s:9:"uncropped";b:0;}s:18:"woocommerce_single";a:5:{s:4:"file";s:23:"body-detail-600x600.jpg";s:5:"width";i:600;s:6:"height";i:600;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:13980;}s:29:"woocommerce_gallery_thumbnail";a:5:{s:4:"file";s:23:"body-detail-100x100.jpg";s:5:"width";i:100;s:6:"height";i:100;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:1593;}}s:10:"image_meta";a:12:{s:8:"aperture";s:1:"0";s:6:"credit";s:0:"";s:6:"camera";s:0:"";s:7:"caption";s:0:"";s:17:"created_timestamp";s:1:"0";s:9:"copyright";s:0:"";s:12:"focal_length";s:1:"0";s:3:"iso";s:1:"0";s:13:"shutter_speed";s:1:"0";s:5:"title";s:0:"";s:11:"orientation";s:1:"0";s:8:"keywords";a:0:{}}}"#;

/// The row with every `filesize` number blanked: byte sizes are the encoder's own.
fn without_sizes(row: &str) -> String {
    let mut out = String::new();
    let mut rest = row;
    while let Some(at) = rest.find(r#"s:8:"filesize";i:"#) {
        let start = at + r#"s:8:"filesize";i:"#.len();
        out.push_str(&rest[..start]);
        out.push('#');
        rest = rest[start..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x / 7 % 256) as u8, (y / 5 % 256) as u8, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out
}

#[tokio::test]
async fn attachments_are_written_as_woocommerce_writes_them() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("BODY-1", "100", 5)]).await;
    let product = ids[0];
    let uploads = tempfile::tempdir().unwrap();
    let sizes = registered_sizes(&HashMap::new());
    let back = store(&jpeg(900, 1200), "Боди сзади.jpg", uploads.path(), "2026/12", &sizes).unwrap();
    let detail = store(&jpeg(800, 800), "body-detail.jpg", uploads.path(), "2026/12", &sizes).unwrap();
    // The same name in another month: the file is free there, the slug is not.
    let again = store(&jpeg(800, 800), "body-detail.jpg", uploads.path(), "2026/11", &sizes).unwrap();
    assert_eq!(without_sizes(&back.metadata()), without_sizes(OBSERVED_25));
    assert_eq!(without_sizes(&detail.metadata()), without_sizes(OBSERVED_26));

    let url = "http://127.0.0.1:8089/wp-content/uploads";
    let source = |s: &str| content_hash(s.as_bytes());
    let new = [
        NewAttachment { parent: product, stored: &back, source: source("/erp/pictures/Боди сзади.jpg") },
        NewAttachment { parent: product, stored: &detail, source: source("https://erp.example/p/detail.jpg?token=x") },
        NewAttachment { parent: product, stored: &again, source: source("/erp/pictures/body-detail.jpg") },
    ];
    let mut tx = shop.conn.start_transaction(TxOpts::default()).await.unwrap();
    let ids = insert_attachments(&mut tx, "wp_", 1, url, &new, "2026-12-01 23:35:42", "2026-12-01 20:35:42").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ids.len(), 3);

    let rows: Vec<String> = shop
        .conn
        .query(format!(
            "SELECT CONCAT_WS('|', post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, \
             post_parent, post_name, guid, post_type, post_mime_type, post_modified, post_modified_gmt, menu_order, comment_count) FROM wp_posts WHERE ID IN ({}, {}, {}) ORDER BY ID",
            ids[0], ids[1], ids[2]
        ))
        .await
        .unwrap();
    let expect = |title: &str, name: &str, guid: &str| -> String {
        format!("1|2026-12-01 23:35:42|2026-12-01 20:35:42||{title}||inherit|open|closed|{product}|{name}|{url}/{guid}|attachment|image/jpeg|2026-12-01 23:35:42|2026-12-01 20:35:42|0|0")
    };
    assert_eq!(rows[0], expect("Боди-сзади.jpg", "%d0%b1%d0%be%d0%b4%d0%b8-%d1%81%d0%b7%d0%b0%d0%b4%d0%b8-jpg", "2026/12/Боди-сзади.jpg"));
    assert_eq!(rows[1], expect("body-detail.jpg", "body-detail-jpg", "2026/12/body-detail.jpg"));
    assert_eq!(rows[2], expect("body-detail.jpg", "body-detail-jpg-2", "2026/11/body-detail.jpg"));

    // Meta: WordPress's two rows, then woosync's.
    let meta: Vec<(String, String)> = shop.conn.query(format!("SELECT meta_key, meta_value FROM wp_postmeta WHERE post_id = {} ORDER BY meta_id", ids[0])).await.unwrap();
    assert_eq!(
        meta,
        [
            ("_wp_attached_file".to_string(), "2026/12/Боди-сзади.jpg".to_string()),
            ("_wp_attachment_metadata".into(), back.metadata()),
            (HASH_META.into(), back.hash.clone()),
            (SOURCE_META.into(), source("/erp/pictures/Боди сзади.jpg")),
        ]
    );
    assert_eq!(shop.one(ids[1], "_wp_attached_file").await.as_deref(), Some("2026/12/body-detail.jpg"));
    // Every file the metadata names is there, at its size.
    for (copy, bytes) in &back.copies {
        let path = uploads.path().join("2026/12").join(&copy.file);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), *bytes, "{}", copy.file);
    }
    shop.drop_db().await;
}

#[tokio::test]
async fn files_of_a_chunk_that_never_committed_are_removed_by_the_next_run() {
    let mut shop = TestShop::new().await;
    woosync::journal::ensure_tables(&mut shop.conn, "wp_").await.unwrap();
    let product = shop.insert(&[Spec::simple("CUP-1", "100", 5)]).await[0];
    let uploads = tempfile::tempdir().unwrap();
    let sizes = registered_sizes(&HashMap::new());
    // A chunk that committed: its files stay.
    let kept = store(&jpeg(400, 300), "cup.jpg", uploads.path(), "2026/12", &sizes).unwrap();
    let id = pending::record(&mut shop.conn, "wp_", 7, 1, &kept.files).await.unwrap();
    let mut tx = shop.conn.start_transaction(TxOpts::default()).await.unwrap();
    let new = [NewAttachment { parent: product, stored: &kept, source: content_hash(b"cup.jpg") }];
    insert_attachments(&mut tx, "wp_", 1, "https://shop.example/wp-content/uploads", &new, "2026-12-01 10:00:00", "2026-12-01 07:00:00").await.unwrap();
    pending::settle(&mut tx, "wp_", id).await.unwrap();
    tx.commit().await.unwrap();
    // A chunk rolled back (or killed before its commit): its rows are not there, its files are.
    let lost = store(&jpeg(400, 300), "saucer.jpg", uploads.path(), "2026/12", &sizes).unwrap();
    let id = pending::record(&mut shop.conn, "wp_", 7, 2, &lost.files).await.unwrap();
    let mut tx = shop.conn.start_transaction(TxOpts::default()).await.unwrap();
    let new = [NewAttachment { parent: product, stored: &lost, source: content_hash(b"saucer.jpg") }];
    insert_attachments(&mut tx, "wp_", 1, "https://shop.example/wp-content/uploads", &new, "2026-12-01 10:00:00", "2026-12-01 07:00:00").await.unwrap();
    pending::settle(&mut tx, "wp_", id).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(lost.files.iter().all(|f| f.exists()) && lost.files.len() > 1);

    let removed = pending::clean(&mut shop.conn, "wp_").await.unwrap();
    assert_eq!(removed, lost.files.len());
    assert!(lost.files.iter().all(|f| !f.exists()), "the files without rows are gone");
    assert!(kept.files.iter().all(|f| f.exists()), "the committed chunk's files stay");
    let left: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_media_pending").await;
    assert_eq!(left, 0);
    let attachments: u64 = shop.scalar("SELECT COUNT(*) FROM {p}posts WHERE post_type = 'attachment'").await;
    assert_eq!(attachments, 1);
    assert_eq!(pending::clean(&mut shop.conn, "wp_").await.unwrap(), 0, "nothing more to do");
    shop.drop_db().await;
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, 40, (y % 256) as u8]));
    let mut out = Vec::new();
    image::ImageEncoder::write_image(image::codecs::png::PngEncoder::new(&mut out), img.as_raw(), w, h, image::ExtendedColorType::Rgb8).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_are_read_fetched_and_stored_once_by_their_bytes() {
    use axum::http::{header, StatusCode};
    use axum::routing::get;
    let mut shop = TestShop::new().await;
    woosync::journal::ensure_tables(&mut shop.conn, "wp_").await.unwrap();
    let product = shop.insert(&[Spec::simple("CUP-1", "100", 5)]).await[0];
    let base = common::listen(
        axum::Router::new()
            .route("/pics/%D0%BA%D1%80%D1%83%D0%B6%D0%BA%D0%B0.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], png(320, 240)) }))
            .route("/missing.jpg", get(|| async { StatusCode::NOT_FOUND }))
            .route("/page.jpg", get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html>login</html>") })),
    )
    .await;
    let erp = tempfile::tempdir().unwrap();
    let front = erp.path().join("cup front.jpg");
    std::fs::write(&front, jpeg(640, 480)).unwrap();
    let copy = erp.path().join("other/cup.jpg");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&front, &copy).unwrap();
    let text = erp.path().join("notes.jpg");
    std::fs::write(&text, "not a picture at all").unwrap();
    let uploads = tempfile::tempdir().unwrap();
    let library = Library {
        uploads_dir: uploads.path().to_path_buf(),
        month: "2026/12".into(),
        sizes: registered_sizes(&HashMap::new()),
        fetcher: Fetcher::new(FetchOptions { allow_http: true, retries: 0, ..FetchOptions::default() }).unwrap(),
        max_bytes: 2 << 20,
    };
    let wanted: Vec<Wanted> = [
        front.display().to_string(),
        format!("{base}/pics/%D0%BA%D1%80%D1%83%D0%B6%D0%BA%D0%B0.png?token=s3cret"),
        erp.path().join("gone.jpg").display().to_string(),
        format!("{base}/missing.jpg"),
        format!("{base}/page.jpg"),
        copy.display().to_string(),
        text.display().to_string(),
    ]
    .into_iter()
    .map(|source| Wanted { source })
    .collect();
    let ready = gather(&mut shop.conn, "wp_", &library, &wanted).await.unwrap();
    let Ok(Ready::New(a)) = &ready[0] else { panic!("{:?}", ready[0]) };
    assert_eq!(a.file, "2026/12/cup-front.jpg");
    let Ok(Ready::New(b)) = &ready[1] else { panic!("{:?}", ready[1]) };
    assert_eq!((b.file.as_str(), b.mime), ("2026/12/кружка.png", "image/png"), "a URL's file keeps its decoded name");
    assert!(matches!(&ready[2], Err(e) if e.ends_with("gone.jpg: no such file")), "{:?}", ready[2]);
    assert!(matches!(&ready[3], Err(e) if e.contains("/missing.jpg: HTTP 404")), "{:?}", ready[3]);
    assert!(matches!(&ready[4], Err(e) if e.contains("not a picture")), "{:?}", ready[4]);
    assert!(matches!(ready[5], Ok(Ready::SameAs(0))), "the same bytes elsewhere are the same picture: {:?}", ready[5]);
    assert!(matches!(&ready[6], Err(e) if e.contains("notes.jpg") && e.contains("not a JPEG or PNG")), "{:?}", ready[6]);
    assert!(ready.iter().all(|r| !format!("{r:?}").contains("s3cret")), "no token in what is shown");
    assert_eq!(wanted[1].shown(), format!("{base}/pics/%D0%BA%D1%80%D1%83%D0%B6%D0%BA%D0%B0.png"));

    // Entered in the media library, the same pictures are found again by their bytes.
    let new = [
        NewAttachment { parent: product, stored: a, source: wanted[0].source_hash() },
        NewAttachment { parent: product, stored: b, source: wanted[1].source_hash() },
    ];
    let mut tx = shop.conn.start_transaction(TxOpts::default()).await.unwrap();
    let ids = insert_attachments(&mut tx, "wp_", 1, "https://shop.example/wp-content/uploads", &new, "2026-12-01 10:00:00", "2026-12-01 07:00:00").await.unwrap();
    tx.commit().await.unwrap();
    let again = gather(&mut shop.conn, "wp_", &library, &wanted[..2]).await.unwrap();
    assert!(matches!(again[0], Ok(Ready::Existing(id)) if id == ids[0]), "{:?}", again[0]);
    assert!(matches!(again[1], Ok(Ready::Existing(id)) if id == ids[1]), "{:?}", again[1]);
    let files = std::fs::read_dir(uploads.path().join("2026/12")).unwrap().count();
    assert_eq!(files, a.files.len() + b.files.len(), "nothing stored twice");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_products_get_their_pictures_from_the_feed() {
    use axum::http::header;
    use axum::routing::get;
    let mut shop = TestShop::new().await;
    let base = common::listen(axum::Router::new().route("/p/cap.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], png(400, 400)) }))).await;
    // Pictures beside the feed, named relative to it.
    std::fs::write(shop.dir.path().join("front.jpg"), jpeg(900, 600)).unwrap();
    std::fs::write(shop.dir.path().join("back.jpg"), jpeg(600, 900)).unwrap();
    let uploads = tempfile::tempdir().unwrap();
    let feed = format!(
        "sku,name,regular_price,stock,images\n\
         NEW-1,Боди,100,5,front.jpg|back.jpg\n\
         NEW-2,Кепка,50,2,{base}/p/cap.png?key=s3cret|gone.jpg\n\
         NEW-3,Боди 2,110,1,front.jpg\n\
         NEW-4,Без фото,10,1,\n"
    );
    let extra = format!("[wordpress]\nuploads_dir = \"{}\"\nuploads_url = \"https://shop.example/wp-content/uploads\"\nallow_http_images = true\n", uploads.path().display());
    let config = shop.config(&feed, &extra);
    let settings = Settings::load_with(&config, None).unwrap();
    let outcome = shop.sync(&settings).await;
    assert_eq!(outcome.counts.created, 4, "{:?}", outcome.counts);
    let (p1, p2, p3, p4) = (shop.id_of("NEW-1").await.unwrap(), shop.id_of("NEW-2").await.unwrap(), shop.id_of("NEW-3").await.unwrap(), shop.id_of("NEW-4").await.unwrap());
    let thumb1: u64 = shop.one(p1, "_thumbnail_id").await.unwrap().parse().unwrap();
    let gallery1: u64 = shop.one(p1, "_product_image_gallery").await.unwrap().parse().unwrap();
    // The shop's current month.
    let month = shop.one(thumb1, "_wp_attached_file").await.unwrap().rsplit_once('/').unwrap().0.to_string();
    assert_eq!(month.len(), 7, "{month}");
    assert_eq!(attached(&mut shop, thumb1).await, format!("front.jpg|{p1}|attachment|https://shop.example/wp-content/uploads/{month}/front.jpg"));
    assert_eq!(attached(&mut shop, gallery1).await, format!("back.jpg|{p1}|attachment|https://shop.example/wp-content/uploads/{month}/back.jpg"));
    // The keys where WooCommerce's data store writes them.
    let keys: Vec<String> = shop.conn.query(format!("SELECT meta_key FROM wp_postmeta WHERE post_id = {p1} ORDER BY meta_id")).await.unwrap();
    let at = |k: &str| keys.iter().position(|x| x == k).unwrap_or_else(|| panic!("{k} in {keys:?}"));
    assert!(at("_downloadable") + 1 == at("_product_image_gallery") && at("_download_expiry") + 1 == at("_thumbnail_id") && at("_thumbnail_id") + 1 == at("_stock"), "{keys:?}");
    // A URL's picture; a picture that cannot be had is a warning, the product is created.
    let thumb2: u64 = shop.one(p2, "_thumbnail_id").await.unwrap().parse().unwrap();
    assert_eq!(attached(&mut shop, thumb2).await, format!("cap.png|{p2}|attachment|https://shop.example/wp-content/uploads/{month}/cap.png"));
    assert_eq!(shop.one(p2, "_product_image_gallery").await, None);
    let report = shop.report();
    let warning = report.lines().find(|l| l.starts_with("warning,NEW-2,")).unwrap_or_else(|| panic!("{report}"));
    assert!(warning.contains(",images,") && warning.contains("gone.jpg") && warning.contains("no such file"), "{warning}");
    assert!(!report.contains("s3cret"), "{report}");
    // The same picture for another product is the same attachment; no pictures, no keys.
    assert_eq!(shop.one(p3, "_thumbnail_id").await, Some(thumb1.to_string()));
    assert_eq!((shop.one(p4, "_thumbnail_id").await, shop.one(p4, "_product_image_gallery").await), (None, None));
    let attachments: u64 = shop.scalar("SELECT COUNT(*) FROM {p}posts WHERE post_type = 'attachment'").await;
    assert_eq!(attachments, 3);
    let pending: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_media_pending").await;
    assert_eq!(pending, 0);
    let files = std::fs::read_dir(uploads.path().join(&month)).unwrap().count();
    // Each picture and its sized copies: 900x600 (7 files), 600x900 (5), 400x400 (4: its 300x300
    // medium and WooCommerce thumbnail are one file).
    assert_eq!(files, 16);

    // `check` finds the uploads folder writable.
    let checks = woosync::check::run(&settings).await;
    let uploads_check = checks.iter().find(|c| c.name == "uploads").unwrap();
    assert!(uploads_check.ok && uploads_check.detail.contains("is writable"), "{}", uploads_check.line());

    // The same feed again: nothing is stored or written twice.
    let before = shop.snapshot().await;
    let again = shop.sync(&settings).await;
    assert_eq!((again.counts.created, again.counts.updated), (0, 0), "{:?}", again.counts);
    assert_eq!(std::fs::read_dir(uploads.path().join(&month)).unwrap().count(), files);
    common::assert_same(&before, &shop.snapshot().await, "a second run");

    // `images` named without [wordpress]: refused at config load.
    let config = shop.config_source("[source]\ntype = \"csv\"\npath = \"feed.csv\"\n[source.columns]\nimages = \"Фото\"\n", "");
    let e = Settings::load_with(&config, None).unwrap_err().to_string();
    assert!(e.contains("images needs [wordpress] uploads_dir"), "{e}");
    shop.drop_db().await;
}

/// An attachment's title, parent, type and guid.
async fn attached(shop: &mut TestShop, id: u64) -> String {
    shop.scalar(&format!("SELECT CONCAT_WS('|', post_title, post_parent, post_type, guid) FROM wp_posts WHERE ID = {id}")).await
}
