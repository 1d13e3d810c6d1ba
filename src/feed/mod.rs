//! `woosync feed`: the marketplace feeds (Yandex Market, Ozon, Megamarket YML) written from the
//! shop's database. Under the shop's run lock, in one consistent snapshot, the published
//! products stream by ID ([`read`]); each becomes a card and, per feed, an offer on that feed's
//! terms ([`offer`]), written as it comes ([`yml`]) into a temporary file that replaces the feed
//! only when complete and well formed ([`output`]). Offers that left a feed are listed once more
//! with zero stock; a feed much smaller than the last one is refused like the sync guard refuses.

pub mod offer;
pub mod output;
pub mod read;
pub mod text;
pub mod yml;

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;
use std::time::Instant;

use mysql_async::prelude::*;

use crate::catalog::{self, Shop};
use crate::config::{FeedFile, Settings};
use crate::error::{Error, Result};
use crate::journal::{self, FeedRecord};

use offer::{Candidate, Left, Selector, Skip};
use output::{Sink, Staged, StateWriter};
use yml::{Header, Yml};

/// What `woosync feed` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedOptions<'a> {
    /// Only the feed with this name.
    pub name: Option<&'a str>,
    /// Build and check every feed, replace none.
    pub dry_run: bool,
    /// Write a feed the size guard would refuse.
    pub force: bool,
    /// Only the feeds whose file is missing.
    pub missing_only: bool,
    /// Products a database read takes (default [`read::BATCH`]); tests make it small.
    pub batch: Option<usize>,
    /// After a sync: the posts it changed. When every feed's last file and state were written
    /// under the same settings, only these offers are read again and the rest copied.
    pub changed: Option<&'a [u64]>,
    /// Read on one connection even where two could share the snapshot (tests compare the two).
    pub one_connection: bool,
    /// Read every attachment's file at once up to this many attachments (default
    /// [`read::FILES_AT_ONCE`]); tests make it 0 to read them batch by batch.
    pub files_at_once: Option<u64>,
}

/// A feed written (or, in a dry run, built).
#[derive(Debug, Clone)]
pub struct Written {
    pub name: String,
    pub path: PathBuf,
    /// Live offers.
    pub offers: usize,
    /// Offers that left the feed, listed once more with zero stock.
    pub farewells: usize,
    /// Candidates this feed left out, by reason.
    pub left: BTreeMap<&'static str, usize>,
    pub bytes: u64,
    pub millis: u64,
    /// Characters windows-1251 could not hold.
    pub replaced: usize,
    pub dry_run: bool,
    /// Only the changed offers were read again; the others were copied from the last feed.
    pub patched: bool,
}

impl Written {
    pub fn summary(&self) -> String {
        let left: Vec<String> = self.left.iter().map(|(k, v)| format!("{v} {k}")).collect();
        format!(
            "feed {}: {} {} offers{} ({} bytes, {:.1} s{}){}{}",
            self.name,
            if self.dry_run { "would write" } else { "wrote" },
            self.offers,
            if self.farewells > 0 { format!(" + {} leaving with zero stock", self.farewells) } else { String::new() },
            self.bytes,
            self.millis as f64 / 1000.0,
            if self.patched { ", the changed offers read again" } else { "" },
            if left.is_empty() { String::new() } else { format!("; left out: {}", left.join(", ")) },
            if self.replaced > 0 { format!("; {} characters windows-1251 cannot hold replaced with ?", self.replaced) } else { String::new() },
        )
    }
}

/// What a feed run did: the feeds written, those that failed (their old files kept), and the
/// products no feed can offer.
#[derive(Debug, Default)]
pub struct FeedRun {
    pub written: Vec<Written>,
    pub failed: Vec<(String, Error)>,
    /// Variations without their own SKU, hidden products, and products sold otherwise.
    pub skipped: BTreeMap<&'static str, usize>,
}

/// The hashes of offer IDs are already hashes: the set uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type IdSet = HashSet<u64, BuildHasherDefault<Identity>>;

/// An offer ID's hash, as the SKU index hashes SKUs.
fn id_hash(id: &str) -> u64 {
    catalog::sku_hash(id)
}

/// One feed file being written.
struct Out<'a> {
    file: &'a FeedFile,
    selector: Selector,
    staged: Staged,
    yml: Yml<Sink>,
    state: StateWriter,
    seen: IdSet,
    offers: usize,
    farewells: usize,
    left: BTreeMap<&'static str, usize>,
    /// The last feed's state (when complete).
    previous: Option<output::StateHead>,
    /// A patch's offers of the changed families in the last feed: those not offered again
    /// leave (`None`: every offer of the last feed is looked at).
    leaving: Option<Vec<output::StateLine>>,
    /// Why writing this feed failed; nothing more is written to it.
    write_error: Option<String>,
}

