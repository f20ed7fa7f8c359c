//! Pictures for the demo catalog, drawn at import (the data's own image links point at hosts
//! this shop cannot reach). Each product gets a card of its own: a gradient in its
//! department's colours, a textured shape chosen by its product class, and its initials.
//! Deterministic: the same product always gets the same bytes (so the same content hash).

use image::{Rgb, RgbImage};

/// Side of the square pictures drawn: large enough for the zoom tier.
pub const SIDE: u32 = 1000;

const PALETTES: [([u8; 3], [u8; 3], [u8; 3]); 8] = [
    ([244, 236, 222], [214, 190, 160], [120, 72, 40]),
    ([226, 238, 246], [160, 194, 222], [34, 78, 122]),
    ([236, 244, 228], [178, 210, 160], [52, 104, 48]),
    ([248, 230, 232], [222, 166, 174], [128, 40, 62]),
    ([238, 234, 248], [184, 172, 226], [70, 52, 140]),
    ([250, 242, 214], [232, 200, 120], [140, 96, 20]),
    ([228, 242, 240], [150, 208, 200], [28, 100, 96]),
    ([240, 240, 240], [190, 190, 196], [60, 62, 72]),
];

/// 5 × 7 glyphs, one byte per row, the low five bits left to right.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [30, 17, 17, 17, 17, 17, 30],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        _ => [0, 0, 0, 0, 0, 0, 0],
    }
}

/// FNV-1a: a stable hash (std's is randomised per process).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> Rgb<u8> {
    let t = t.clamp(0.0, 1.0);
    let c = |i: usize| (f32::from(a[i]) * (1.0 - t) + f32::from(b[i]) * t).round() as u8;
    Rgb([c(0), c(1), c(2)])
}

/// The two letters shown on a product's card: the first letters of its first two words.
fn initials(title: &str) -> Vec<char> {
    title
        .split_whitespace()
        .filter_map(|w| w.chars().find(char::is_ascii_alphanumeric))
        .take(2)
        .collect()
}

/// Draws the card for a product.
pub fn draw(title: &str, category: &str, product_class: &str) -> RgbImage {
    let (top, bottom, ink) = PALETTES[(stable_hash(category) % PALETTES.len() as u64) as usize];
    let shape = stable_hash(product_class) % 3;
    let tilt = (stable_hash(title) % 7) as i32 + 5;
    let mut img = RgbImage::from_fn(SIDE, SIDE, |_, y| mix(top, bottom, y as f32 / SIDE as f32));
    let (cx, cy) = (SIDE as i32 / 2, SIDE as i32 / 2 + 20);
    let inside = |x: i32, y: i32| -> bool {
        let (dx, dy) = (x - cx, y - cy);
        match shape {
            // A round piece.
            0 => dx * dx + dy * dy <= 300 * 300,
            // A wide piece with rounded corners (a sofa, a table).
            1 => {
                let (ax, ay) = ((dx.abs() - 300).max(0), (dy.abs() - 170).max(0));
                ax * ax + ay * ay <= 60 * 60
            }
            // A tall piece (a lamp, a bottle, a shelf).
            _ => {
                let (ax, ay) = ((dx.abs() - 150).max(0), (dy.abs() - 290).max(0));
                ax * ax + ay * ay <= 50 * 50
            }
        }
    };
    for y in 0..SIDE as i32 {
        for x in 0..SIDE as i32 {
            if inside(x - 18, y - 22) && !inside(x, y) {
                // Shadow.
                let p = img.get_pixel_mut(x as u32, y as u32);
                *p = mix(p.0, [0, 0, 0], 0.22);
            } else if inside(x, y) {
                // Woven texture: fine diagonal stripes, with light from the top left.
                let stripe = ((x + y * tilt / 6) / 7) % 2 == 0;
                let light = ((x - cx + y - cy) as f32 / 900.0 + 0.5).clamp(0.0, 1.0);
                let base = mix(bottom, ink, 0.35 + 0.45 * light);
                *img.get_pixel_mut(x as u32, y as u32) = if stripe {
                    mix(base.0, [255, 255, 255], 0.22)
                } else {
                    base
                };
            }
        }
    }
    // The initials, 24 px per glyph cell, in the page colour over the shape.
    let letters = initials(title);
    let scale = 24_i32;
    let width = letters.len() as i32 * 6 * scale - scale;
    let (x0, y0) = (cx - width / 2, cy - 7 * scale / 2);
    for (i, letter) in letters.iter().enumerate() {
        for (row, bits) in glyph(*letter).iter().enumerate() {
            for col in 0..5 {
                if bits & (1 << (4 - col)) == 0 {
                    continue;
                }
                let gx = x0 + (i as i32 * 6 + col) * scale;
                let gy = y0 + row as i32 * scale;
                for y in gy..gy + scale {
                    for x in gx..gx + scale {
                        if (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y) {
                            img.put_pixel(x as u32, y as u32, Rgb(top));
                        }
                    }
                }
            }
        }
    }
    img
}

/// The card as PNG bytes, ready for the upload pipeline.
pub fn png(title: &str, category: &str, product_class: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let img = draw(title, category, product_class);
    // Encoding an in-memory RGB image to a Vec cannot fail.
    let _ = img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

/// Draws a picture for every product from `sources` that has none and puts it through the
/// upload pipeline like any seller's image; returns how many were drawn. Until a product's
/// picture is ready its pages show the monogram tile. Safe on several nodes at once (the
/// drawings are deterministic, and one product never gets the same bytes twice). Stops early,
/// without error, when the store is down: the rest can wait for the next start.
pub async fn draw_missing(
    assets: &super::Assets,
    sources: &[&str],
) -> Result<usize, super::AssetError> {
    let mut drawn = 0;
    for product in assets.products_without_pictures(sources).await? {
        let super::Unpictured {
            seller,
            product,
            title,
            category,
            product_class,
        } = product;
        let png = tokio::task::spawn_blocking(move || png(&title, &category, &product_class))
            .await
            .map_err(|e| super::AssetError::Invalid(format!("drawing failed: {e}")))?;
        match assets
            .upload(seller, product, png, super::UploadRequest::default())
            .await
        {
            Ok(_) => drawn += 1,
            Err(super::AssetError::StoreUnavailable(e)) => {
                tracing::warn!(error = %e, drawn, "demo pictures paused: image store unavailable");
                break;
            }
            Err(e) => tracing::warn!(error = %e, "a demo picture was refused"),
        }
    }
    Ok(drawn)
}
