//! A feed file replaced atomically: written to a temporary file in the target's folder
//! (gzip-compressed when asked), checked to be complete and well formed, fsynced, given the old
//! file's permissions (or 0644), renamed over the target, and the folder fsynced. Beside it a
//! state file (`.NAME.woosync`) keeps the last feed's live offers: the offers that leave are
//! listed once more with zero stock, and the next feed's size is judged against it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::config::FeedFile;
use crate::error::{Error, Result};

use super::yml::Farewell;

/// Where the feed is being written: the file (gzip-compressed when asked) and, for a whole
/// feed, the XML parser that reads the text as it is written ([`Check`]).
pub struct Sink {
    out: Compressed,
    check: Option<Check>,
}

enum Compressed {
    Plain(BufWriter<Handed>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<Handed>>>),
}

/// A file whose bytes are handed to the disk as they are written, [`HAND_OVER`] at a time, so
/// that the fsync before the rename waits for the last few only instead of the whole feed
/// (a 1 GB feed is otherwise all still in memory when the fsync starts).
pub struct Handed {
    file: File,
    written: u64,
    handed: u64,
}

const HAND_OVER: u64 = 16 << 20;

impl Handed {
    fn new(file: File) -> Handed {
        Handed { file, written: 0, handed: 0 }
    }

    /// Starts writing out `len` bytes from `from` without waiting for them.
    #[cfg(target_os = "linux")]
    fn hand_over(&self, from: u64, len: u64) {
        use std::os::fd::AsRawFd;
        // Only a hint: an error here means the fsync does all the work, as without it.
        unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), from as libc::off64_t, len as libc::off64_t, libc::SYNC_FILE_RANGE_WRITE);
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn hand_over(&self, _from: u64, _len: u64) {}
}

impl Write for Handed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.handed >= HAND_OVER {
            self.hand_over(self.handed, self.written - self.handed);
            self.handed = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.out {
            Compressed::Plain(w) => w.write_all(buf)?,
            Compressed::Gzip(w) => w.write_all(buf)?,
        }
        if let Some(check) = &mut self.check {
            check.feed(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Compressed::Plain(w) => w.flush(),
            Compressed::Gzip(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Ends the stream (the gzip trailer) and syncs the file to disk. Returns the bytes
    /// written to the file and, for a checked feed, what the parser found.
    pub fn finish(self) -> std::io::Result<(u64, Option<std::result::Result<usize, String>>)> {
        let w = match self.out {
            Compressed::Plain(w) => w,
            Compressed::Gzip(g) => g.finish()?,
        };
        let handed = w.into_inner().map_err(|e| e.into_error())?;
        handed.file.sync_all()?;
        Ok((handed.written, self.check.map(Check::verdict)))
    }
}

/// The feed's text (in its encoding, before compression) read by an XML parser on a thread of
/// its own while it is written: well formed to its last tag, and how many offers it holds.
/// Checking as it is written costs the run no time of its own at the end (reading a 1 GB feed
/// back took 2.6 s).
struct Check {
    to: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    parser: std::thread::JoinHandle<std::result::Result<usize, String>>,
}

impl Check {
    fn start(encoding: crate::config::Encoding) -> std::io::Result<Check> {
        // A few chunks of the writer's 256 KiB in flight at most.
        let (to, from) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let parser = std::thread::Builder::new().name("feed-check".into()).spawn(move || {
            let chunks = Chunks { from, chunk: Vec::new(), at: 0 };
            match encoding {
                crate::config::Encoding::Utf8 => well_formed(chunks),
                crate::config::Encoding::Windows1251 => well_formed(BufReader::with_capacity(
                    1 << 18,
                    encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding_rs::WINDOWS_1251)).build(chunks),
                )),
            }
        })?;
        Ok(Check { to: Some(to), parser })
    }

    fn feed(&mut self, bytes: &[u8]) {
        // A parser that stopped (the text is not well formed) takes no more; its verdict says why.
        if let Some(to) = &self.to {
            if to.send(bytes.to_vec()).is_err() {
                self.to = None;
            }
        }
    }

    fn verdict(mut self) -> std::result::Result<usize, String> {
        self.to = None;
        self.parser.join().unwrap_or_else(|_| Err("the XML check stopped".into()))
    }
}

/// The chunks sent to the parser, read as one stream.
struct Chunks {
    from: std::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunks {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at == self.chunk.len() {
            match self.from.recv() {
                Ok(next) => (self.chunk, self.at) = (next, 0),
                // The writer is done: the end of the text.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.chunk[self.at..])
    }
    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.chunk.len());
    }
}

/// Parses a feed's text: the number of `<offer>` elements when it is well formed to its last
/// tag (the root closed, nothing left open), else what is wrong and where.
fn well_formed(text: impl BufRead) -> std::result::Result<usize, String> {
    let mut xml = quick_xml::Reader::from_reader(text);
    xml.config_mut().check_end_names = true;
    let mut buf = Vec::with_capacity(64 * 1024);
    let (mut found, mut depth, mut root_closed) = (0usize, 0usize, false);
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                if e.name().as_ref() == "offer" {
                    found += 1;
                }
            }
            Ok(quick_xml::events::Event::Empty(e)) => found += usize::from(e.name().as_ref() == "offer"),
            Ok(quick_xml::events::Event::End(_)) => {
                depth = depth.saturating_sub(1);
                root_closed |= depth == 0;
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("it is not well formed at byte {}: {e}", xml.buffer_position())),
        }
        buf.clear();
    }
    match root_closed && depth == 0 {
        true => Ok(found),
        false => Err(format!("it ends with {depth} elements open")),
    }
}

