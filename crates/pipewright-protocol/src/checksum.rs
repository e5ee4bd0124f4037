//! The log checksum of final updates: `crc32:` + 8 lowercase hex digits of the IEEE CRC-32
//! (the one of zlib/gzip, reflected polynomial 0xEDB88320) of the whole log.

const TABLE: [u32; 256] = make_table();

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// Incremental IEEE CRC-32, for logs that arrive in chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Crc32 {
    /// Running value, kept un-inverted between updates.
    state: u32,
    len: u64,
}

impl Crc32 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        let mut crc = !self.state;
        for &byte in data {
            crc = TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
        }
        self.state = !crc;
        self.len += data.len() as u64;
    }

    /// The CRC of everything fed so far.
    pub fn value(&self) -> u32 {
        self.state
    }

    /// How many bytes were fed.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `crc32:<8 hex>` of everything fed so far.
    pub fn checksum(&self) -> String {
        format!("crc32:{:08x}", self.state)
    }
}

/// `crc32:<8 hex>` of `data`.
pub fn crc32_checksum(data: &[u8]) -> String {
    let mut crc = Crc32::new();
    crc.update(data);
    crc.checksum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(crc32_checksum(b""), "crc32:00000000");
        assert_eq!(crc32_checksum(b"123456789"), "crc32:cbf43926");
        assert_eq!(
            crc32_checksum(b"The quick brown fox jumps over the lazy dog"),
            "crc32:414fa339"
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let mut crc = Crc32::new();
        crc.update(b"1234");
        crc.update(b"");
        crc.update(b"56789");
        assert_eq!(crc.value(), 0xCBF4_3926);
        assert_eq!(crc.len(), 9);
    }
}
