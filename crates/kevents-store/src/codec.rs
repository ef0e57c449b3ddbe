//! The codecs of sealed frames (blocks and time index chunks): the first payload byte names
//! the codec, so a later version can change it without a new file format.

use std::cell::RefCell;

/// Codec ids, the first byte of every block frame's payload, so a later version can change the
/// codec without a new file format.
const CODEC_NONE: u8 = 0;
/// Raw Deflate (files of the first cold tier).
const CODEC_DEFLATE: u8 = 2;
/// Deflate after the inflated length (a varint), so a reader allocates the block once instead
/// of growing a buffer as it inflates.
const CODEC_DEFLATE_SIZED: u8 = 3;
/// A Zstandard frame (with its content size): written since it measured 5% smaller and twice
/// as fast to read as Deflate level 1 on the simulated corpus (docs/architecture.md).
const CODEC_ZSTD: u8 = 4;
/// Zstandard's level 1: levels 3 and 5 saved 1-2% more for 1.1 and 2.2 times the
/// compression time.
const ZSTD_LEVEL: i32 = 1;
/// Most bytes a block may inflate to; far above any real block (4096 events of at most 1 MiB
/// would be more, but such events do not come in thousands), and a bound for a damaged one.
const MAX_BLOCK_BYTES: usize = 1 << 30;

thread_local! {
    // A Zstandard context holds a few hundred KiB of tables: made once per thread rather than
    // allocated and freed for every block read or written.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses a block or a chunk (Zstandard), with the codec's id in front.
pub(crate) fn compress(raw: &[u8]) -> Vec<u8> {
    let compressed = COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL).expect("a Zstandard context"));
        }
        let compressor = cell.as_mut().expect("made above");
        compressor
            .compress(raw)
            .expect("compressing into a growable buffer")
    });
    let mut out = Vec::with_capacity(compressed.len() + 1);
    out.push(CODEC_ZSTD);
    out.extend_from_slice(&compressed);
    out
}

/// The bytes `compress` (or an earlier version) was given back.
pub(crate) fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (codec, body) = bytes.split_first().ok_or("empty block")?;
    match *codec {
        CODEC_NONE => Ok(body.to_vec()),
        CODEC_DEFLATE => inflate_unsized(body),
        CODEC_DEFLATE_SIZED => {
            let mut r = crate::columns::ColumnReader::new(body);
            let len = r
                .varint()
                .ok()
                .and_then(|len| usize::try_from(len).ok())
                .filter(|len| *len <= MAX_BLOCK_BYTES)
                .ok_or("block length out of range")?;
            let deflated = &body[r.position()..];
            // Deflate expands at most about 1032 times: a larger claim is damage, refused
            // before anything is allocated for it.
            if len > deflated.len().saturating_mul(1032).saturating_add(64) {
                return Err("block length out of range".into());
            }
            let mut out = vec![0u8; len];
            let (written, code) = inflate(&mut out, deflated);
            if code != zlib_rs::ReturnCode::Ok {
                return Err(format!("inflating: {code:?}"));
            }
            if written != len {
                return Err(format!("inflated {written} bytes, {len} announced"));
            }
            Ok(out)
        }
        CODEC_ZSTD => {
            let len = zstd::zstd_safe::get_frame_content_size(body)
                .ok()
                .flatten()
                .and_then(|len| usize::try_from(len).ok())
                .filter(|len| *len <= MAX_BLOCK_BYTES)
                .ok_or("block length out of range")?;
            let mut out = Vec::with_capacity(len);
            DECOMPRESSOR.with(|cell| {
                let mut cell = cell.borrow_mut();
                if cell.is_none() {
                    let made = zstd::bulk::Decompressor::new();
                    *cell = Some(made.map_err(|e| format!("a Zstandard context: {e}"))?);
                }
                let decompressor = cell.as_mut().expect("made above");
                decompressor
                    .decompress_to_buffer(body, &mut out)
                    .map_err(|e| format!("decompressing: {e}"))
            })?;
            if out.len() != len {
                return Err(format!("decompressed {} bytes, {len} announced", out.len()));
            }
            Ok(out)
        }
        other => Err(format!("unknown codec {other}")),
    }
}

