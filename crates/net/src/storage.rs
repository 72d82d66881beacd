//! Durable storage in a data directory: what `ctx.persist` writes survives `kill -9`.
//!
//! Layout: `DIR/state/<hex of key>` holds the latest value of each key; `DIR/incarnation` counts
//! the starts of the node with this directory. Every write goes to a temporary file, is fsynced,
//! renamed over the old file (atomic on POSIX), and then the directory is fsynced, so after a
//! crash each key holds either its old or its new value, never a torn one.

use herald_core::Durable;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A node's data directory.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    state: PathBuf,
}

impl DataDir {
    /// Opens (creating if needed) the data directory `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let state = root.join("state");
        fs::create_dir_all(&state)?;
        Ok(Self { root, state })
    }

    /// Bumps and returns the incarnation: 1 on the first start with this directory, more after a
    /// restart (the node then recovers with [`DataDir::load`]).
    pub fn next_incarnation(&self) -> io::Result<u64> {
        let path = self.root.join("incarnation");
        let previous = match fs::read_to_string(&path) {
            Ok(s) => s.trim().parse::<u64>().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}: not a number: {e}", path.display()))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let next = previous + 1;
        write_atomic(&self.root, "incarnation", format!("{next}\n").as_bytes())?;
        Ok(next)
    }

    /// Durably writes `bytes` under `key`.
    pub fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        write_atomic(&self.state, &herald_core::trace::hex(key.as_bytes()), bytes)
    }

    /// Everything stored, as a node's [`Durable`] view. Leftover temporary files of a write that
    /// crashed before its rename are ignored.
    pub fn load(&self) -> io::Result<Durable> {
        let mut durable = Durable::new();
        let mut names: Vec<_> = fs::read_dir(&self.state)?.collect::<Result<Vec<_>, _>>()?;
        names.sort_by_key(|e| e.file_name());
        for entry in names {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let key = unhex(&name).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}: not a stored key", entry.path().display()))
            })?;
            durable.put(key, fs::read(entry.path())?);
        }
        Ok(durable)
    }
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

fn unhex(s: &str) -> Option<String> {
    if s.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_reopening_and_torn_temporaries_are_ignored() {
        let dir = std::env::temp_dir().join(format!("herald-net-storage-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let d = DataDir::open(&dir).unwrap();
        assert_eq!(d.next_incarnation().unwrap(), 1);
        d.put("term", &[1]).unwrap();
        d.put("term", &[2]).unwrap();
        d.put("a/b c", b"xyz").unwrap();
        fs::write(dir.join("state/.7465726d.tmp"), b"torn").unwrap();
        let again = DataDir::open(&dir).unwrap();
        assert_eq!(again.next_incarnation().unwrap(), 2);
        let durable = again.load().unwrap();
        assert_eq!(durable.get("term"), Some(&[2u8][..]));
        assert_eq!(durable.get("a/b c"), Some(&b"xyz"[..]));
        assert_eq!(durable.len(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }
}