fn io_error(file: &FeedFile) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Internal(format!("feed {:?} ({}): writing failed: {e}; the previous file is kept", file.name, file.path.display()))
}

/// `[feeds.shop] currency`, else the shop's: Russian roubles as the marketplaces name them.
fn currency(settings_currency: Option<&str>, shop_currency: &str) -> String {
    match settings_currency {
        Some(c) => c.to_string(),
        None if shop_currency.eq_ignore_ascii_case("RUB") => "RUR".into(),
        None => shop_currency.to_ascii_uppercase(),
    }
}

/// Writes the configured feeds (or the one named, or the missing ones).
pub async fn write(settings: &Settings, options: FeedOptions<'_>) -> Result<FeedRun> {
    let Some(feeds) = &settings.feeds else {
        return Err(Error::Config(format!("{}: no [[feeds.file]] is configured; see docs/feeds.md", settings.config_path.display())));
    };
    let mut files: Vec<&FeedFile> = feeds.files.iter().filter(|f| options.name.is_none_or(|n| n == f.name)).collect();
    if files.is_empty() {
        let names: Vec<&str> = feeds.files.iter().map(|f| f.name.as_str()).collect();
        return Err(Error::Config(format!("no feed is named {:?}; the config has {}", options.name.unwrap_or(""), names.join(", "))));
    }
    if options.missing_only {
        files.retain(|f| !f.path.exists());
        if files.is_empty() {
            return Ok(FeedRun::default());
        }
    }
    let started = Instant::now();
    let mut conn = catalog::connect(settings).await?;
    let shop = Shop::inspect(&mut conn, settings, false).await?;
    let _lock = match options.dry_run {
        true => None,
        false => Some(crate::run::RunLock::acquire(settings, &shop).await?),
    };
    // An interrupted sync has written some of its chunks: the shop (and so the feed) shows
    // part of its changes until it is resumed.
    if journal::tables_exist(&mut conn, &settings.table_prefix).await? {
        if let Some(r) = journal::pending(&mut conn, &settings.table_prefix).await? {
            tracing::warn!("run {} is {} after {} chunks: the feeds show the shop as it is, with part of that run's changes; `woosync resume` finishes it", r.id, r.state, r.chunks_done);
        }
    }
    // A whole feed reads on two connections whose snapshots see the same data (see
    // `snapshots`); a patch reads little, on one.
    let helpers = match options.changed.is_none() && !options.one_connection {
        true => snapshots(settings, &mut conn).await?,
        false => {
            read::begin_snapshot(&mut conn).await?;
            Vec::new()
        }
    };
    let facts = read::shop_facts(&mut conn, &settings.table_prefix, shop.utc_offset.clone()).await?;
    let url = feeds.shop.url.clone().unwrap_or_else(|| facts.home.clone());
    // A shop without a title goes by its host name (the marketplaces require a name).
    let name = feeds.shop.name.clone().unwrap_or_else(|| text::shown(&facts.blogname)).trim().to_string();
    let name = match name.is_empty() {
        true => url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| url.clone()),
        false => name,
    };
    let header = Header {
        date: text::date(&facts.time_zone, chrono::Utc::now()),
        company: feeds.shop.company.clone().unwrap_or_else(|| name.clone()),
        name,
        url,
        currency: currency(feeds.shop.currency.as_deref(), &facts.currency),
        tree: &facts.tree,
    };
    let mut run = FeedRun::default();
    // After a sync, when every feed's last file and state were written under the same
    // settings, only the changed offers are read again and the rest copied (a patch).
    let lasts: Vec<(String, Option<output::StateHead>, bool)> = files
        .iter()
        .map(|file| {
            let fingerprint = output::fingerprint(file, &feeds.shop);
            let previous = output::previous_head(&file.path);
            let same_settings = previous.as_ref().is_some_and(|h| h.fingerprint == fingerprint) && file.path.exists();
            (fingerprint, previous, same_settings)
        })
        .collect();
    let patch = options.changed.filter(|_| lasts.iter().all(|(_, _, same)| *same));
    let mut outs: Vec<Out<'_>> = Vec::new();
    for (file, (fingerprint, previous, _)) in files.into_iter().zip(lasts) {
        let opened = (|| -> Result<Out<'_>> {
            let (staged, sink) = output::stage(file, patch.is_none())?;
            let mut yml = Yml::new(sink, file);
            let offers_at = yml.header(&header, file.shipment).map_err(io_error(file))?;
            Ok(Out {
                file,
                previous,
                leaving: None,
                write_error: None,
                selector: Selector::new(file, &facts),
                state: StateWriter::new(&file.path, &fingerprint, offers_at)?,
                staged,
                yml,
                seen: IdSet::default(),
                offers: 0,
                farewells: 0,
                left: BTreeMap::new(),
            })
        })();
        match opened {
            Ok(o) => outs.push(o),
            Err(e) => run.failed.push((file.name.clone(), e)),
        }
    }
    let mut extra: Vec<&str> = Vec::new();
    for o in &outs {
        let f = o.file;
        extra.push(&f.stock);
        extra.extend([&f.price, &f.oldprice, &f.min_price, &f.premium_price].into_iter().flatten().map(String::as_str));
        extra.extend(f.offer_id.iter().filter_map(|i| match i {
            crate::config::OfferId::Meta(k) => Some(k.as_str()),
            crate::config::OfferId::Sku => None,
        }));
        extra.extend(f.filter.meta.iter().map(|(k, _)| k.as_str()));
    }
    let terms = read::term_table(&mut conn, &settings.table_prefix).await?;
    let batch = options.batch.unwrap_or(read::BATCH).max(1);
    let key_charset = read::key_charset(&mut conn, &settings.table_prefix).await?;
    // A patch reads few pictures; a whole feed reads every attachment's file once (when there
    // are not too many) instead of a query per batch.
    let files = match patch.is_some() {
        true => None,
        false => read::Files::read(&mut conn, &settings.table_prefix, options.files_at_once.unwrap_or(read::FILES_AT_ONCE)).await?,
    };
    let reader = read::Reader::new(&settings.table_prefix, &extra, batch, terms, key_charset.as_deref(), files);
    let patch = patch.filter(|_| !outs.is_empty());
    tracing::debug!(ms = started.elapsed().as_millis() as u64, patch = patch.is_some(), "feeds: the shop's options, categories and terms read");
    let mut conn = match patch {
        Some(changed) => {
            let families = read::families_of(&mut conn, &settings.table_prefix, changed).await?;
            let batch = reader.families(&mut conn, &families).await?;
            tokio::task::block_in_place(|| {
                for o in outs.iter_mut() {
                    if let Err(e) = patch_one(o, &families, &batch, &facts, &mut run.skipped) {
                        // The last file is not what its state says (edited, replaced): the next
                        // write is a whole one.
                        let _ = std::fs::remove_file(output::state_path(&o.file.path));
                        o.fail(e);
                    }
                }
            });
            conn
        }
        None => {
            let windows = read::windows(&mut conn, &settings.table_prefix, batch).await?;
            let mut conns = vec![conn];
            conns.extend(helpers);
            let mut conns = stream_windows(conns, reader, windows, &mut outs, &facts, &mut run).await?;
            for c in conns.iter_mut().skip(1) {
                let _ = c.query_drop("COMMIT").await;
            }
            conns.swap_remove(0)
        }
    };
    conn.query_drop("COMMIT").await.map_err(|e| Error::db("ending the feed's snapshot", e))?;
    let millis = started.elapsed().as_millis() as u64;
    tracing::debug!(ms = millis, "feeds: offers written");
    // A login that may only read writes feeds too; they are then missing from the journal.
    let journal = !options.dry_run
        && match journal::ensure_tables(&mut conn, &settings.table_prefix).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("the feeds written are not recorded in the run journal: {e}");
                false
            }
        };
    for o in outs {
        let name = o.file.name.clone();
        let (file, offers) = (o.file, o.offers);
        let result = finish(o, feeds.min_offers_percent, options, millis);
        if journal {
            let record = match &result {
                Ok(w) => FeedRecord {
                    name: name.clone(),
                    format: file.format.name().into(),
                    path: file.path.display().to_string(),
                    written_at: String::new(),
                    state: "written".into(),
                    offers: w.offers as u64,
                    farewells: w.farewells as u64,
                    skipped: w.left.values().sum::<usize>() as u64,
                    bytes: w.bytes,
                    millis: w.millis,
                    error: None,
                },
                Err(e) => FeedRecord {
                    name: name.clone(),
                    format: file.format.name().into(),
                    path: file.path.display().to_string(),
                    written_at: String::new(),
                    state: if matches!(e, Error::Guard(_)) { "refused" } else { "failed" }.into(),
                    offers: offers as u64,
                    farewells: 0,
                    skipped: 0,
                    bytes: 0,
                    millis,
                    error: Some(e.to_string()),
                },
            };
            if let Err(e) = journal::record_feed(&mut conn, &settings.table_prefix, &record).await {
                tracing::warn!("{e}");
            }
        }
        match result {
            Ok(w) => {
                tracing::info!("{}", w.summary());
                run.written.push(w);
            }
            Err(e) => {
                tracing::error!("feed {name}: {e}");
                run.failed.push((name, e));
            }
        }
    }
    for (label, n) in &run.skipped {
        tracing::info!("feeds: {n} {label} skipped");
    }
    Ok(run)
}