fn io<'a>(path: &'a Path, doing: &str) -> impl Fn(std::io::Error) -> Error + 'a {
    let doing = doing.to_string();
    move |e| Error::Internal(format!("feed {}: {doing}: {e}", path.display()))
}

/// A feed being written: its temporary file, removed unless it is put in place.
pub struct Staged {
    pub target: PathBuf,
    temp: tempfile::TempPath,
}

/// The state file beside a feed.
pub fn state_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.woosync"))
}

/// Starts writing `file`: a temporary file in its folder (which must exist).
/// `check`: the text is parsed as it is written (a whole feed; a patch copies offers already
/// checked).
pub fn stage(file: &FeedFile, check: bool) -> Result<(Staged, Sink)> {
    let target = file.path.clone();
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Config(format!("[[feeds.file]] {:?}: the folder {} does not exist", file.name, dir.display())));
    }
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    remove_stale(dir, &name);
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::Internal(format!("feed {:?}: cannot create a temporary file in {}: {e}", file.name, dir.display())))?;
    let (f, temp) = temp.into_parts();
    let w = BufWriter::with_capacity(1 << 20, Handed::new(f));
    let out = if file.gzip { Compressed::Gzip(Box::new(flate2::write::GzEncoder::new(w, flate2::Compression::new(6)))) } else { Compressed::Plain(w) };
    let check = match check {
        true => Some(Check::start(file.encoding).map_err(|e| Error::Internal(format!("feed {:?}: cannot start its XML check: {e}", file.name)))?),
        false => None,
    };
    Ok((Staged { target, temp }, Sink { out, check }))
}

/// Temporary files a killed run left beside the feed.
fn remove_stale(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let prefix = format!(".{name}.");
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            let old = e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 60);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A feed file's text as written (before compression).
fn uncompressed(f: File, gzip: bool) -> Box<dyn Read> {
    match gzip {
        true => Box::new(flate2::read::GzDecoder::new(f)),
        false => Box::new(f),
    }
}

impl Staged {
    /// The written file's size.
    pub fn size(&self) -> Result<u64> {
        std::fs::metadata(&self.temp).map(|m| m.len()).map_err(io(&self.target, "reading its size"))
    }

    /// The written file is what was written to it: `written` bytes (a full disk, or another
    /// process, would show here), and — for a checked feed — well formed with this many offers.
    pub fn verify(&self, written: u64, check: Option<std::result::Result<usize, String>>, offers: usize) -> Result<u64> {
        let size = self.size()?;
        if size != written {
            return Err(Error::Internal(format!(
                "feed {}: the written file holds {size} bytes of the {written} written; the previous file is kept",
                self.target.display()
            )));
        }
        match check {
            None => Ok(size),
            Some(Ok(found)) if found == offers => Ok(size),
            Some(Ok(found)) => Err(Error::Internal(format!(
                "feed {}: the written file is incomplete ({found} of {offers} offers read back); the previous file is kept",
                self.target.display()
            ))),
            Some(Err(e)) => Err(Error::Internal(format!("feed {}: the written file is not a whole feed: {e}; the previous file is kept", self.target.display()))),
        }
    }

