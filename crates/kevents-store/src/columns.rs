//! Primitive column encodings of sealed blocks: LEB128 varints, zigzag deltas, and string columns
//! that are dictionary-encoded when their values repeat.

/// Why a block's bytes could not be decoded (after its checksum matched: a format bug or a
/// file from an unknown version).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("undecodable block: {0}")]
pub struct DecodeError(pub &'static str);

/// Appends column values to a byte buffer.
#[derive(Default)]
pub struct ColumnWriter {
    /// The encoded bytes.
    pub buf: Vec<u8>,
}

impl ColumnWriter {
    /// An unsigned LEB128 varint.
    pub fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    /// A signed value, zigzag-mapped so small magnitudes of either sign stay short.
    pub fn zigzag(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    /// A string column of `values`: a dictionary of distinct values plus one index per row when
    /// fewer than half the rows are distinct, else the values in row order.
    pub fn strings<'a>(&mut self, values: &[&'a str]) {
        let mut dictionary: Vec<&'a str> = Vec::new();
        let mut positions: crate::fast_map::FastMap<&'a str, u64> = Default::default();
        let mut indices = Vec::with_capacity(values.len());
        for value in values {
            let next = dictionary.len() as u64;
            let index = *positions.entry(value).or_insert_with(|| {
                dictionary.push(value);
                next
            });
            indices.push(index);
        }
        if dictionary.len() * 2 <= values.len() {
            self.buf.push(1);
            self.varint(dictionary.len() as u64);
            for value in dictionary {
                self.bytes(value.as_bytes());
            }
            for index in indices {
                self.varint(index);
            }
        } else {
            self.buf.push(0);
            for value in values {
                self.bytes(value.as_bytes());
            }
        }
    }
}

/// Reads column values back, refusing anything out of bounds.
pub struct ColumnReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ColumnReader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> ColumnReader<'a> {
        ColumnReader { buf, pos: 0 }
    }

    /// How many bytes were consumed.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte was consumed.
    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// One byte.
    #[inline]
    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        let byte = *self.buf.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(byte)
    }

    /// An unsigned LEB128 varint.
    // Inlined with a one-byte fast path: most values of a block (lengths, dictionary indexes,
    // deltas) are below 128, and as a call per value varints were 7-9% of a name query's
    // profile.
    #[inline]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        match self.buf.get(self.pos) {
            Some(byte) if *byte < 0x80 => {
                self.pos += 1;
                Ok(u64::from(*byte))
            }
            _ => self.varint_long(),
        }
    }

    #[inline(never)]
    fn varint_long(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint too long"))
    }

    /// A zigzag-mapped signed value.
    #[inline]
    pub fn zigzag(&mut self) -> Result<i64, DecodeError> {
        let raw = self.varint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A count that must fit in the remaining bytes (every element takes at least one byte),
    /// so a damaged count cannot make a decoder allocate without bound.
    #[inline]
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        let count = self.varint()?;
        usize::try_from(count)
            .ok()
            .filter(|c| *c <= self.buf.len() - self.pos)
            .ok_or(DecodeError("count out of range"))
    }

    /// Length-prefixed bytes.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.count()?;
        let (bytes, _) = self.buf[self.pos..].split_at(len);
        self.pos += len;
        Ok(bytes)
    }

    /// Length-prefixed UTF-8.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError("invalid UTF-8"))
    }

    /// A string column of `rows` values written by `ColumnWriter::strings`, borrowed from the
    /// buffer (nothing is copied).
    pub fn string_refs(&mut self, rows: usize) -> Result<Vec<&'a str>, DecodeError> {
        let mut bytes = Vec::with_capacity(rows);
        self.string_bytes(rows, &mut bytes)?;
        let mut values = Vec::with_capacity(rows);
        for value in bytes {
            values.push(std::str::from_utf8(value).map_err(|_| DecodeError("invalid UTF-8"))?);
        }
        Ok(values)
    }

    /// A string column of `rows` values written by `ColumnWriter::strings`, appended to `out`
    /// as bytes borrowed from the buffer whose UTF-8 is not checked: a block's reader checks
    /// the values it uses (a filter reads a few columns, and only the rows it keeps are built).
    pub fn string_bytes(
        &mut self,
        rows: usize,
        out: &mut Vec<&'a [u8]>,
    ) -> Result<(), DecodeError> {
        // Filled in loops rather than collected from fallible iterators: those cannot size the
        // vector up front, and these run for every column of every block read.
        out.reserve(rows);
        match self.byte()? {
            0 => {
                for _ in 0..rows {
                    out.push(self.bytes()?);
                }
            }
            1 => {
                let size = self.count()?;
                let mut dictionary = Vec::with_capacity(size);
                for _ in 0..size {
                    dictionary.push(self.bytes()?);
                }
                for _ in 0..rows {
                    let index = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
                    out.push(
                        *dictionary
                            .get(index)
                            .ok_or(DecodeError("dictionary index out of range"))?,
                    );
                }
            }
            _ => return Err(DecodeError("unknown string column encoding")),
        }
        Ok(())
    }

    /// `len` raw bytes.
    pub fn slice(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.buf.len())
            .ok_or(DecodeError("truncated"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
}

/// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits), else `None`.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|i| bytes[*i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = bytes.iter().copied().filter(|b| *b != b'-').collect();
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// The canonical text of a UUID's 16 bytes (written digit by digit: this runs for two UIDs of
/// every event decoded).
pub fn format_uuid(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_round_trip_at_the_edges() {
        let mut w = ColumnWriter::default();
        let unsigned = [0, 1, 127, 128, 300, u64::MAX];
        let signed = [0, -1, 1, i64::MIN, i64::MAX, -300];
        unsigned.iter().for_each(|v| w.varint(*v));
        signed.iter().for_each(|v| w.zigzag(*v));
        let mut r = ColumnReader::new(&w.buf);
        for v in unsigned {
            assert_eq!(r.varint().unwrap(), v);
        }
        for v in signed {
            assert_eq!(r.zigzag().unwrap(), v);
        }
        assert!(r.at_end());
    }

    #[test]
    fn string_columns_round_trip_in_both_encodings() {
        for values in [
            vec!["Normal", "Warning", "Normal", "Normal", "", "Warning"],
            vec!["a", "b", "c", "d"],
        ] {
            let mut w = ColumnWriter::default();
            w.strings(&values);
            let mut r = ColumnReader::new(&w.buf);
            assert_eq!(r.string_refs(values.len()).unwrap(), values);
            assert!(r.at_end());
        }
    }

    #[test]
    fn damaged_columns_are_refused_not_trusted() {
        let mut w = ColumnWriter::default();
        w.strings(&["x", "x", "x"]);
        let mut damaged = w.buf.clone();
        *damaged.last_mut().unwrap() = 9; // an index past the dictionary
        assert!(ColumnReader::new(&damaged).string_refs(3).is_err());
        assert!(ColumnReader::new(&[0x80; 11]).varint().is_err());
        assert!(ColumnReader::new(&[200, 1]).bytes().is_err());
    }
}
