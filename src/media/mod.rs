//! What an uploaded file is, from its bytes, and what is stored of an image: its type sniffed
//! by `infer` (never taken from the name or the request), metadata removed, orientation
//! applied, dimensions, and a thumbnail.
//!
//! Everything here is synchronous and CPU-bound; callers run it off the async threads with a
//! bound on how many run at once (`uploads`). An image's dimensions are read from its header
//! before anything is decoded: over the pixel cap it is never given a pixel buffer, only its
//! metadata segments are removed (no decode needed; a JPEG keeps its orientation alone), and it
//! is served as a download.

mod encode;
pub mod gif;
pub mod location;

use std::io::Cursor;

use bytes::Bytes;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use encode::{encode_as, thumbnail};
use img_parts::ImageEXIF;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::webp::WebP;

/// The long side of a thumbnail, at most.
pub const THUMBNAIL_SIDE: u32 = 320;

/// The content type of a file from its first bytes; `application/octet-stream` when unknown.
pub fn sniff(head: &[u8]) -> String {
    infer::get(head).map_or_else(
        || "application/octet-stream".to_owned(),
        |kind| kind.mime_type().to_owned(),
    )
}

/// Whether a content type is a video whose index may say where it was shot (MP4, QuickTime).
pub fn is_movie(content_type: &str) -> bool {
    matches!(
        content_type,
        "video/mp4" | "video/quicktime" | "video/x-m4v" | "audio/mp4" | "audio/m4a"
    )
}

/// The image format of a content type this module processes (JPEG, PNG, GIF, WebP).
pub fn image_format(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// What is stored of an image.
#[derive(Debug)]
pub struct Processed {
    /// The bytes downloads return: without metadata, upright.
    pub bytes: Bytes,
    /// Dimensions of `bytes` as shown; `None` over the pixel cap or when unreadable.
    pub dimensions: Option<(u32, u32)>,
    /// The thumbnail and its content type, when one was made.
    pub thumbnail: Option<(Bytes, &'static str)>,
}

/// Processes an image of `format` whose bytes are `original`: metadata removed, and within
/// `max_pixels` decoded, turned upright and given a thumbnail.
pub fn process(original: Bytes, format: ImageFormat, max_pixels: u64) -> Processed {
    // A GIF is cleaned by reading its blocks, which also measures its largest frame.
    let (original, frames) = match format {
        ImageFormat::Gif => match gif::clean(&original) {
            Some(cleaned) => (Bytes::from(cleaned.bytes), Some(cleaned.extent)),
            None => return unreadable(original),
        },
        ImageFormat::WebP => {
            let frames = webp_frames(&original);
            (original, frames)
        }
        _ => (original, None),
    };
    let Some((width, height)) = header_dimensions(&original, format) else {
        return unreadable(strip_metadata(original, format));
    };
    let (widest, tallest) = frames.map_or((width, height), |(w, h)| (w.max(width), h.max(height)));
    if u64::from(widest) * u64::from(tallest) > max_pixels {
        let orientation = header_orientation(&original, format);
        return unreadable(keep_orientation(
            strip_metadata(original, format),
            format,
            orientation,
        ));
    }
    // Decoded from the original: its orientation lives in the metadata about to go.
    let decoded = unpanicked(|| decode(&original, format, max_pixels));
    let Some(Ok((image, orientation, icc))) = decoded else {
        return unreadable(strip_metadata(original, format));
    };
    let mut upright = image;
    // A GIF is kept as it came (its frames would not survive a re-encode); orientation is
    // almost only ever a camera's JPEG anyway.
    let (bytes, dimensions) =
        if orientation == Orientation::NoTransforms || format == ImageFormat::Gif {
            (strip_metadata(original, format), (width, height))
        } else {
            upright.apply_orientation(orientation);
            match encode_as(&upright, format, icc) {
                Some(bytes) => {
                    let dimensions = (upright.width(), upright.height());
                    (bytes, dimensions)
                }
                None => return unreadable(strip_metadata(original, format)),
            }
        };
    Processed {
        bytes,
        dimensions: Some(dimensions),
        thumbnail: thumbnail(&upright),
    }
}

fn unreadable(bytes: Bytes) -> Processed {
    Processed {
        bytes,
        dimensions: None,
        thumbnail: None,
    }
}

/// What `read` returns, or `None` if it panics. The decoders are other crates' parsers of
/// hostile bytes, and one has panicked on a crafted file (zune-jpeg 0.5.15's AVX2 IDCT): a
/// file a decoder cannot get through is kept undecoded, like any other it cannot read.
fn unpanicked<T>(read: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).ok()
}

/// The dimensions an image's header declares, read without decoding it.
fn header_dimensions(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    unpanicked(|| {
        let mut reader = ImageReader::new(Cursor::new(bytes));
        reader.set_format(format);
        reader.into_dimensions().ok()
    })
    .flatten()
}

/// The orientation an image's metadata gives, read from its headers without decoding pixels.
fn header_orientation(bytes: &[u8], format: ImageFormat) -> Orientation {
    unpanicked(|| {
        let mut reader = ImageReader::new(Cursor::new(bytes));
        reader.set_format(format);
        reader
            .into_decoder()
            .and_then(|mut decoder| decoder.orientation())
            .ok()
    })
    .flatten()
    .unwrap_or(Orientation::NoTransforms)
}

/// A JPEG that is not decoded keeps its orientation, alone, in a minimal EXIF block (a TIFF
/// header and one IFD entry), so that viewers still show it upright; nothing else survives.
fn keep_orientation(bytes: Bytes, format: ImageFormat, orientation: Orientation) -> Bytes {
    if format != ImageFormat::Jpeg || orientation == Orientation::NoTransforms {
        return bytes;
    }
    let Ok(mut jpeg) = Jpeg::from_bytes(bytes.clone()) else {
        return bytes;
    };
    let tiff = vec![
        b'M',
        b'M',
        0,
        42,
        0,
        0,
        0,
        8, // big-endian TIFF, first IFD at 8
        0,
        1, // one entry
        0x01,
        0x12,
        0,
        3,
        0,
        0,
        0,
        1,
        0,
        orientation.to_exif(),
        0,
        0, // Orientation, SHORT
        0,
        0,
        0,
        0, // no next IFD
    ];
    jpeg.set_exif(Some(Bytes::from(tiff)));
    jpeg.encoder().bytes()
}

/// Decodes the first frame with allocations bounded by the pixel cap, and reads its
/// orientation.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    max_pixels: u64,
) -> image::ImageResult<(DynamicImage, Orientation, Option<Vec<u8>>)> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut limits = Limits::default();
    // Four bytes a pixel (RGBA8), and the decoders' own buffers besides.
    limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder)?;
    Ok((image, orientation, icc))
}

