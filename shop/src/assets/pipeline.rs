//! From uploaded bytes to stored variants: the real type from the magic bytes, size and pixel
//! limits checked before anything is decoded, a decode under allocation limits, the quality
//! gate, then re-encoded variants (which drops every byte of metadata: EXIF, GPS, comments).
//!
//! Everything here is CPU work on bytes in memory; the service runs it on the blocking pool.

use super::types::{ImageVariant, QualityReport, ResolutionTier, fit_within};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The largest upload accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most pixels an image may declare (a 20,000 × 20,000 PNG compresses to kilobytes and
/// decodes to 1.6 GB: the header is checked before any pixel is decoded).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest side accepted.
pub const MAX_SIDE: u32 = 12_000;
/// Sharpness (variance of the Laplacian at 512 px) under which an image is refused as blurred.
pub const SHARPNESS_REFUSED: f64 = 15.0;
/// Under this, the image goes to review as possibly blurred.
pub const SHARPNESS_REVIEW: f64 = 60.0;
/// Width over height (or its inverse) beyond which an image is refused, and beyond which it
/// goes to review.
pub const ASPECT_REFUSED: f64 = 4.0;
pub const ASPECT_REVIEW: f64 = 2.5;
/// JPEG quality of the stored variants.
const JPEG_QUALITY: u8 = 82;

/// Why an upload was refused. Every message is for the seller, and names the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes; the limit is 10 MB")]
    TooLarge(usize),
    #[error("the file is not a JPEG, PNG or WebP image (its first bytes say {0})")]
    NotAnImage(String),
    #[error(
        "the image is {width} × {height} pixels; the limit is 40 megapixels and 12,000 px a side"
    )]
    TooManyPixels { width: u32, height: u32 },
    #[error("the image is damaged or incomplete and cannot be read ({0})")]
    Unreadable(String),
    #[error("the image is {width} × {height} pixels; it needs at least 100 px on its short side")]
    TooSmall { width: u32, height: u32 },
    #[error(
        "the image is {0:.1} times wider than tall (or taller than wide); at most 4 is accepted"
    )]
    BadAspect(f64),
    #[error("the image is too blurred to show (sharpness {0:.1}; at least 15 is needed)")]
    Blurred(f64),
}

/// An accepted image, ready to store.
#[derive(Debug)]
pub struct Processed {
    /// Hex SHA-256 of the uploaded bytes.
    pub hash: String,
    pub width: u32,
    pub height: u32,
    pub quality: QualityReport,
    /// JPEG bytes per variant.
    pub variants: Vec<(ImageVariant, Vec<u8>)>,
}

impl Processed {
    /// Whether shoppers may see it without the seller's approval.
    pub fn goes_live(&self) -> bool {
        self.quality.reasons.is_empty()
    }
}

/// The format named by the magic bytes, if it is one the shop takes.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(f),
        Ok(other) => Err(Refusal::NotAnImage(format!("{other:?}"))),
        Err(_) => Err(Refusal::NotAnImage(describe_start(bytes))),
    }
}

