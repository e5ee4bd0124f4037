//! The ref updates at the head of a `git-receive-pack` request, and the answer that refuses
//! a push the way a declined pre-receive hook does (`remote: GitLab: <reason>` and
//! `! [remote rejected] <ref> (pre-receive hook declined)` on the client).

use pipewright_core::protected_refs::RefChange;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest command section read before giving up (thousands of refs fit easily).
const MAX_COMMANDS_BYTES: usize = 4 * 1024 * 1024;

/// The commands of a push and the capabilities the client asked for.
#[derive(Debug, Default)]
pub struct PushCommands {
    /// Every byte consumed from the body, to be replayed in front of the rest.
    pub consumed: Vec<u8>,
    pub changes: Vec<RefChange>,
    pub side_band: bool,
}

fn hex_len(bytes: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(bytes).ok()?;
    usize::from_str_radix(text, 16).ok()
}

/// Reads pkt-lines up to the first flush packet.
pub async fn read_commands<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<PushCommands> {
    let mut commands = PushCommands::default();
    loop {
        let mut header = [0u8; 4];
        reader.read_exact(&mut header).await?;
        commands.consumed.extend_from_slice(&header);
        let len =
            hex_len(&header).ok_or_else(|| std::io::Error::other("invalid pkt-line length"))?;
        if len == 0 {
            return Ok(commands);
        }
        if len < 4 || commands.consumed.len() + len > MAX_COMMANDS_BYTES {
            return Err(std::io::Error::other("invalid pkt-line"));
        }
        let mut payload = vec![0u8; len - 4];
        reader.read_exact(&mut payload).await?;
        commands.consumed.extend_from_slice(&payload);
        let (line, capabilities) = match payload.iter().position(|b| *b == 0) {
            Some(nul) => (&payload[..nul], Some(&payload[nul + 1..])),
            None => (&payload[..], None),
        };
        if let Some(capabilities) = capabilities {
            let text = String::from_utf8_lossy(capabilities);
            commands.side_band = text
                .split_whitespace()
                .any(|cap| cap == "side-band-64k" || cap == "side-band");
        }
        let line = String::from_utf8_lossy(line);
        let mut parts = line.trim_end_matches('\n').splitn(3, ' ');
        if let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next())
            && is_object_id(old)
            && is_object_id(new)
        {
            commands.changes.push(RefChange {
                old: old.to_owned(),
                new: new.to_owned(),
                name: name.to_owned(),
            });
        }
    }
}

/// A SHA-1 or SHA-256 object name.
fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn pkt_line(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("{:04x}", payload.len() + 4).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A receive-pack result refusing every ref with GitLab's message on the progress band.
pub fn rejection(commands: &PushCommands, message: &str) -> Vec<u8> {
    let mut report = pkt_line(b"unpack ok\n");
    for change in &commands.changes {
        report.extend(pkt_line(
            format!("ng {} pre-receive hook declined\n", change.name).as_bytes(),
        ));
    }
    report.extend_from_slice(b"0000");
    if !commands.side_band {
        return report;
    }
    let mut out = Vec::new();
    let mut progress = vec![2u8];
    progress.extend_from_slice(format!("GitLab: {message}\n").as_bytes());
    out.extend(pkt_line(&progress));
    // Band 1 carries the report; 65515 bytes is the side-band-64k payload limit.
    for chunk in report.chunks(65515) {
        let mut data = vec![1u8];
        data.extend_from_slice(chunk);
        out.extend(pkt_line(&data));
    }
    out.extend_from_slice(b"0000");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commands_are_read_up_to_the_flush() {
        let old = "a".repeat(40);
        let new = "b".repeat(40);
        let first = format!("{old} {new} refs/heads/main\0report-status side-band-64k\n");
        let second = format!("{old} {} refs/heads/gone\n", "0".repeat(40));
        let mut body = pkt_line(first.as_bytes());
        body.extend(pkt_line(second.as_bytes()));
        body.extend_from_slice(b"0000PACK...");
        let mut reader = &body[..];
        let commands = read_commands(&mut reader).await.expect("commands");
        assert!(commands.side_band);
        assert_eq!(commands.changes.len(), 2);
        assert_eq!(commands.changes[1].name, "refs/heads/gone");
        assert_eq!(reader, b"PACK...");
        assert_eq!(commands.consumed.len(), body.len() - 7);
        let answer = rejection(&commands, "nope");
        assert!(answer.starts_with(b"0012\x02GitLab: nope\n"));
        assert!(answer.ends_with(b"0000"));
    }
}