/// Removes EXIF, XMP and IPTC (and comments and text chunks) without decoding; the colour
/// profile stays. A file the parser cannot read is kept as it is (it is then not decodable
/// either, and is served as a download).
fn strip_metadata(bytes: Bytes, format: ImageFormat) -> Bytes {
    match format {
        ImageFormat::Jpeg => match Jpeg::from_bytes(bytes.clone()) {
            Ok(mut jpeg) => {
                // APP1 holds EXIF and XMP, APP13 IPTC; COM is a free comment.
                for marker in [markers::APP1, markers::APP13, markers::COM] {
                    jpeg.remove_segments_by_marker(marker);
                }
                jpeg.encoder().bytes()
            }
            Err(_) => bytes,
        },
        ImageFormat::Png => match Png::from_bytes(bytes.clone()) {
            Ok(mut png) => {
                png.set_exif(None);
                for kind in [*b"tEXt", *b"zTXt", *b"iTXt", *b"tIME"] {
                    png.remove_chunks_by_type(kind);
                }
                png.encoder().bytes()
            }
            Err(_) => bytes,
        },
        ImageFormat::WebP => match WebP::from_bytes(bytes.clone()) {
            Ok(mut webp) => {
                webp.set_exif(None);
                webp.remove_chunks_by_id(*b"XMP ");
                webp.encoder().bytes()
            }
            Err(_) => bytes,
        },
        _ => bytes,
    }
}