fn describe_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(head))
    } else {
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Checks, decodes, grades and re-encodes one upload.
pub fn process(bytes: &[u8]) -> Result<Processed, Refusal> {
    if bytes.len() > MAX_BYTES {
        return Err(Refusal::TooLarge(bytes.len()));
    }
    let format = sniff(bytes)?;
    check_complete(bytes, format)?;
    let image = decode(bytes, format)?;
    let (width, height) = (image.width(), image.height());
    let tier = ResolutionTier::of(width, height).ok_or(Refusal::TooSmall { width, height })?;
    let aspect = f64::from(width) / f64::from(height);
    let stretch = aspect.max(1.0 / aspect);
    if stretch > ASPECT_REFUSED {
        return Err(Refusal::BadAspect(stretch));
    }
    let sharpness = sharpness(&image);
    if sharpness < SHARPNESS_REFUSED {
        return Err(Refusal::Blurred(sharpness));
    }
    let mut reasons = Vec::new();
    if sharpness < SHARPNESS_REVIEW {
        reasons.push(format!(
            "it may be blurred (sharpness {sharpness:.1}; sharp photos score above {SHARPNESS_REVIEW})"
        ));
    }
    if tier < ResolutionTier::Zoom {
        reasons.push(format!(
            "at {width} × {height} px it is too small for the zoom view ({} px on the long side needed)",
            ResolutionTier::ZOOM
        ));
    }
    if stretch > ASPECT_REVIEW {
        reasons.push(format!(
            "its shape ({stretch:.1}:1) will be letterboxed on listing cards"
        ));
    }
    let flat = flatten(image);
    let mut variants = Vec::with_capacity(ImageVariant::ALL.len());
    for variant in ImageVariant::ALL {
        let (w, h) = variant.size_for(width, height);
        let scaled = if (w, h) == (width, height) {
            flat.clone()
        } else {
            image::imageops::resize(&flat, w, h, image::imageops::FilterType::CatmullRom)
        };
        variants.push((variant, encode_jpeg(&scaled)?));
    }
    Ok(Processed {
        hash: hex_sha256(bytes),
        width,
        height,
        quality: QualityReport {
            sharpness,
            tier,
            aspect,
            reasons,
        },
        variants,
    })
}

/// Refuses a file that stops before its format's end: decoders fill a cut-off JPEG with
/// grey rather than fail, and a shop must not publish half a photo.
fn check_complete(bytes: &[u8], format: ImageFormat) -> Result<(), Refusal> {
    let complete = match format {
        // The end-of-image marker after the start of scan (entropy-coded data never holds
        // it: a 0xFF there is always followed by 0x00 or a restart marker).
        ImageFormat::Jpeg => bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .is_some_and(|sos| bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9])),
        ImageFormat::Png => bytes.windows(4).any(|w| w == b"IEND"),
        // The RIFF header states the file's length.
        ImageFormat::WebP => bytes.get(4..8).is_some_and(|n| {
            let declared = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
            bytes.len() >= declared.saturating_add(8)
        }),
        _ => true,
    };
    if complete {
        Ok(())
    } else {
        Err(Refusal::Unreadable(
            "the file ends before the image does".into(),
        ))
    }
}

/// Decodes with the header checked first and allocations bounded, and applies the EXIF
/// orientation (re-encoding drops the tag, so the pixels must be turned instead).
fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, Refusal> {
    let unreadable = |e: image::ImageError| Refusal::Unreadable(e.to_string());
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(unreadable)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width.max(height) > MAX_SIDE {
        return Err(Refusal::TooManyPixels { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// RGB on white: transparent parts of a PNG or WebP become the page's background.
fn flatten(image: DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = image::RgbImage::new(w, h);
    for (x, y, p) in rgba.enumerate_pixels() {
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        out.put_pixel(x, y, image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])]));
    }
    out
}

/// What `/assets/…` answers for a picture this node can neither read from the store nor
/// holds a copy of: a small light-grey JPEG the browser stretches to the `<img>` box, so a
/// page rendered a moment before the store failed shows a neutral tile instead of a broken
/// image. Made once.
pub fn placeholder() -> bytes::Bytes {
    static PLACEHOLDER: std::sync::OnceLock<bytes::Bytes> = std::sync::OnceLock::new();
    PLACEHOLDER
        .get_or_init(|| {
            let grey = image::RgbImage::from_pixel(4, 3, image::Rgb([0xee, 0xee, 0xee]));
            encode_jpeg(&grey).map(Into::into).unwrap_or_default()
        })
        .clone()
}

fn encode_jpeg(image: &image::RgbImage) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|e| Refusal::Unreadable(e.to_string()))?;
    Ok(out)
}

/// Variance of the Laplacian of the grey image scaled to 512 px on its long side (so the
/// score does not depend on the upload's size). Sharp edges make large second derivatives;
/// blur flattens them.
pub fn sharpness(image: &DynamicImage) -> f64 {
    let grey = image.to_luma8();
    let (w, h) = grey.dimensions();
    let grey = if w.max(h) > 512 {
        let (sw, sh) = fit_within(w, h, 512);
        image::imageops::resize(&grey, sw, sh, image::imageops::FilterType::Triangle)
    } else {
        grey
    };
    let (w, h) = grey.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = |x: u32, y: u32| f64::from(grey.get_pixel(x, y)[0]);
    let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0.0);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = px(x - 1, y) + px(x + 1, y) + px(x, y - 1) + px(x, y + 1) - 4.0 * px(x, y);
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sum_sq / n - mean * mean
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