/// The feed's snapshot on `conn` and, when the login may `LOCK TABLES`, on one more
/// connection: both started while the tables the feed reads are locked against writes for an
/// instant, so both see the same committed data — one snapshot, read by two. Without the
/// privilege (or when the lock is not had within 1 s: while it waits, the shop's new writes to
/// those tables wait behind it, so it waits little) the feed reads on `conn` alone.
async fn snapshots(settings: &Settings, conn: &mut mysql_async::Conn) -> Result<Vec<mysql_async::Conn>> {
    let p = &settings.table_prefix;
    let mut helper = match catalog::connect(settings).await {
        Ok(c) => c,
        Err(_) => {
            read::begin_snapshot(conn).await?;
            return Ok(Vec::new());
        }
    };
    let mut locker = catalog::connect(settings).await?;
    let tables = ["posts", "postmeta", "term_relationships", "term_taxonomy", "terms", "options", "woocommerce_attribute_taxonomies"];
    let lock = format!("LOCK TABLES {}", tables.iter().map(|t| format!("`{p}{t}` READ")).collect::<Vec<_>>().join(", "));
    let locked = match locker.query_drop("SET SESSION lock_wait_timeout = 1").await {
        Ok(()) => locker.query_drop(lock).await,
        Err(e) => Err(e),
    };
    if let Err(e) = locked {
        tracing::debug!("feeds read on one connection (LOCK TABLES: {e})");
        read::begin_snapshot(conn).await?;
        return Ok(Vec::new());
    }
    let begun = async {
        read::begin_snapshot(conn).await?;
        read::begin_snapshot(&mut helper).await
    }
    .await;
    locker.query_drop("UNLOCK TABLES").await.map_err(|e| Error::db("unlocking the tables after starting the feed's snapshots", e))?;
    begun?;
    Ok(vec![helper])
}

