//! Zip archives: checked at upload (entry names, entry count, declared unpacked size), and
//! read one entry at a time with bounded memory and bounded output (a lying header cannot
//! make the server inflate more than the entry claims).

use std::io::Read;
use std::path::{Component, Path};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// More entries than this is not an artifact archive but an attack on the central directory.
const MAX_ENTRIES: usize = 200_000;
const CHUNK: usize = 64 * 1024;

/// Why an uploaded archive is refused (the text is the 400 message).
pub fn check_zip(path: &Path, max_unpacked: u64) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|err| format!("cannot read archive: {err}"))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|_| "artifacts archive is not a valid zip file".to_owned())?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!(
            "artifacts archive has more than {MAX_ENTRIES} entries"
        ));
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|_| "artifacts archive is not a valid zip file".to_owned())?;
        let name = entry
            .name()
            .map_err(|_| "artifacts archive has an entry with an invalid name".to_owned())?
            .into_owned();
        if !is_safe_relative(&name) {
            return Err(format!(
                "artifacts archive entry {name:?} escapes the archive (path traversal)"
            ));
        }
        total = total.saturating_add(entry.size());
        if total > max_unpacked {
            return Err(format!(
                "artifacts archive unpacks to more than {max_unpacked} bytes"
            ));
        }
    }
    Ok(())
}

/// A relative path without `..`, NUL or a root: safe to resolve inside a directory.
pub fn is_safe_relative(path: &str) -> bool {
    if path.is_empty() || path.contains('\0') || path.contains('\\') {
        return false;
    }
    Path::new(path)
        .components()
        .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
}

/// What opening one entry found.
#[derive(Debug)]
pub enum Entry {
    /// The entry exists; its bytes follow on the channel.
    Found {
        size: u64,
        chunks: mpsc::Receiver<std::io::Result<Bytes>>,
    },
    /// No such file in the archive (directories count as missing).
    Missing,
    /// The entry claims more than `cap` bytes.
    TooLarge,
}

/// Streams the file `name` of the zip at `path`, reading at most its declared size and at
/// most `cap` bytes. Runs on a blocking thread; the first answer says whether it exists.
pub async fn open_entry(
    path: std::path::PathBuf,
    name: String,
    cap: u64,
) -> std::io::Result<Entry> {
    let (first_tx, first_rx) = oneshot::channel::<std::io::Result<Entry>>();
    tokio::task::spawn_blocking(move || stream_entry(&path, &name, cap, first_tx));
    first_rx
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("archive reader stopped")))
}

fn stream_entry(path: &Path, name: &str, cap: u64, first: oneshot::Sender<std::io::Result<Entry>>) {
    let opened = std::fs::File::open(path).and_then(|file| {
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(std::io::Error::other)
    });
    let mut archive = match opened {
        Ok(archive) => archive,
        Err(err) => {
            let _ = first.send(Err(err));
            return;
        }
    };
    let Some(index) = archive.index_for_name(name) else {
        let _ = first.send(Ok(Entry::Missing));
        return;
    };
    let mut entry = match archive.by_index(index) {
        Ok(entry) => entry,
        Err(err) => {
            let _ = first.send(Err(std::io::Error::other(err)));
            return;
        }
    };
    if entry.is_dir() {
        let _ = first.send(Ok(Entry::Missing));
        return;
    }
    let size = entry.size();
    if size > cap {
        let _ = first.send(Ok(Entry::TooLarge));
        return;
    }
    let (tx, rx) = mpsc::channel(4);
    if first.send(Ok(Entry::Found { size, chunks: rx })).is_err() {
        return;
    }
    let mut sent: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    loop {
        // One byte more than declared is enough to catch a lying header.
        let room = usize::try_from((size + 1).saturating_sub(sent)).unwrap_or(CHUNK);
        let want = room.min(CHUNK);
        if want == 0 {
            return;
        }
        let read = match entry.read(&mut buf[..want]) {
            Ok(0) => return,
            Ok(read) => read,
            Err(err) => {
                let _ = tx.blocking_send(Err(err));
                return;
            }
        };
        sent += read as u64;
        if sent > size {
            let _ = tx.blocking_send(Err(std::io::Error::other(
                "archive entry is larger than its header says",
            )));
            return;
        }
        if tx
            .blocking_send(Ok(Bytes::copy_from_slice(&buf[..read])))
            .is_err()
        {
            // The client went away.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(entries: &[(&str, &[u8])]) -> std::io::Result<tempfile::NamedTempFile> {
        let file = tempfile::NamedTempFile::new()?;
        let mut zip = zip::ZipWriter::new(file.reopen()?);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options)
                .map_err(std::io::Error::other)?;
            zip.write_all(bytes)?;
        }
        zip.finish().map_err(std::io::Error::other)?;
        Ok(file)
    }

    #[test]
    fn safe_paths() {
        assert!(is_safe_relative("dist/app.js"));
        assert!(is_safe_relative("./a"));
        assert!(!is_safe_relative("../etc/passwd"));
        assert!(!is_safe_relative("a/../../b"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a\\..\\b"));
        assert!(!is_safe_relative(""));
    }

    #[test]
    fn checks_names_and_unpacked_size() -> std::io::Result<()> {
        let good = zip_with(&[("a.txt", b"hello"), ("dir/b.txt", &[0u8; 1000])])?;
        assert_eq!(check_zip(good.path(), 10_000), Ok(()));
        assert!(check_zip(good.path(), 500).is_err_and(|e| e.contains("unpacks to more")));
        let evil = zip_with(&[("../evil", b"x")])?;
        assert!(check_zip(evil.path(), 10_000).is_err_and(|e| e.contains("path traversal")));
        let not_zip = tempfile::NamedTempFile::new()?;
        std::fs::write(not_zip.path(), b"plain text")?;
        assert!(check_zip(not_zip.path(), 10_000).is_err_and(|e| e.contains("not a valid zip")));
        Ok(())
    }

    #[tokio::test]
    async fn streams_one_entry() -> std::io::Result<()> {
        let zip = zip_with(&[("a.txt", b"hello"), ("big.bin", &[7u8; 200_000])])?;
        let path = zip.path().to_path_buf();
        let Entry::Found { size, mut chunks } =
            open_entry(path.clone(), "big.bin".into(), 1 << 20).await?
        else {
            panic!("entry missing");
        };
        assert_eq!(size, 200_000);
        let mut total = 0;
        while let Some(chunk) = chunks.recv().await {
            total += chunk?.len();
        }
        assert_eq!(total, 200_000);
        assert!(matches!(
            open_entry(path.clone(), "nope".into(), 1 << 20).await?,
            Entry::Missing
        ));
        assert!(matches!(
            open_entry(path, "big.bin".into(), 1000).await?,
            Entry::TooLarge
        ));
        Ok(())
    }
}