/// The largest extent any frame of an animated WebP takes (`ANMF` chunks: offsets in units of
/// two pixels, sizes minus one, 24-bit little-endian), read without decoding.
fn webp_frames(bytes: &Bytes) -> Option<(u32, u32)> {
    let webp = WebP::from_bytes(bytes.clone()).ok()?;
    let u24 = |d: &[u8]| u32::from(d[0]) | u32::from(d[1]) << 8 | u32::from(d[2]) << 16;
    webp.chunks_by_id(*b"ANMF")
        .filter_map(|chunk| chunk.content().data().filter(|d| d.len() >= 12).cloned())
        .map(|d| {
            (
                u24(&d[0..3]) * 2 + u24(&d[6..9]) + 1,
                u24(&d[3..6]) * 2 + u24(&d[9..12]) + 1,
            )
        })
        .reduce(|a, b| (a.0.max(b.0), a.1.max(b.1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    fn png(width: u32, height: u32, alpha: bool) -> Bytes {
        let mut out = Vec::new();
        let image = if alpha {
            DynamicImage::ImageRgba8(ImageBuffer::from_pixel(width, height, Rgba([9, 9, 9, 100])))
        } else {
            DynamicImage::ImageRgb8(ImageBuffer::from_pixel(width, height, Rgb([200, 10, 10])))
        };
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        Bytes::from(out)
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(&png(2, 2, false)), "image/png");
        assert_eq!(
            sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>"),
            "application/octet-stream"
        );
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff(b""), "application/octet-stream");
    }

    #[test]
    fn an_image_gets_dimensions_and_a_thumbnail_no_larger_than_it() {
        let done = process(png(640, 480, false), ImageFormat::Png, 40_000_000);
        assert_eq!(done.dimensions, Some((640, 480)));
        let (thumb, kind) = done.thumbnail.expect("a thumbnail");
        assert_eq!(kind, "image/jpeg");
        let thumb = image::load_from_memory(&thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
        let small = process(png(40, 20, true), ImageFormat::Png, 40_000_000);
        let (thumb, kind) = small.thumbnail.expect("a thumbnail");
        assert_eq!(kind, "image/png");
        assert_eq!(image::load_from_memory(&thumb).unwrap().width(), 40);
    }

    /// A JPEG whose EXIF says Orientation 6 and carries made-up GPS words.
    fn rotated_jpeg() -> Bytes {
        let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(30, 20, Rgb([1, 2, 3])));
        let mut jpeg = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        let mut exif =
            b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
        exif.extend_from_slice(b"GPSLatitude 48.8584N");
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&jpeg[2..]);
        Bytes::from(out)
    }

    #[test]
    fn an_undecoded_jpeg_keeps_only_its_orientation() {
        let done = process(rotated_jpeg(), ImageFormat::Jpeg, 100);
        assert_eq!(done.dimensions, None);
        assert!(!done.bytes.windows(11).any(|w| w == b"GPSLatitude"));
        assert_eq!(
            header_orientation(&done.bytes, ImageFormat::Jpeg),
            Orientation::Rotate90
        );
        let decoded = process(rotated_jpeg(), ImageFormat::Jpeg, 40_000_000);
        assert_eq!(decoded.dimensions, Some((20, 30)), "turned upright");
        assert_eq!(
            header_orientation(&decoded.bytes, ImageFormat::Jpeg),
            Orientation::NoTransforms
        );
    }

    fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    #[test]
    fn an_animated_webp_is_measured_by_its_largest_frame() {
        let vp8x = chunk(b"VP8X", &[0x02, 0, 0, 0, 1, 0, 0, 1, 0, 0]); // 2x2 canvas, animated
        let frame = [5, 0, 0, 10, 0, 0, 0x2B, 0x01, 0, 0x8F, 0x01, 0, 0, 0, 0, 0]; // 300x400 at (10,20)
        let body = [b"WEBP".to_vec(), vp8x, chunk(b"ANMF", &frame)].concat();
        let mut riff = b"RIFF".to_vec();
        riff.extend_from_slice(&(body.len() as u32).to_le_bytes());
        riff.extend_from_slice(&body);
        assert_eq!(webp_frames(&Bytes::from(riff)), Some((310, 420)));
        assert_eq!(webp_frames(&Bytes::from_static(b"RIFF")), None);
    }

    #[test]
    fn a_real_gif_is_cleaned_and_still_decodes() {
        let mut gif = Vec::new();
        DynamicImage::ImageRgba8(ImageBuffer::from_pixel(64, 48, Rgba([200, 0, 0, 255])))
            .write_to(&mut Cursor::new(&mut gif), ImageFormat::Gif)
            .unwrap();
        let done = process(Bytes::from(gif), ImageFormat::Gif, 40_000_000);
        assert_eq!(done.dimensions, Some((64, 48)));
        assert!(done.thumbnail.is_some());
        assert!(image::load_from_memory(&done.bytes).is_ok());
    }

    #[test]
    fn a_file_that_makes_the_decoder_panic_is_kept_undecoded() {
        // Found by fuzzing (`fuzz/regressions/upload_image/`): a crafted JPEG on which
        // zune-jpeg 0.5.15's AVX2 IDCT unwraps a `None`.
        let hostile = include_bytes!("../../fuzz/regressions/upload_image/jpeg-decoder-panics");
        assert_eq!(sniff(hostile), "image/jpeg");
        let done = process(Bytes::from_static(hostile), ImageFormat::Jpeg, 1 << 16);
        assert_eq!(done.dimensions, None);
        assert!(done.thumbnail.is_none());
        assert_eq!(sniff(&done.bytes), "image/jpeg");
    }

    #[test]
    fn over_the_pixel_cap_nothing_is_decoded() {
        let done = process(png(300, 200, false), ImageFormat::Png, 50_000);
        assert_eq!(done.dimensions, None);
        assert!(done.thumbnail.is_none());
    }
}