/// The windows of products read on the connections at once (window `i` on connection `i % n`;
/// each reads its next window while the last is written out), written out in order. Hands the
/// connections back.
async fn stream_windows(conns: Vec<mysql_async::Conn>, reader: read::Reader, windows: Vec<(u64, u64)>, outs: &mut [Out<'_>], facts: &read::ShopFacts, run: &mut FeedRun) -> Result<Vec<mysql_async::Conn>> {
    let n = conns.len();
    let reader = std::sync::Arc::new(reader);
    let windows = std::sync::Arc::new(windows);
    let mut receivers = Vec::new();
    let mut tasks = Vec::new();
    for (k, mut conn) in conns.into_iter().enumerate() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<read::Batch>>(2);
        receivers.push(rx);
        let (reader, windows) = (reader.clone(), windows.clone());
        tasks.push(tokio::spawn(async move {
            for &(lo, hi) in windows.iter().skip(k).step_by(n) {
                let batch = reader.window(&mut conn, lo, hi).await;
                let failed = batch.is_err();
                if tx.send(batch).await.is_err() || failed {
                    break;
                }
            }
            conn
        }));
    }
    for i in 0..windows.len() {
        let Some(batch) = receivers[i % n].recv().await else {
            return Err(Error::Internal("a feed reader stopped early".into()));
        };
        let batch = batch?;
        tokio::task::block_in_place(|| {
            for family in &batch.families {
                offer_family(outs, family, facts, &batch.files, &mut run.skipped);
            }
        });
        if i == 0 {
            crate::crashpoint::here(format_args!("feed-half"));
        }
    }
    drop(receivers);
    let mut conns = Vec::new();
    for t in tasks {
        conns.push(t.await.map_err(|e| Error::Internal(format!("a feed reader stopped: {e}")))?);
    }
    Ok(conns)
}

