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

/// Where the feed is being written.
pub enum Sink {
    Plain(BufWriter<File>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<File>>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Ends the stream (the gzip trailer) and syncs the file to disk.
    pub fn finish(self) -> std::io::Result<()> {
        let w = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(g) => g.finish()?,
        };
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
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
pub fn stage(file: &FeedFile) -> Result<(Staged, Sink)> {
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
    let w = BufWriter::with_capacity(1 << 20, f);
    let sink = if file.gzip { Sink::Gzip(Box::new(flate2::write::GzEncoder::new(w, flate2::Compression::new(6)))) } else { Sink::Plain(w) };
    Ok((Staged { target, temp }, sink))
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

    /// Reads the written feed back with an XML parser: well formed to its last tag, with this
    /// many offers. Returns the file's size.
    pub fn verify(&self, gzip: bool, encoding: crate::config::Encoding, offers: usize) -> Result<u64> {
        let path: &Path = &self.temp;
        let raw = uncompressed(File::open(path).map_err(io(&self.target, "reading it back"))?, gzip);
        let decoded: Box<dyn Read> = match encoding {
            crate::config::Encoding::Utf8 => raw,
            crate::config::Encoding::Windows1251 => {
                Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding_rs::WINDOWS_1251)).build(raw))
            }
        };
        let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 20, decoded));
        let mut xml = quick_xml::Reader::from_reader(reader);
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
                Ok(quick_xml::events::Event::End(_)) => {
                    depth = depth.saturating_sub(1);
                    root_closed |= depth == 0;
                }
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::Internal(format!(
                        "feed {}: the written file is not well formed at byte {}: {e}; the previous file is kept",
                        self.target.display(),
                        xml.buffer_position()
                    )))
                }
            }
            buf.clear();
        }
        if !root_closed || depth != 0 || found != offers {
            return Err(Error::Internal(format!(
                "feed {}: the written file is incomplete ({found} of {offers} offers read back); the previous file is kept",
                self.target.display()
            )));
        }
        std::fs::metadata(path).map(|m| m.len()).map_err(io(&self.target, "reading its size"))
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

/// Streams the last feed's state file, line by line in feed order; a file without its end line
/// counts as absent.
pub fn previous_lines(target: &Path, mut f: impl FnMut(StateLine, &str) -> std::io::Result<()>) -> std::io::Result<()> {
    if previous_head(target).is_none() {
        return Ok(());
    }
    let file = match File::open(state_path(target)) {
        Ok(f) => f,
        Err(_) => return Ok(()),
    };
    for line in BufReader::with_capacity(1 << 20, file).lines().skip(1) {
        let line = line?;
        let p: Vec<&str> = line.split('\t').collect();
        if p.len() != 9 || !(p[0] == "L" || p[0] == "F") {
            continue;
        }
        let (Ok(family), Ok(post), Ok(len)) = (p[1].parse(), p[2].parse(), p[3].parse()) else { continue };
        f(StateLine {
            live: p[0] == "L",
            family,
            post,
            len,
            offer: Farewell { id: p[4].into(), price: p[5].into(), category: p[6].parse().ok(), name: p[7].into(), url: p[8].into() },
        }, &line)?;
    }
    Ok(())
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
            lines.push(l);
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