    /// Puts the feed in place: the old file's permissions (else 0644), rename, folder fsync.
    pub fn commit(self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&self.target).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
        std::fs::set_permissions(&self.temp, std::fs::Permissions::from_mode(mode)).map_err(io(&self.target, "setting its permissions"))?;
        let target = self.target.clone();
        self.temp.persist(&target).map_err(|e| Error::Internal(format!("feed {}: cannot rename the new file into place: {}", target.display(), e.error)))?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// One line of the state file: a live offer or a farewell already given, where it sits in
/// the feed (its family — the product, or a variation's parent — its post and its length in
/// the uncompressed file) and what its farewell would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLine {
    pub live: bool,
    pub family: u64,
    pub post: u64,
    /// Bytes of its `<offer>` element in the (uncompressed, encoded) feed.
    pub len: u64,
    pub offer: Farewell,
}

/// What the state file says of its feed as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateHead {
    /// The feed's settings it was written under ([`fingerprint`]).
    pub fingerprint: String,
    /// Where the first offer starts in the uncompressed feed.
    pub offers_at: u64,
    /// Live offers.
    pub live: usize,
}

const STATE_MAGIC: &str = "woosync-feed-state\t2";

/// A state file field: tabs and line breaks as spaces (borrowed when there are none).
fn field(s: &str) -> std::borrow::Cow<'_, str> {
    match s.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        true => s.chars().map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }).collect::<String>().into(),
        false => s.into(),
    }
}

/// The settings a feed file was written under: a patch copies offers only from a feed written
/// under the same ones.
pub fn fingerprint(file: &FeedFile, shop: &crate::config::FeedShop) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(format!("{file:?}\0{shop:?}\0{}", crate::journal::VERSION).as_bytes());
    crate::config::hex(&h.finalize())[..16].to_string()
}

/// The state file being written beside the new feed.
pub struct StateWriter {
    temp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    pub live: usize,
}

impl StateWriter {
    pub fn new(target: &Path, fingerprint: &str, offers_at: u64) -> Result<StateWriter> {
        let state = state_path(target);
        let dir = state.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let temp = tempfile::Builder::new().prefix(".woosync-state.").suffix(".tmp").tempfile_in(dir).map_err(io(target, "creating its state file"))?;
        let mut out = BufWriter::new(temp.reopen().map_err(io(target, "creating its state file"))?);
        writeln!(out, "{STATE_MAGIC}\t{fingerprint}\t{offers_at}").map_err(io(target, "writing its state file"))?;
        Ok(StateWriter { temp, out, live: 0 })
    }

    pub fn push(&mut self, line: &StateLine) -> std::io::Result<()> {
        let f = &line.offer;
        self.write(line.live, line.family, line.post, line.len, &f.id, &f.price, f.category, &f.name, &f.url)
    }

    /// One line, from its parts.
    #[allow(clippy::too_many_arguments)]
    pub fn write(&mut self, live: bool, family: u64, post: u64, len: u64, id: &str, price: &str, category: Option<u64>, name: &str, url: &str) -> std::io::Result<()> {
        self.live += usize::from(live);
        let category = category.map(|c| c.to_string()).unwrap_or_default();
        writeln!(
            self.out,
            "{}\t{family}\t{post}\t{len}\t{}\t{}\t{category}\t{}\t{}",
            if live { 'L' } else { 'F' },
            field(id),
            field(price),
            field(name),
            field(url)
        )
    }

    /// A live line of the last state file, as it was (an offer a patch copies).
    pub fn push_raw(&mut self, raw: &str) -> std::io::Result<()> {
        self.live += 1;
        self.out.write_all(raw.as_bytes())?;
        self.out.write_all(b"\n")
    }

