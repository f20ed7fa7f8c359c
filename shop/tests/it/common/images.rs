//! Images for the assets tests, drawn in code: a photo-like scene (soft light, hard-edged

#![allow(dead_code)]
//! objects, fine texture, sensor grain), blurred copies, and hand-built hostile files.

use image::{Rgb, RgbImage};

/// A deterministic pseudo-random number in 0..1 for a seed.
fn noise(seed: u32) -> f32 {
    let mut x = seed.wrapping_mul(0x9E37_79B9) ^ 0x85EB_CA6B;
    x ^= x >> 15;
    x = x.wrapping_mul(0x2C1B_3C6D);
    x ^= x >> 12;
    (x & 0xFFFF) as f32 / 65535.0
}

/// A photo-like picture: a lit backdrop, a few hard-edged objects with woven texture, and
/// grain, the way a product photo has both smooth areas and crisp detail.
pub fn photo(width: u32, height: u32) -> RgbImage {
    let (w, h) = (width as f32, height as f32);
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / w, y as f32 / h);
        let light = 0.55 + 0.35 * (1.0 - ((fx - 0.3).powi(2) + (fy - 0.2).powi(2)).sqrt());
        let mut c = [200.0 * light, 190.0 * light, 175.0 * light];
        // A round object and a box, with hard edges and a woven surface.
        let in_disc = (fx - 0.35).powi(2) + (fy - 0.55).powi(2) < 0.06;
        let in_box = (0.55..0.85).contains(&fx) && (0.25..0.8).contains(&fy);
        if in_disc || in_box {
            let weave = if ((x / 6) + (y / 6)) % 2 == 0 {
                1.0
            } else {
                0.8
            };
            let base = if in_disc {
                [150.0, 60.0, 40.0]
            } else {
                [40.0, 70.0, 130.0]
            };
            c = [
                base[0] * weave * light * 1.3,
                base[1] * weave * light * 1.3,
                base[2] * weave * light * 1.3,
            ];
        }
        let grain = (noise(y * width + x) - 0.5) * 16.0;
        Rgb(c.map(|v| (v + grain).clamp(0.0, 255.0) as u8))
    })
}

pub fn blurred(image: &RgbImage, sigma: f32) -> RgbImage {
    image::imageops::blur(image, sigma)
}

pub fn encode(image: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), format)
        .expect("encodes");
    out
}

pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    encode(image, image::ImageFormat::Jpeg)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A decompression bomb's header: a valid PNG that declares `side` × `side` pixels, with a
/// zlib stream of zero rows (a few hundred bytes that would inflate to `side`² bytes).
pub fn png_bomb(side: u32) -> Vec<u8> {
    let mut out = png_signature_and_header(side);
    // zlib header + a fixed-Huffman block that starts a long run of zeros, unfinished.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0xa3, 0x60, 0x14, 0x0c],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A complete PNG (it ends with its end chunk) that declares `side` × `side` pixels and
/// holds no pixel data at all (its one data chunk is empty): only a check of the header can
/// tell anything from it, and a decoder can only call it broken.
pub fn png_without_pixels(side: u32) -> Vec<u8> {
    let mut out = png_signature_and_header(side);
    chunk(&mut out, b"IDAT", &[]);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn png_signature_and_header(side: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    chunk(&mut out, b"IHDR", &ihdr);
    out
}

/// A JPEG with an EXIF segment carrying GPS coordinates, right after the start marker.
pub fn jpeg_with_gps(image: &RgbImage) -> Vec<u8> {
    let plain = jpeg(image);
    let mut payload = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude=51.5007N;GPSLongitude=0.1246W".to_vec();
    payload.resize(64, 0);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}