/// Inflates raw Deflate into `out`; returns how much it wrote.
fn inflate(out: &mut [u8], deflated: &[u8]) -> (usize, zlib_rs::ReturnCode) {
    // Raw Deflate (negative window bits: no zlib header).
    let config = zlib_rs::InflateConfig { window_bits: -15 };
    let (inflated, code) = zlib_rs::decompress_slice(out, deflated, config);
    (inflated.len(), code)
}

/// Inflates raw Deflate of unknown length, doubling the buffer until it fits.
fn inflate_unsized(deflated: &[u8]) -> Result<Vec<u8>, String> {
    let mut size = deflated.len().saturating_mul(4).max(4096);
    loop {
        let mut out = vec![0u8; size];
        match inflate(&mut out, deflated) {
            (written, zlib_rs::ReturnCode::Ok) => {
                out.truncate(written);
                return Ok(out);
            }
            (_, zlib_rs::ReturnCode::BufError) if size < MAX_BLOCK_BYTES => {
                size = size.saturating_mul(2).min(MAX_BLOCK_BYTES);
            }
            (_, code) => return Err(format!("inflating: {code:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deflate level 1, as blocks of codecs 2 and 3 were written.
    fn deflated(raw: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec(raw, 1)
    }

    #[test]
    fn blocks_of_every_codec_inflate_and_a_wrong_length_is_refused() {
        let raw: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let written = compress(&raw);
        assert_eq!(written[0], CODEC_ZSTD);
        assert_eq!(decompress(&written).unwrap(), raw);
        assert_eq!(decompress(&compress(&[])).unwrap(), Vec::<u8>::new());
        // Files written before Zstandard, and before the sized Deflate codec.
        let mut sized = crate::columns::ColumnWriter::default();
        sized.buf.push(CODEC_DEFLATE_SIZED);
        sized.varint(raw.len() as u64);
        sized.buf.extend(deflated(&raw));
        assert_eq!(decompress(&sized.buf).unwrap(), raw);
        let mut older = vec![CODEC_DEFLATE];
        older.extend(deflated(&raw));
        assert_eq!(decompress(&older).unwrap(), raw);
        let mut plain = vec![CODEC_NONE];
        plain.extend(&raw);
        assert_eq!(decompress(&plain).unwrap(), raw);
        // An announced length that disagrees with the stream, either way.
        for announced in [raw.len() - 1, raw.len() + 1, usize::MAX] {
            let mut w = crate::columns::ColumnWriter::default();
            w.buf.push(CODEC_DEFLATE_SIZED);
            w.varint(announced as u64);
            w.buf.extend(deflated(&raw));
            assert!(decompress(&w.buf).is_err(), "announced {announced}");
        }
        assert!(decompress(&[9, 1, 2]).is_err());
    }

    /// A damaged Zstandard frame is an error, never a panic or a wrong block: cut short, a
    /// flipped byte, or a frame header claiming another size.
    #[test]
    fn damaged_zstandard_frames_are_refused() {
        let raw: Vec<u8> = (0..20_000u32).map(|i| (i % 97) as u8).collect();
        let written = compress(&raw);
        for cut in [1, 2, written.len() / 2, written.len() - 1] {
            assert!(decompress(&written[..cut]).is_err(), "cut at {cut}");
        }
        for at in 1..written.len() {
            let mut flipped = written.clone();
            flipped[at] ^= 0x5a;
            if let Ok(back) = decompress(&flipped) {
                assert_eq!(back.len(), raw.len(), "byte {at}: a block of another size");
            }
        }
        let mut longer = written.clone();
        longer.push(0);
        assert!(decompress(&longer).is_err(), "trailing bytes");
    }
}
