//! CRC-framed records: `[len: u32 LE][crc32(payload): u32 LE][payload]`.
//!
//! Used by log segments and checkpoints. A frame that is short or fails its checksum marks the
//! end of the valid data in a file: after a crash that is a torn tail, elsewhere corruption.

use std::io::{self, Read};

const HEADER_BYTES: usize = 8;
/// Larger frames are refused; no single mutation comes near it.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Appends one frame holding `payload` to `out`.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends one frame whose payload `write` appends to `out`, without a copy of the payload;
/// returns the payload's length.
pub fn encode_frame_with(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_BYTES]);
    write(out);
    let len = out.len() - start - HEADER_BYTES;
    let crc = crc32fast::hash(&out[start + HEADER_BYTES..]);
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    out[start + 4..start + HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
    len
}

/// The outcome of reading the next frame.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameRead {
    /// A whole frame with a valid checksum.
    Frame(Vec<u8>),
    /// The file ended exactly at a frame boundary.
    End,
    /// A partial or corrupt frame starts at the current offset.
    Bad(&'static str),
}

/// Reads frames from a byte stream, tracking the offset of the last good frame's end.
pub struct FrameReader<R> {
    inner: R,
    /// Bytes consumed by good frames so far.
    pub offset: u64,
}

impl<R: Read> FrameReader<R> {
    /// Wraps a reader positioned at a frame boundary.
    pub fn new(inner: R) -> Self {
        FrameReader { inner, offset: 0 }
    }

    /// Reads the next frame.
    pub fn next_frame(&mut self) -> io::Result<FrameRead> {
        let mut header = [0u8; HEADER_BYTES];
        let got = read_full(&mut self.inner, &mut header)?;
        if got == 0 {
            return Ok(FrameRead::End);
        }
        if got < HEADER_BYTES {
            return Ok(FrameRead::Bad("truncated frame header"));
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        // No entry is empty, so a zero length is the zero-filled tail a crash can leave.
        if len == 0 || len > MAX_FRAME_BYTES {
            return Ok(FrameRead::Bad("frame length out of range"));
        }
        let mut payload = vec![0u8; len];
        if read_full(&mut self.inner, &mut payload)? < len {
            return Ok(FrameRead::Bad("truncated frame payload"));
        }
        if crc32fast::hash(&payload) != crc {
            return Ok(FrameRead::Bad("frame checksum mismatch"));
        }
        self.offset += (HEADER_BYTES + len) as u64;
        Ok(FrameRead::Frame(payload))
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode_frame(p, &mut out);
        }
        out
    }

    fn read_all(bytes: &[u8]) -> (Vec<Vec<u8>>, FrameRead, u64) {
        let mut reader = FrameReader::new(bytes);
        let mut got = Vec::new();
        loop {
            match reader.next_frame().unwrap() {
                FrameRead::Frame(p) => got.push(p),
                other => return (got, other, reader.offset),
            }
        }
    }

    #[test]
    fn frames_round_trip() {
        let bytes = frames(&[b"one", b"two", b"three"]);
        let (got, end, offset) = read_all(&bytes);
        assert_eq!(
            got,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert_eq!(end, FrameRead::End);
        assert_eq!(offset, bytes.len() as u64);
    }

    #[test]
    fn a_frame_written_in_place_is_the_frame_of_its_payload() {
        let mut in_place = b"before".to_vec();
        let len = encode_frame_with(&mut in_place, |out| out.extend_from_slice(b"payload"));
        let mut copied = b"before".to_vec();
        encode_frame(b"payload", &mut copied);
        assert_eq!(len, 7);
        assert_eq!(in_place, copied);
        let (got, end, _) = read_all(&in_place[6..]);
        assert_eq!((got, end), (vec![b"payload".to_vec()], FrameRead::End));
    }

    #[test]
    fn every_torn_tail_is_detected_at_the_last_good_frame() {
        let bytes = frames(&[b"first", b"second record"]);
        let first_len = 8 + 5;
        for cut in first_len + 1..bytes.len() {
            let (got, end, offset) = read_all(&bytes[..cut]);
            assert_eq!(got.len(), 1, "cut at {cut}");
            assert!(matches!(end, FrameRead::Bad(_)));
            assert_eq!(offset, first_len as u64);
        }
    }

    #[test]
    fn zero_filled_tail_is_not_a_frame() {
        let mut bytes = frames(&[b"first"]);
        bytes.extend_from_slice(&[0u8; 4096]);
        let (got, end, offset) = read_all(&bytes);
        assert_eq!(got, vec![b"first".to_vec()]);
        assert!(matches!(end, FrameRead::Bad(_)));
        assert_eq!(offset, 13);
    }

    #[test]
    fn bit_flip_fails_checksum() {
        let mut bytes = frames(&[b"payload"]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        let (got, end, _) = read_all(&bytes);
        assert!(got.is_empty());
        assert_eq!(end, FrameRead::Bad("frame checksum mismatch"));
    }
}