/// Offers a family's candidates to every feed, counting what is no offer.
fn offer_family(outs: &mut [Out<'_>], family: &read::Family, facts: &read::ShopFacts, files: &std::collections::HashMap<u64, String>, skipped: &mut BTreeMap<&'static str, usize>) {
    for found in offer::candidates(&family.product, &family.variations) {
        match found {
            Ok(c) => offer_everywhere(outs, &c, facts, files),
            Err(skip) => *skipped.entry(skip_label(skip)).or_default() += 1,
        }
    }
}

/// A feed from the last one: its offers copied in order, but those of the changed families
/// (`families`, sorted), which are offered afresh from `batch` where they stood (or, new, by
/// product ID). Offers of changed families that are no longer offered get their farewell at
/// [`finish`].
fn patch_one(o: &mut Out<'_>, families: &[u64], batch: &read::Batch, facts: &read::ShopFacts, skipped: &mut BTreeMap<&'static str, usize>) -> std::io::Result<()> {
    let offers_at = o.previous.as_ref().map(|h| h.offers_at).ok_or_else(|| std::io::Error::other("no previous feed"))?;
    let mut old = output::open_previous(&o.file.path, o.file.gzip, offers_at)?;
    let mut fresh = batch.families.iter().peekable();
    let mut fragment: Vec<u8> = Vec::new();
    let path = o.file.path.clone();
    let mut leaving = Vec::new();
    output::previous_lines(&path, |line, raw| {
        while let Some(f) = fresh.next_if(|f| f.product.id <= line.family) {
            offer_family(std::slice::from_mut(o), f, facts, &batch.files, skipped);
        }
        fragment.resize(line.len as usize, 0);
        old.read_exact(&mut fragment)?;
        if !line.live {
            return Ok(());
        }
        if families.binary_search(&line.family).is_ok() {
            leaving.push(line.owned());
            return Ok(());
        }
        if !fragment.starts_with(b"<offer ") || !fragment.ends_with(b"</offer>\n") {
            return Err(std::io::Error::other(format!("the last feed's offer {:?} is not where its state file says", line.id)));
        }
        if !o.seen.insert(id_hash(line.id)) {
            return Ok(());
        }
        o.yml.raw(&fragment)?;
        o.state.push_raw(raw)?;
        o.offers += 1;
        Ok(())
    })?;
    for f in fresh {
        offer_family(std::slice::from_mut(o), f, facts, &batch.files, skipped);
    }
    o.leaving = Some(leaving);
    Ok(())
}

fn skip_label(s: Skip) -> &'static str {
    match s {
        Skip::Hidden => "products hidden from the catalogue",
        Skip::NotSold => "grouped or external products",
        Skip::VariationWithoutSku => "variations without their own SKU",
    }
}

/// Offers a candidate to every feed; the card is made once, for the feeds that take it.
fn offer_everywhere(outs: &mut [Out<'_>], c: &Candidate<'_>, facts: &read::ShopFacts, files: &std::collections::HashMap<u64, String>) {
    let mut card: Option<offer::Card> = None;
    for o in outs.iter_mut() {
        if o.write_error.is_some() {
            continue;
        }
        if !o.selector.holds(o.file, c) {
            *o.left.entry(Left::Filtered.label()).or_default() += 1;
            continue;
        }
        let t = match offer::terms(o.file, c) {
            Ok(t) => t,
            Err(left) => {
                *o.left.entry(left.label()).or_default() += 1;
                continue;
            }
        };
        if !o.seen.insert(id_hash(&t.id)) {
            tracing::warn!("feed {}: offer id {:?} (post {}) is another offer's too; left out", o.file.name, t.id, c.record.id);
            *o.left.entry(Left::DuplicateId.label()).or_default() += 1;
            continue;
        }
        let card = card.get_or_insert_with(|| offer::card(c, facts, files));
        let written = o.yml.offer(card, &t).and_then(|len| o.state.write(true, c.product().id, c.record.id, len, &t.id, &t.price, card.category, &card.name, &card.url));
        match written {
            Ok(()) => o.offers += 1,
            Err(e) => o.fail(e),
        }
    }
}

impl Out<'_> {
    fn fail(&mut self, e: std::io::Error) {
        tracing::error!("feed {}: writing failed: {e}", self.file.name);
        self.write_error.get_or_insert(e.to_string());
    }
}

