//! Images written back out: re-encoded upright in their own format (keeping only their colour
//! profile), and thumbnails.

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageEncoder, ImageFormat};

use super::THUMBNAIL_SIDE;

/// The image re-encoded in its own format (so its type stays what it was), without metadata but
/// its colour profile (JPEG and PNG).
pub fn encode_as(image: &DynamicImage, format: ImageFormat, icc: Option<Vec<u8>>) -> Option<Bytes> {
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            DynamicImage::ImageRgb8(image.to_rgb8())
                .write_with_encoder(encoder)
                .ok()?;
        }
        ImageFormat::Png => {
            let mut encoder = PngEncoder::new(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            image.write_with_encoder(encoder).ok()?;
        }
        _ => image.write_to(&mut Cursor::new(&mut out), format).ok()?,
    }
    Some(Bytes::from(out))
}

pub fn encode_jpeg(image: &DynamicImage, quality: u8) -> Option<Bytes> {
    let mut out = Vec::new();
    let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
    rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .ok()?;
    Some(Bytes::from(out))
}

/// A thumbnail whose long side is at most `THUMBNAIL_SIDE` (never larger than the image):
/// JPEG, or PNG when the image has transparency.
pub fn thumbnail(image: &DynamicImage) -> Option<(Bytes, &'static str)> {
    let small = if image.width().max(image.height()) > THUMBNAIL_SIDE {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        image.clone()
    };
    if small.color().has_alpha() {
        let mut out = Vec::new();
        small
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .ok()?;
        Some((Bytes::from(out), "image/png"))
    } else {
        encode_jpeg(&small, 80).map(|bytes| (bytes, "image/jpeg"))
    }
}
