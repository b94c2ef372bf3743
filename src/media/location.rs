//! Where a video was shot, removed: MP4 and QuickTime files (ISO base media) keep it in
//! `moov/udta/©xyz` (and a track's `udta`) and in `moov/meta`'s item list (Apple's
//! `com.apple.quicktime.location.ISO6709`). Those boxes' payloads are overwritten with zeros
//! in place, so no offset in the file moves and the video plays as before; only the `moov` box
//! is read into memory (it holds the index, not the media).

use std::io::{Read, Seek, SeekFrom, Write};

/// The most of `moov` read to look for locations (an index larger than this is left alone).
const MAX_MOOV: u64 = 32 << 20;

/// Boxes whose children are boxes, on the way to a location.
const CONTAINERS: [&[u8; 4]; 4] = [b"moov", b"trak", b"udta", b"meta"];

/// How deep in `moov` boxes are looked into. A location is at most four levels down
/// (`moov/trak/udta/meta/ilst`); going deeper would let a crafted file of nested boxes
/// overflow the stack.
const MAX_DEPTH: usize = 8;

/// Zeroes the payload of every location box in the file; returns how many were found.
pub fn erase(file: &mut (impl Read + Write + Seek)) -> std::io::Result<usize> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut at = 0u64;
    while at + 8 <= len {
        let (size, kind, header) = box_header(file, at, len)?;
        if size == 0 {
            break;
        }
        if &kind == b"moov" && size <= MAX_MOOV {
            let mut moov = vec![0u8; size as usize];
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut moov)?;
            let mut spans = Vec::new();
            locations(&moov, header as usize, moov.len(), false, 0, &mut spans);
            for (start, end) in &spans {
                file.seek(SeekFrom::Start(at + *start as u64))?;
                file.write_all(&vec![0u8; end - start])?;
            }
            return Ok(spans.len());
        }
        at += size;
    }
    Ok(0)
}

/// A box's size (0 when unreadable), type and header length, at `at` of a file of `len` bytes.
fn box_header(
    file: &mut (impl Read + Seek),
    at: u64,
    len: u64,
) -> std::io::Result<(u64, [u8; 4], u64)> {
    let mut head = [0u8; 16];
    file.seek(SeekFrom::Start(at))?;
    let want = (len - at).min(16) as usize;
    file.read_exact(&mut head[..want])?;
    let small = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
    let kind = [head[4], head[5], head[6], head[7]];
    let (size, header) = match small {
        1 if want >= 16 => (
            u64::from_be_bytes(head[8..16].try_into().unwrap_or([0; 8])),
            16,
        ),
        0 => (len - at, 8),
        n => (n, 8),
    };
    // A size past the end of the file (or of the address space) is unreadable.
    let size = if size < header || at.checked_add(size).is_none_or(|end| end > len) {
        0
    } else {
        size
    };
    Ok((size, kind, header))
}

/// The payload spans of location boxes among the boxes in `data[from..to]`, `depth` levels
/// inside `moov`; `items` is true inside a `meta` box, whose item list holds values.
fn locations(
    data: &[u8],
    from: usize,
    to: usize,
    items: bool,
    depth: usize,
    spans: &mut Vec<(usize, usize)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut at = from;
    while at + 8 <= to {
        let size =
            u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let kind: [u8; 4] = [data[at + 4], data[at + 5], data[at + 6], data[at + 7]];
        if size < 8 || at + size > to {
            return;
        }
        let payload = at + 8;
        if &kind == b"\xa9xyz" || (items && &kind == b"ilst") {
            spans.push((payload, at + size));
        } else if &kind == b"meta" {
            // A `meta` box starts with four bytes of version and flags in MP4, not in QuickTime.
            let skip = if data
                .get(payload + 4..payload + 8)
                .is_some_and(|k| k == b"hdlr")
            {
                0
            } else {
                4
            };
            locations(data, payload + skip, at + size, true, depth + 1, spans);
        } else if CONTAINERS.contains(&&kind) {
            locations(data, payload, at + size, items, depth + 1, spans);
        }
        at += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn locations_are_zeroed_and_nothing_moves() {
        let xyz = boxed(b"\xa9xyz", b"\x00\x12\x15\xc7+48.8584+002.2945/");
        let udta = boxed(b"udta", &xyz);
        let ilst = boxed(b"ilst", b"+48.8584+002.2945+035.000/");
        let hdlr = boxed(b"hdlr", &[0; 24]);
        let mut meta_payload = hdlr.clone();
        meta_payload.extend_from_slice(&ilst);
        let meta = boxed(b"meta", &meta_payload);
        let mvhd = boxed(b"mvhd", &[7; 20]);
        let moov = boxed(b"moov", &[mvhd, udta, meta].concat());
        let file = [
            boxed(b"ftyp", b"isom\0\0\0\0"),
            boxed(b"mdat", b"frames"),
            moov,
        ]
        .concat();
        let mut cursor = Cursor::new(file.clone());
        assert_eq!(erase(&mut cursor).unwrap(), 2);
        let erased = cursor.into_inner();
        assert_eq!(erased.len(), file.len());
        assert!(!erased.windows(8).any(|w| w == b"+48.8584"));
        assert!(
            erased.windows(6).any(|w| w == b"frames"),
            "the media is untouched"
        );
        assert!(
            erased.windows(4).any(|w| w == [7, 7, 7, 7]),
            "other boxes are untouched"
        );
    }

    #[test]
    fn a_box_size_that_would_wrap_around_ends_the_walk() {
        // A box whose 64-bit size runs past the end of the address space: taken as it is, the
        // walk would wrap back to the start of the file and go round for ever.
        let mut file = boxed(b"free", &[0; 8]);
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(b"free");
        file.extend_from_slice(&(u64::MAX - 15).to_be_bytes());
        let mut cursor = Cursor::new(file.clone());
        assert_eq!(erase(&mut cursor).unwrap(), 0);
        assert_eq!(cursor.into_inner(), file);
    }

    #[test]
    fn boxes_nested_deeper_than_any_video_are_not_followed() {
        // 100,000 `udta` boxes inside one another (800 KB): following them all would overflow
        // the stack of the thread doing it and abort the server.
        let depth = 100_000;
        let mut moov = Vec::with_capacity(8 * (depth + 1));
        for level in 0..=depth {
            let size = (8 * (depth + 1 - level)) as u32;
            moov.extend_from_slice(&size.to_be_bytes());
            moov.extend_from_slice(if level == 0 { b"moov" } else { b"udta" });
        }
        let mut cursor = Cursor::new(moov.clone());
        assert_eq!(erase(&mut cursor).unwrap(), 0);
        assert_eq!(cursor.into_inner(), moov);
    }

    #[test]
    fn a_file_without_an_index_is_left_alone() {
        let mut cursor = Cursor::new(b"not a video at all".to_vec());
        assert_eq!(erase(&mut cursor).unwrap(), 0);
        assert_eq!(cursor.into_inner(), b"not a video at all");
    }
}
