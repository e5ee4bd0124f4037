//! Artifact files on disk: selecting them (`paths`, `untracked`, `exclude`) and packing them
//! in the formats of the protocol (`zip`, `gzip`, `raw`), plus extracting downloaded zips.
//! Blocking IO; callers run it on the blocking pool.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use pipewright_protocol::ArtifactFormat;

use crate::glob::Pattern;

/// One selected entry, relative to the project directory (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub rel: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
}

/// What `paths` + `untracked` − `exclude` select in `root`, sorted; per path pattern the
/// number of entries it matched (for the log, like GitLab's "found N matching ...").
pub(crate) struct Selection {
    pub entries: Vec<Entry>,
    pub counts: Vec<(String, usize)>,
}

/// Selects artifact entries. `untracked` lists untracked files (from git), relative.
pub(crate) fn select(
    root: &Path,
    paths: &[String],
    untracked: &[String],
    exclude: &[String],
) -> io::Result<Selection> {
    let all = walk(root)?;
    let exclude: Vec<Pattern> = exclude.iter().filter_map(|p| Pattern::new(p)).collect();
    let excluded = |rel: &str| ancestors(rel).any(|a| exclude.iter().any(|p| p.matches(a)));

    let mut chosen = std::collections::BTreeSet::new();
    let mut counts = Vec::new();
    for raw in paths {
        let Some(pattern) = Pattern::new(raw) else {
            counts.push((raw.clone(), 0));
            continue;
        };
        let mut count = 0;
        for entry in &all {
            // A matching directory brings everything below it.
            if ancestors(&entry.rel).any(|a| pattern.matches(a)) && !excluded(&entry.rel) {
                count += 1;
                chosen.insert(entry.clone());
            }
        }
        counts.push((raw.clone(), count));
    }
    for rel in untracked {
        if let Some(entry) = all.iter().find(|e| &e.rel == rel)
            && !excluded(rel)
        {
            chosen.insert(entry.clone());
        }
    }
    Ok(Selection {
        entries: chosen.into_iter().collect(),
        counts,
    })
}

/// `a/b/c`, `a/b`, `a`.
fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(rel), |r| r.rsplit_once('/').map(|(parent, _)| parent))
}

/// Every entry below `root` except `.git` at its top; symlinks are not followed.
fn walk(root: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for item in fs::read_dir(&dir)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && name == ".git" {
                continue;
            }
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let file_type = item.file_type()?;
            let kind = if file_type.is_symlink() {
                Kind::Symlink
            } else if file_type.is_dir() {
                stack.push((item.path(), rel.clone()));
                Kind::Dir
            } else {
                Kind::File
            };
            out.push(Entry { rel, kind });
        }
    }
    out.sort();
    Ok(out)
}

/// The uploaded file name for an artifact entry: `<name>.zip`, `<name>.gz` or `<name>`.
pub(crate) fn file_name(name: Option<&str>, format: ArtifactFormat) -> String {
    let name = name.filter(|n| !n.is_empty()).unwrap_or("artifacts");
    match format {
        ArtifactFormat::Zip => format!("{name}.zip"),
        ArtifactFormat::Gzip => format!("{name}.gz"),
        _ => name.to_owned(),
    }
}

/// Packs `entries` of `root` into `dest` in `format`.
pub(crate) fn pack(
    root: &Path,
    entries: &[Entry],
    format: ArtifactFormat,
    dest: &Path,
) -> Result<(), String> {
    match format {
        ArtifactFormat::Zip => pack_zip(root, entries, dest).map_err(|e| e.to_string()),
        ArtifactFormat::Gzip => pack_gzip(root, entries, dest).map_err(|e| e.to_string()),
        ArtifactFormat::Raw => {
            let files: Vec<&Entry> = entries.iter().filter(|e| e.kind == Kind::File).collect();
            match files.as_slice() {
                [one] => fs::copy(root.join(&one.rel), dest)
                    .map(drop)
                    .map_err(|e| e.to_string()),
                _ => Err(format!(
                    "the raw format takes exactly one file, {} matched",
                    files.len()
                )),
            }
        }
        other => Err(format!("unsupported artifact format {other:?}")),
    }
}