    /// Ends it with the live count and puts it in place.
    pub fn commit(mut self, target: &Path) -> Result<()> {
        writeln!(self.out, "end\t{}", self.live).map_err(io(target, "writing its state file"))?;
        self.out.flush().map_err(io(target, "writing its state file"))?;
        self.out.get_ref().sync_all().map_err(io(target, "writing its state file"))?;
        self.temp.persist(state_path(target)).map_err(|e| Error::Internal(format!("feed {}: cannot put its state file in place: {}", target.display(), e.error)))?;
        Ok(())
    }
}

/// The last feed's state as a whole; `None` without a complete state file of this version.
pub fn previous_head(target: &Path) -> Option<StateHead> {
    use std::io::Seek;
    let f = File::open(state_path(target)).ok()?;
    let mut r = BufReader::new(f);
    let mut first = String::new();
    r.read_line(&mut first).ok()?;
    let rest = first.trim_end().strip_prefix(STATE_MAGIC)?.strip_prefix('\t')?;
    let (fingerprint, offers_at) = rest.split_once('\t')?;
    // The live count is the last line; an interrupted write has none.
    let len = r.get_ref().metadata().ok()?.len();
    r.seek(std::io::SeekFrom::Start(len.saturating_sub(64))).ok()?;
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).ok()?;
    let live = String::from_utf8_lossy(&tail).lines().last()?.strip_prefix("end\t")?.trim().parse().ok()?;
    Some(StateHead { fingerprint: fingerprint.to_string(), offers_at: offers_at.parse().ok()?, live })
}

/// A line of the last state file as read: where its offer sits and its ID at hand, the rest
/// (what a farewell says) made only when it is wanted ([`StateRef::owned`]).
#[derive(Debug, Clone, Copy)]
pub struct StateRef<'a> {
    pub live: bool,
    pub family: u64,
    pub post: u64,
    pub len: u64,
    pub id: &'a str,
    /// price, category, name, url
    rest: [&'a str; 4],
}

impl StateRef<'_> {
    pub fn owned(&self) -> StateLine {
        let [price, category, name, url] = self.rest;
        StateLine {
            live: self.live,
            family: self.family,
            post: self.post,
            len: self.len,
            offer: Farewell { id: self.id.into(), price: price.into(), category: category.parse().ok(), name: name.into(), url: url.into() },
        }
    }
}

