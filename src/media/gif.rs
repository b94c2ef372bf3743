//! GIFs read block by block, without decoding: comment and application extensions (XMP rides in
//! one) are dropped, the looping extension kept, and the largest extent of the canvas and every
//! frame measured, so that a small canvas cannot hide a huge frame from the pixel cap.

/// A GIF without its metadata, and the largest width and height its canvas or any frame takes.
#[derive(Debug, PartialEq, Eq)]
pub struct Cleaned {
    pub bytes: Vec<u8>,
    pub extent: (u32, u32),
}

/// Application extensions that only say how to play the animation.
const PLAYBACK: [&[u8]; 2] = [b"NETSCAPE2.0", b"ANIMEXTS1.0"];

/// Cleans `data`; `None` when it is not a GIF this reader can follow to its end.
pub fn clean(data: &[u8]) -> Option<Cleaned> {
    if data.len() < 13 || !(data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) {
        return None;
    }
    let word = |at: usize| u32::from(u16::from_le_bytes([data[at], data[at + 1]]));
    let mut extent = (word(6), word(8));
    let packed = data[10];
    let mut at = 13 + table_len(packed);
    let mut out = data.get(..at)?.to_vec();
    loop {
        match *data.get(at)? {
            0x3B => {
                out.push(0x3B);
                return Some(Cleaned { bytes: out, extent });
            }
            0x21 => {
                let label = *data.get(at + 1)?;
                let end = sub_blocks_end(data, at + 2)?;
                let keep = match label {
                    0xFE => false,
                    0xFF => {
                        let first = *data.get(at + 2)? as usize;
                        let name = data.get(at + 3..at + 3 + first.min(11))?;
                        PLAYBACK.contains(&name)
                    }
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(&data[at..end]);
                }
                at = end;
            }
            0x2C => {
                let descriptor = data.get(at..at + 10)?;
                let right = word(at + 1) + word(at + 5);
                let bottom = word(at + 3) + word(at + 7);
                extent = (extent.0.max(right), extent.1.max(bottom));
                let data_start = at + 10 + table_len(descriptor[9]) + 1;
                let end = sub_blocks_end(data, data_start)?;
                out.extend_from_slice(&data[at..end]);
                at = end;
            }
            _ => return None,
        }
    }
}

/// The length of the colour table a packed byte announces.
fn table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// Where a run of sub-blocks starting at `at` ends (after its zero-length terminator).
fn sub_blocks_end(data: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let size = *data.get(at)? as usize;
        at += 1 + size;
        if size == 0 {
            return Some(at);
        }
        if at > data.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF with a 2×2 canvas, a comment, an XMP extension, the looping extension, and one
    /// frame placed at (10, 20) sized 300×400.
    fn crafted() -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[2, 0, 2, 0, 0x80, 0, 0]); // canvas 2x2, a 2-colour table
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        gif.extend_from_slice(&[0x21, 0xFE, 5]);
        gif.extend_from_slice(b"hello");
        gif.push(0);
        gif.extend_from_slice(&[0x21, 0xFF, 11]);
        gif.extend_from_slice(b"XMP DataXMP");
        gif.extend_from_slice(&[4]);
        gif.extend_from_slice(b"<gps");
        gif.push(0);
        gif.extend_from_slice(&[0x21, 0xFF, 11]);
        gif.extend_from_slice(b"NETSCAPE2.0");
        gif.extend_from_slice(&[3, 1, 0, 0, 0]);
        gif.extend_from_slice(&[0x2C, 10, 0, 20, 0, 0x2C, 0x01, 0x90, 0x01, 0]); // 300x400 at (10,20)
        gif.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]); // LZW code size, one sub-block
        gif.push(0x3B);
        gif
    }

    #[test]
    fn comments_and_xmp_go_and_the_largest_frame_counts() {
        let cleaned = clean(&crafted()).expect("a GIF");
        assert_eq!(cleaned.extent, (310, 420));
        assert!(!cleaned.bytes.windows(5).any(|w| w == b"hello"));
        assert!(!cleaned.bytes.windows(4).any(|w| w == b"<gps"));
        assert!(cleaned.bytes.windows(11).any(|w| w == b"NETSCAPE2.0"));
        assert_eq!(cleaned.bytes.last(), Some(&0x3B));
    }

    #[test]
    fn anything_cut_short_is_not_followed() {
        let gif = crafted();
        assert_eq!(clean(&gif[..gif.len() - 3]), None);
        assert_eq!(clean(b"GIF89a"), None);
        assert_eq!(clean(b"\x89PNG"), None);
    }
}