/// Farewells, the guard, the read-back check, and the rename.
fn finish(mut o: Out<'_>, min_percent: f64, options: FeedOptions<'_>, millis: u64) -> Result<Written> {
    let file = o.file;
    if let Some(e) = &o.write_error {
        return Err(Error::Internal(format!("feed {:?} ({}): writing failed: {e}; the previous file is kept", file.name, file.path.display())));
    }
    // Patched when the run patched (every feed had its state), not when this one alone could be.
    let patched = o.leaving.is_some();
    let previous = o.previous.as_ref().map(|h| h.live);
    let farewell = |o: &mut Out<'_>, line: output::StateLine| -> std::io::Result<()> {
        if !line.live || !o.seen.insert(id_hash(&line.offer.id)) {
            return Ok(());
        }
        let len = o.yml.farewell(&line.offer)?;
        o.state.push(&output::StateLine { live: false, len, ..line })?;
        o.farewells += 1;
        Ok(())
    };
    match o.leaving.take() {
        Some(lines) => lines.into_iter().try_for_each(|line| farewell(&mut o, line)),
        // Most offers of the last feed are in this one: only a leaving one's line is made whole.
        None => output::previous_lines(&file.path, |line, _| match line.live && !o.seen.contains(&id_hash(line.id)) {
            true => farewell(&mut o, line.owned()),
            false => Ok(()),
        }),
    }
    .map_err(io_error(file))?;
    let (sink, replaced) = o.yml.finish().map_err(io_error(file))?;
    let (written, check) = sink.finish().map_err(io_error(file))?;
    if let Some(prev) = previous {
        let floor = prev as f64 * min_percent / 100.0;
        if !options.force && prev > 0 && (o.offers as f64) < floor {
            return Err(Error::Guard(format!(
                "feed {:?} has {} live offers, fewer than {min_percent}% of the previous feed's {prev}; {} is kept (woosync feed --force writes it)",
                file.name,
                o.offers,
                file.path.display()
            )));
        }
    }
    // A whole feed was parsed as it was written. A patch's copied offers were when first
    // written, and are checked to start and end where the state file says; its fresh ones are
    // made as a whole feed's are.
    let bytes = o.staged.verify(written, check, o.offers + o.farewells)?;
    if !options.dry_run {
        o.staged.commit()?;
        o.state.commit(&file.path)?;
    }
    Ok(Written {
        name: file.name.clone(),
        path: file.path.clone(),
        offers: o.offers,
        farewells: o.farewells,
        left: o.left,
        bytes,
        millis,
        replaced,
        dry_run: options.dry_run,
        patched,
    })
}

/// After a sync: with `[feeds] after_sync`, every feed when the sync changed something, else the
/// feeds whose file is missing. `None` when there is nothing to do.
/// `changed_posts`: what the sync updated, when known whole (else every feed is written whole).
pub async fn after_sync(settings: &Settings, changed: bool, changed_posts: Option<&[u64]>) -> Option<Result<FeedRun>> {
    let feeds = settings.feeds.as_ref().filter(|f| f.after_sync)?;
    let missing = feeds.files.iter().any(|f| !f.path.exists());
    if !changed && !missing {
        return None;
    }
    let options = match changed {
        true => FeedOptions { changed: changed_posts, ..FeedOptions::default() },
        false => FeedOptions { missing_only: true, ..FeedOptions::default() },
    };
    Some(write(settings, options).await)
}

/// The latest record of each feed.
pub async fn status(settings: &Settings) -> Result<Vec<FeedRecord>> {
    let mut conn = catalog::connect(settings).await?;
    journal::latest_feeds(&mut conn, &settings.table_prefix).await
}

/// A Yandex feed at `path` with every setting at its default, for unit tests.
#[cfg(test)]
pub(crate) fn test_file(path: &std::path::Path) -> FeedFile {
    use crate::config::{Encoding, FeedFilter, FeedFormat, OfferId};
    FeedFile {
        name: "ym".into(),
        format: FeedFormat::Yandex,
        path: path.to_path_buf(),
        filter: FeedFilter::default(),
        stock: "_stock".into(),
        unmanaged_stock: 1,
        price: None,
        oldprice: None,
        min_price: None,
        premium_price: None,
        shipment: None,
        offer_id: vec![OfferId::Sku],
        warehouse: None,
        gzip: false,
        encoding: Encoding::Utf8,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn roubles_are_named_as_the_marketplaces_name_them() {
        assert_eq!(super::currency(None, "RUB"), "RUR");
        assert_eq!(super::currency(None, "byn"), "BYN");
        assert_eq!(super::currency(Some("RUB"), "RUB"), "RUB");
    }
}