/// Streams the last feed's state file, line by line in feed order (each line as read, too); a
/// file without its end line counts as absent.
pub fn previous_lines(target: &Path, mut f: impl FnMut(StateRef<'_>, &str) -> std::io::Result<()>) -> std::io::Result<()> {
    if previous_head(target).is_none() {
        return Ok(());
    }
    let file = match File::open(state_path(target)) {
        Ok(f) => f,
        Err(_) => return Ok(()),
    };
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut buf = String::new();
    r.read_line(&mut buf)?;
    loop {
        buf.clear();
        if r.read_line(&mut buf)? == 0 {
            return Ok(());
        }
        let line = buf.strip_suffix('\n').unwrap_or(&buf);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut p = [""; 9];
        let mut n = 0;
        for part in line.split('\t') {
            if n < 9 {
                p[n] = part;
            }
            n += 1;
        }
        if n != 9 || !(p[0] == "L" || p[0] == "F") {
            continue;
        }
        let (Ok(family), Ok(post), Ok(len)) = (p[1].parse(), p[2].parse(), p[3].parse()) else { continue };
        f(StateRef { live: p[0] == "L", family, post, len, id: p[4], rest: [p[5], p[6], p[7], p[8]] }, line)?;
    }
}

/// The last feed, uncompressed, from where its offers start: a patch copies its offers.
pub fn open_previous(target: &Path, gzip: bool, offers_at: u64) -> std::io::Result<Box<dyn Read>> {
    let mut r = BufReader::with_capacity(1 << 20, uncompressed(File::open(target)?, gzip));
    std::io::copy(&mut (&mut r).take(offers_at), &mut std::io::sink())?;
    Ok(Box::new(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(live: bool, post: u64, f: &Farewell) -> StateLine {
        StateLine { live, family: post, post, len: 10 + post, offer: f.clone() }
    }

    fn feed_file(dir: &Path, gzip: bool, encoding: crate::config::Encoding) -> FeedFile {
        FeedFile { gzip, encoding, ..crate::feed::test_file(&dir.join("ym.xml")) }
    }

    /// Writes `pieces` through a checked sink; what `verify` says of them.
    fn written(pieces: &[&[u8]], gzip: bool, encoding: crate::config::Encoding, offers: usize) -> Result<u64> {
        let dir = tempfile::tempdir().unwrap();
        let file = feed_file(dir.path(), gzip, encoding);
        let (staged, mut sink) = stage(&file, true).unwrap();
        for p in pieces {
            sink.write_all(p).unwrap();
        }
        let (bytes, check) = sink.finish().unwrap();
        staged.verify(bytes, check, offers)
    }

    #[test]
    fn a_feed_is_parsed_as_it_is_written() {
        use crate::config::Encoding::{Utf8, Windows1251};
        let text = "<?xml version=\"1.0\"?>\n<yml_catalog><shop><offers><offer id=\"1\"><name>Кружка</name></offer><offer id=\"2\"/></offers></shop></yml_catalog>\n";
        // Pieces that cut a character in two are one text.
        let bytes = text.as_bytes();
        let cut = text.find("ужка").unwrap() + 1;
        assert_eq!(written(&[&bytes[..cut], &bytes[cut..]], false, Utf8, 2).unwrap(), bytes.len() as u64);
        assert!(written(&[bytes], true, Utf8, 2).unwrap() < bytes.len() as u64, "gzip: the file's size is the compressed one");
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        assert_eq!(written(&[&cp1251], false, Windows1251, 2).unwrap(), cp1251.len() as u64);
        // Offers missing, a text cut short, tags that do not match.
        let e = written(&[bytes], false, Utf8, 3).unwrap_err().to_string();
        assert!(e.contains("2 of 3 offers"), "{e}");
        let e = written(&[&bytes[..bytes.len() - "</yml_catalog>\n".len()]], false, Utf8, 2).unwrap_err().to_string();
        assert!(e.contains("elements open") && e.contains("the previous file is kept"), "{e}");
        let e = written(&[text.replace("</name>", "</nam>").as_bytes()], false, Utf8, 2).unwrap_err().to_string();
        assert!(e.contains("not well formed at byte"), "{e}");
        // Text after a parse error still goes to the file; the verdict names the error.
        let big = vec![b' '; 4 << 20];
        let e = written(&[b"<a></b>", &big, &big], false, Utf8, 0).unwrap_err().to_string();
        assert!(e.contains("not well formed"), "{e}");
    }

    #[test]
    fn the_state_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ym.xml");
        assert_eq!(previous_head(&target), None);
        let mut w = StateWriter::new(&target, "abc", 321).unwrap();
        let a = Farewell { id: "A\t1".into(), name: "Кружка\nбольшая".into(), url: "https://x/a".into(), price: "10.50".into(), category: Some(7) };
        let b = Farewell { id: "B".into(), name: "Б".into(), url: "https://x/b".into(), price: "5".into(), category: None };
        w.push(&line(true, 1, &a)).unwrap();
        w.push(&line(false, 2, &b)).unwrap();
        w.commit(&target).unwrap();
        assert_eq!(previous_head(&target), Some(StateHead { fingerprint: "abc".into(), offers_at: 321, live: 1 }));
        let mut lines = Vec::new();
        previous_lines(&target, |l, _| {
            lines.push(l.owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].live, lines[0].offer.id.as_str(), lines[0].offer.name.as_str(), lines[0].offer.category, lines[0].len), (true, "A 1", "Кружка большая", Some(7), 11));
        assert_eq!(lines[1], line(false, 2, &b));
        // A state file cut short, or of another version, is no state.
        let text = std::fs::read_to_string(state_path(&target)).unwrap();
        std::fs::write(state_path(&target), text.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
        assert_eq!(previous_head(&target), None);
        std::fs::write(state_path(&target), "L\tA\t1\t\tx\thttps://x\nend\t1\n").unwrap();
        assert_eq!(previous_head(&target), None);
    }
}
