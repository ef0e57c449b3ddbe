//! The codecs of sealed frames (blocks and time index chunks): the first payload byte names
//! the codec, so a later version can change it without a new file format.

/// Codec ids, the first byte of every block frame's payload, so a later version can change the
/// codec without a new file format.
const CODEC_NONE: u8 = 0;
const CODEC_DEFLATE: u8 = 2;
/// Deflate after the inflated length (a varint), so a reader allocates the block once instead
/// of growing a buffer as it inflates (a tenth of a cold query's time); written since blocks
/// were read row by row.
const CODEC_DEFLATE_SIZED: u8 = 3;
/// Deflate's fastest level: on the simulated corpus it costs about what Snappy costs to write
/// and read, and stores 13% less (see docs/architecture.md for the measurements).
const DEFLATE_LEVEL: u8 = 1;
/// Most bytes a block may inflate to; far above any real block (4096 events of at most 1 MiB
/// would be more, but such events do not come in thousands), and a bound for a damaged one.
const MAX_BLOCK_BYTES: usize = 1 << 30;

pub(crate) fn compress(raw: &[u8]) -> Vec<u8> {
    let mut header = crate::columns::ColumnWriter::default();
    header.buf.push(CODEC_DEFLATE_SIZED);
    header.varint(raw.len() as u64);
    let mut out = header.buf;
    out.extend(miniz_oxide::deflate::compress_to_vec(raw, DEFLATE_LEVEL));
    out
}

pub(crate) fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (codec, body) = bytes.split_first().ok_or("empty block")?;
    match *codec {
        CODEC_NONE => Ok(body.to_vec()),
        CODEC_DEFLATE => miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_BLOCK_BYTES)
            .map_err(|e| format!("inflating: {e:?}")),
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
            // Raw Deflate (negative window bits: no zlib header).
            let config = zlib_rs::InflateConfig { window_bits: -15 };
            let (inflated, code) = zlib_rs::decompress_slice(&mut out, deflated, config);
            let written = inflated.len();
            if code != zlib_rs::ReturnCode::Ok {
                return Err(format!("inflating: {code:?}"));
            }
            if written != len {
                return Err(format!("inflated {written} bytes, {len} announced"));
            }
            Ok(out)
        }
        other => Err(format!("unknown codec {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_every_codec_inflate_and_a_wrong_length_is_refused() {
        let raw: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        assert_eq!(decompress(&compress(&raw)).unwrap(), raw);
        // Files written before the sized codec.
        let mut older = vec![CODEC_DEFLATE];
        older.extend(miniz_oxide::deflate::compress_to_vec(&raw, DEFLATE_LEVEL));
        assert_eq!(decompress(&older).unwrap(), raw);
        let mut plain = vec![CODEC_NONE];
        plain.extend(&raw);
        assert_eq!(decompress(&plain).unwrap(), raw);
        // An announced length that disagrees with the stream, either way.
        for announced in [raw.len() - 1, raw.len() + 1, usize::MAX] {
            let mut w = crate::columns::ColumnWriter::default();
            w.buf.push(CODEC_DEFLATE_SIZED);
            w.varint(announced as u64);
            w.buf
                .extend(miniz_oxide::deflate::compress_to_vec(&raw, DEFLATE_LEVEL));
            assert!(decompress(&w.buf).is_err(), "announced {announced}");
        }
        assert!(decompress(&[9, 1, 2]).is_err());
    }
}
