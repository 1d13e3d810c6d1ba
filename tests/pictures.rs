//! Pictures in the media library, against a real MariaDB and a temporary uploads folder: a
//! picture stored and entered as an attachment row for row as WooCommerce's import writes it
//! (`observed/i2`: the gallery of `Боди сзади.jpg` 900x1200 and `body-detail.jpg` 800x800);
//! pictures read, fetched from a server on 127.0.0.1 and found again by their bytes; new
//! products, existing products (`update_content = ["images"]`) and a 1C export's `Картинка`.

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
use woosync::media::store::{content_hash, store, Folder};
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
    let back = store(&jpeg(900, 1200), "Боди сзади.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
    let detail = store(&jpeg(800, 800), "body-detail.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
    // The same name in another month: the file is free there, the slug is not.
    let again = store(&jpeg(800, 800), "body-detail.jpg", &Folder::new(uploads.path(), "2026/11"), &sizes).unwrap();
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
    let kept = store(&jpeg(400, 300), "cup.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
    let id = pending::record(&mut shop.conn, "wp_", 7, 1, &kept.files).await.unwrap();
    let mut tx = shop.conn.start_transaction(TxOpts::default()).await.unwrap();
    let new = [NewAttachment { parent: product, stored: &kept, source: content_hash(b"cup.jpg") }];
    insert_attachments(&mut tx, "wp_", 1, "https://shop.example/wp-content/uploads", &new, "2026-12-01 10:00:00", "2026-12-01 07:00:00").await.unwrap();
    pending::settle(&mut tx, "wp_", id).await.unwrap();
    tx.commit().await.unwrap();
    // A chunk rolled back (or killed before its commit): its rows are not there, its files are.
    let lost = store(&jpeg(400, 300), "saucer.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
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
        folder: std::sync::Arc::new(Folder::new(uploads.path(), "2026/12")),
        sizes: registered_sizes(&HashMap::new()),
        fetcher: Fetcher::new(FetchOptions { allow_http: true, retries: 0, ..FetchOptions::default() }).unwrap(),
        max_bytes: 2 << 20,
        known: Default::default(),
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
    // A later run reads them from the database (within a run, a chunk's commit teaches them).
    let later = Library { known: Default::default(), folder: std::sync::Arc::new(Folder::new(uploads.path(), "2026/12")), fetcher: Fetcher::new(FetchOptions { allow_http: true, retries: 0, ..FetchOptions::default() }).unwrap(), ..library };
    let again = gather(&mut shop.conn, "wp_", &later, &wanted[..2]).await.unwrap();
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
    // One product a chunk: NEW-3 finds NEW-1's picture among those an earlier chunk committed.
    let extra = format!(
        "[wordpress]\nuploads_dir = \"{}\"\nuploads_url = \"https://shop.example/wp-content/uploads\"\nallow_http_images = true\n[sync]\nchunk_size = 1\nchunk_min = 1\nchunk_max = 1\n",
        uploads.path().display()
    );
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
    assert!(warning.contains(",images,") && warning.contains("line 3: picture ") && warning.contains("gone.jpg") && warning.contains("no such file"), "{warning}");
    assert!(!report.contains("s3cret"), "{report}");
    assert!(report.contains(&format!("create,NEW-2,{p2},product,images,,{base}/p/cap.png | {}/gone.jpg,", shop.dir.path().display())), "{report}");
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

/// `update_content = ["images"]`: existing products (made without pictures) take the feed's; the
/// same list again writes nothing; another picture is a new attachment and the old one stays; a
/// picture a person swapped in the admin is put back; a dry run stores nothing; a picture that
/// cannot be had leaves the record incomplete, so the next run tries again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_products_follow_the_feeds_pictures() {
    let mut shop = TestShop::new().await;
    for (name, (w, h)) in [("a.jpg", (800, 600)), ("b.jpg", (600, 800)), ("c.jpg", (700, 700)), ("d.jpg", (640, 480))] {
        std::fs::write(shop.dir.path().join(name), jpeg(w, h)).unwrap();
    }
    let uploads = tempfile::tempdir().unwrap();
    let wordpress = format!("[wordpress]\nuploads_dir = \"{}\"\nuploads_url = \"https://shop.example/wp-content/uploads\"\n", uploads.path().display());
    // Made without pictures, before the feed had any.
    let first = shop.settings("sku,name,regular_price,stock\nEX-1,Боди,100,5\nEX-2,Кепка,50,2\n", "");
    assert_eq!(shop.sync(&first).await.counts.created, 2);
    let (p1, p2) = (shop.id_of("EX-1").await.unwrap(), shop.id_of("EX-2").await.unwrap());
    let modified_before: String = shop.scalar(&format!("SELECT post_modified_gmt FROM wp_posts WHERE ID = {p1}")).await;
    let policy = format!("{wordpress}[sync]\nupdate_content = [\"images\"]\n");
    let feed = |one: &str, two: &str| format!("sku,name,regular_price,stock,images\nEX-1,Боди,100,5,{one}\nEX-2,Кепка,50,2,{two}\n");
    let files = |uploads: &tempfile::TempDir| walk(uploads.path()).len();

    // The feed's pictures go on.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let settings = shop.settings(&feed("a.jpg|b.jpg", "a.jpg"), &policy);
    let outcome = shop.sync(&settings).await;
    assert_eq!((outcome.counts.updated, outcome.counts.unchanged), (2, 0), "{:?}", outcome.counts);
    let a: u64 = shop.one(p1, "_thumbnail_id").await.unwrap().parse().unwrap();
    let b: u64 = shop.one(p1, "_product_image_gallery").await.unwrap().parse().unwrap();
    assert_eq!(attached(&mut shop, a).await.split('|').take(2).collect::<Vec<_>>(), ["a.jpg", &p1.to_string()]);
    assert_eq!(attached(&mut shop, b).await.split('|').next(), Some("b.jpg"));
    assert_eq!(shop.one(p2, "_thumbnail_id").await, Some(a.to_string()), "the same bytes are one attachment");
    assert_eq!(shop.one(p2, "_product_image_gallery").await, None, "no gallery row for none");
    assert!(shop.one(p1, "_woosync_images").await.unwrap().ends_with(&format!(" {a},{b}")));
    let modified_after: String = shop.scalar(&format!("SELECT post_modified_gmt FROM wp_posts WHERE ID = {p1}")).await;
    assert!(modified_after > modified_before, "the product is touched as a save touches it");
    let report = shop.report();
    let row = report.lines().find(|l| l.starts_with("update,EX-1,") && l.contains(",images,")).unwrap_or_else(|| panic!("{report}"));
    let d = shop.dir.path().display().to_string();
    assert!(row.ends_with(&format!(",images,,{d}/a.jpg | {d}/b.jpg,")), "{row}");
    let stored = files(&uploads);

    // The same list again: nothing read, nothing written.
    shop.second_run_writes_nothing(&settings, 2).await;
    assert_eq!(files(&uploads), stored);

    // Another picture in the gallery: a new attachment; b's stays for a person to delete.
    let settings = shop.settings(&feed("a.jpg|c.jpg", "a.jpg"), &policy);
    let outcome = shop.sync(&settings).await;
    assert_eq!((outcome.counts.updated, outcome.counts.unchanged), (1, 1), "{:?}", outcome.counts);
    let c: u64 = shop.one(p1, "_product_image_gallery").await.unwrap().parse().unwrap();
    assert!(c != b && attached(&mut shop, c).await.starts_with("c.jpg|"));
    assert_eq!(shop.one(p1, "_thumbnail_id").await, Some(a.to_string()));
    let attachments: u64 = shop.scalar("SELECT COUNT(*) FROM wp_posts WHERE post_type = 'attachment'").await;
    assert_eq!(attachments, 3, "b.jpg's attachment is left");
    let report = shop.report();
    assert!(report.contains(&format!(",images,\"attachments {a},{b}\",{d}/a.jpg | {d}/c.jpg,")), "{report}");

    // A person swaps EX-2's picture in the admin: the ERP owns it, so it is put back (no new file).
    shop.conn.query_drop(format!("UPDATE wp_postmeta SET meta_value = '{b}' WHERE post_id = {p2} AND meta_key = '_thumbnail_id'")).await.unwrap();
    let stored = files(&uploads);
    let outcome = shop.sync(&settings).await;
    assert_eq!(outcome.counts.updated, 1, "{:?}", outcome.counts);
    assert_eq!(shop.one(p2, "_thumbnail_id").await, Some(a.to_string()));
    assert_eq!(files(&uploads), stored);

    // A dry run says what would change and stores nothing.
    let settings = shop.settings(&feed("a.jpg|c.jpg", "d.jpg"), &policy);
    let before = shop.snapshot().await;
    let dry = shop.try_sync(&settings, true).await.unwrap();
    assert_eq!(dry.counts.updated, 1, "{:?}", dry.counts);
    assert!(shop.report().contains(&format!("update,EX-2,{p2},product,images,attachments {a},{d}/d.jpg,")), "{}", shop.report());
    assert_eq!(files(&uploads), stored);
    common::assert_same(&before, &shop.snapshot().await, "a dry run");

    // A picture that cannot be had: a warning; the others go on, and the next run tries again.
    let settings = shop.settings(&feed("missing.jpg|c.jpg", "a.jpg"), &policy);
    let outcome = shop.sync(&settings).await;
    assert_eq!((outcome.counts.updated, outcome.counts.warning), (1, 1), "{:?}", outcome.counts);
    assert_eq!(shop.one(p1, "_thumbnail_id").await, Some(c.to_string()));
    assert_eq!(shop.one(p1, "_product_image_gallery").await, Some(String::new()));
    assert!(shop.one(p1, "_woosync_images").await.unwrap().starts_with("- "));
    assert!(shop.report().lines().any(|l| l.starts_with("warning,EX-1,") && l.contains("missing.jpg")), "{}", shop.report());
    let again = shop.sync(&settings).await;
    assert_eq!(again.counts.updated, 1, "tried again: {:?}", again.counts);

    // A picture replaced under its name (other bytes, another size): a new attachment; the old stays.
    std::fs::write(shop.dir.path().join("a.jpg"), jpeg(820, 600)).unwrap();
    let settings = shop.settings(&feed("c.jpg", "a.jpg"), &policy);
    let outcome = shop.sync(&settings).await;
    assert_eq!(outcome.counts.updated, 2, "{:?}", outcome.counts);
    let replaced: u64 = shop.one(p2, "_thumbnail_id").await.unwrap().parse().unwrap();
    assert!(replaced != a && attached(&mut shop, replaced).await.starts_with("a-1.jpg|"), "{replaced}");
    let attachments: u64 = shop.scalar("SELECT COUNT(*) FROM wp_posts WHERE post_type = 'attachment'").await;
    assert_eq!(attachments, 4);
    shop.second_run_writes_nothing(&settings, 2).await;

    // `images` in update_content without [wordpress]: refused at config load.
    let config = shop.config("sku,regular_price\nEX-1,1\n", "[sync]\nupdate_content = [\"images\"]\n");
    let e = Settings::load_with(&config, None).unwrap_err().to_string();
    assert!(e.contains("update_content = [\"images\"] needs [wordpress] uploads_dir"), "{e}");
    shop.drop_db().await;
}

/// Every file under a folder.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A 1C export: every `Картинка` of a good, relative to `import.xml`'s folder; a good with
/// characteristics has them on its variable product, not on each variation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerceml_pictures_are_the_goods() {
    let mut shop = TestShop::new().await;
    let files = shop.dir.path().join("import_files/5a");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("body-front.jpg"), jpeg(800, 1000)).unwrap();
    std::fs::write(files.join("body-back.jpg"), jpeg(1000, 800)).unwrap();
    std::fs::write(files.join("cap.jpg"), jpeg(500, 500)).unwrap();
    let import = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07"><Каталог><Товары>
<Товар><Ид>g-body</Ид><Артикул>BODY-1C</Артикул><Наименование>Боди</Наименование><Картинка>import_files/5a/body-front.jpg</Картинка><Картинка>import_files/5a/body-back.jpg</Картинка></Товар>
<Товар><Ид>g-cap</Ид><Артикул>CAP-1</Артикул><Наименование>Шапка</Наименование><Картинка>import_files/5a/cap.jpg</Картинка></Товар>
</Товары></Каталог></КоммерческаяИнформация>"#;
    std::fs::write(shop.dir.path().join("import.xml"), import).unwrap();
    let offer = |id: &str, size: Option<&str>| {
        let chars = size.map(|s| format!("<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Размер</Наименование><Значение>{s}</Значение></ХарактеристикаТовара></ХарактеристикиТовара>")).unwrap_or_default();
        format!("<Предложение><Ид>{id}</Ид><Наименование>x</Наименование>{chars}<Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>100</ЦенаЗаЕдиницу></Цена></Цены><Количество>3</Количество></Предложение>")
    };
    let offers = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.07"><ПакетПредложений><ТипыЦен><ТипЦены><Ид>p</Ид><Наименование>Розничная</Наименование></ТипЦены></ТипыЦен><Предложения>{}{}{}</Предложения></ПакетПредложений></КоммерческаяИнформация>"#,
        offer("g-body#c42", Some("42")),
        offer("g-body#c44", Some("44")),
        offer("g-cap", None)
    );
    std::fs::write(shop.dir.path().join("offers.xml"), offers).unwrap();
    let uploads = tempfile::tempdir().unwrap();
    let source = "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\nimport_path = \"import.xml\"\n";
    let extra = format!(
        "[wordpress]\nuploads_dir = \"{}\"\nuploads_url = \"https://shop.example/wp-content/uploads\"\n[sync]\nvariation_sku = \"{{parent_sku}}-{{values}}\"\nupdate_content = [\"images\"]\n",
        uploads.path().display()
    );
    let settings = shop.settings_source(source, &extra);
    let out = shop.sync(&settings).await;
    assert_eq!((out.counts.created, out.counts.invalid), (3, 0), "{:?}\n{}", out.counts, shop.report());
    let (body, cap) = (shop.id_of("BODY-1C").await.unwrap(), shop.id_of("CAP-1").await.unwrap());
    let front: u64 = shop.one(body, "_thumbnail_id").await.unwrap().parse().unwrap();
    let back: u64 = shop.one(body, "_product_image_gallery").await.unwrap().parse().unwrap();
    assert!(attached(&mut shop, front).await.starts_with(&format!("body-front.jpg|{body}|")));
    assert!(attached(&mut shop, back).await.starts_with(&format!("body-back.jpg|{body}|")));
    let cap_thumb: u64 = shop.one(cap, "_thumbnail_id").await.unwrap().parse().unwrap();
    assert!(attached(&mut shop, cap_thumb).await.starts_with("cap.jpg|"));
    let report = shop.report();
    assert!(report.lines().any(|l| l.starts_with("create,BODY-1C,") && l.contains(",images,")), "{report}");
    assert!(!report.lines().any(|l| l.starts_with("create,BODY-1C-") && l.contains(",images,")), "{report}");
    for size in ["42", "44"] {
        let v = shop.id_of(&format!("BODY-1C-{size}")).await.unwrap();
        assert_eq!(shop.one(v, "_thumbnail_id").await, None, "a characteristic shows its good's pictures through its parent");
    }
    // Again: the variations are unchanged, the good's pictures are where they were.
    shop.second_run_writes_nothing(&settings, 3).await;
    shop.drop_db().await;
}