fn pack_zip(root: &Path, entries: &[Entry], dest: &Path) -> zip::result::ZipResult<()> {
    use std::os::unix::fs::PermissionsExt;
    use zip::write::SimpleFileOptions;

    let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(dest)?));
    let base = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for entry in entries {
        let path = root.join(&entry.rel);
        let meta = fs::symlink_metadata(&path)?;
        let options = base.unix_permissions(meta.permissions().mode() & 0o7777);
        match entry.kind {
            Kind::Dir => zip.add_directory(format!("{}/", entry.rel), options)?,
            Kind::Symlink => {
                let target = fs::read_link(&path)?;
                zip.add_symlink(&entry.rel, target.to_string_lossy(), options)?;
            }
            Kind::File => {
                zip.start_file(
                    &entry.rel,
                    options.large_file(meta.len() >= u64::from(u32::MAX)),
                )?;
                io::copy(&mut File::open(&path)?, &mut zip)?;
            }
        }
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// One gzip member per file, each named after the file (GitLab reads them as a stream).
fn pack_gzip(root: &Path, entries: &[Entry], dest: &Path) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(dest)?);
    for entry in entries.iter().filter(|e| e.kind == Kind::File) {
        let name = entry.rel.rsplit('/').next().unwrap_or(&entry.rel);
        let mut encoder = flate2::GzBuilder::new()
            .filename(name.as_bytes())
            .write(&mut out, flate2::Compression::default());
        io::copy(&mut File::open(root.join(&entry.rel))?, &mut encoder)?;
        encoder.finish()?;
    }
    out.flush()
}

/// Extracts the zip at `archive` into `dest` (entries escaping `dest` are refused by the
/// zip crate).
pub(crate) fn extract_zip(archive: &Path, dest: &Path) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(File::open(archive).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    zip.extract(dest).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (path, content) in [
            ("dist/app.bin", "bin"),
            ("dist/tmp/x.tmp", "tmp"),
            ("dist/readme.txt", "txt"),
            ("report.xml", "<xml/>"),
            ("other.xml", "<other/>"),
            (".git/config", "secret"),
        ] {
            let path = root.join(path);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, content).expect("write");
        }
        std::os::unix::fs::symlink("app.bin", root.join("dist/link")).expect("symlink");
        dir
    }

    fn rels(selection: &Selection) -> Vec<&str> {
        selection.entries.iter().map(|e| e.rel.as_str()).collect()
    }

    #[test]
    fn directories_bring_their_content_minus_excludes() {
        let dir = tree();
        let sel = select(
            dir.path(),
            &["dist/".into(), "*.none".into()],
            &[],
            &["dist/tmp".into(), "**/*.txt".into()],
        )
        .expect("select");
        assert_eq!(rels(&sel), ["dist", "dist/app.bin", "dist/link"]);
        assert_eq!(sel.counts, [("dist/".into(), 3), ("*.none".into(), 0)]);
    }

    #[test]
    fn git_dir_is_never_selected_and_untracked_adds_files() {
        let dir = tree();
        let sel = select(
            dir.path(),
            &["**/config".into()],
            &["other.xml".into()],
            &[],
        )
        .expect("select");
        assert_eq!(rels(&sel), ["other.xml"]);
    }

    #[test]
    fn zip_round_trip_keeps_files_dirs_and_links() {
        let dir = tree();
        let sel =
            select(dir.path(), &["dist".into(), "report.xml".into()], &[], &[]).expect("select");
        let out = tempfile::tempdir().expect("out");
        let archive = out.path().join("a.zip");
        pack(dir.path(), &sel.entries, ArtifactFormat::Zip, &archive).expect("pack");
        let dest = out.path().join("x");
        fs::create_dir(&dest).expect("mkdir");
        extract_zip(&archive, &dest).expect("extract");
        assert_eq!(
            fs::read_to_string(dest.join("dist/tmp/x.tmp")).expect("read"),
            "tmp"
        );
        assert_eq!(
            fs::read_to_string(dest.join("report.xml")).expect("read"),
            "<xml/>"
        );
        assert_eq!(
            fs::read_link(dest.join("dist/link")).expect("link"),
            Path::new("app.bin")
        );
    }

    #[test]
    fn gzip_and_raw() {
        use std::io::Read;
        let dir = tree();
        let sel = select(dir.path(), &["report.xml".into()], &[], &[]).expect("select");
        let out = tempfile::tempdir().expect("out");
        let gz = out.path().join("r.gz");
        pack(dir.path(), &sel.entries, ArtifactFormat::Gzip, &gz).expect("gzip");
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(File::open(&gz).expect("open"))
            .read_to_string(&mut text)
            .expect("gunzip");
        assert_eq!(text, "<xml/>");

        let raw = out.path().join("raw");
        pack(dir.path(), &sel.entries, ArtifactFormat::Raw, &raw).expect("raw");
        assert_eq!(fs::read_to_string(&raw).expect("read"), "<xml/>");
        let two = select(dir.path(), &["*.xml".into()], &[], &[]).expect("select");
        assert!(pack(dir.path(), &two.entries, ArtifactFormat::Raw, &raw).is_err());
    }

    #[test]
    fn file_names_follow_the_format() {
        assert_eq!(file_name(None, ArtifactFormat::Zip), "artifacts.zip");
        assert_eq!(
            file_name(Some("junit.xml"), ArtifactFormat::Gzip),
            "junit.xml.gz"
        );
        assert_eq!(
            file_name(Some("sast.json"), ArtifactFormat::Raw),
            "sast.json"
        );
    }
}
