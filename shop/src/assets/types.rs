//! What pages and the API see of a product's pictures. Wasm-safe: no storage here.

use serde::{Deserialize, Serialize};

crate::input::id_type!(
    /// A picture's id (one upload of one product).
    ImageId, "image"
);

/// The sizes every picture is stored in. A variant is never upscaled: a small upload's
/// variants are all its own size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ImageVariant {
    /// Suggestions, cart lines: 160 px on the long side.
    Thumb,
    /// Listings and the product page: 480 px.
    Card,
    /// The product page's large view: 1600 px.
    Zoom,
}

impl ImageVariant {
    pub const ALL: [ImageVariant; 3] = [Self::Thumb, Self::Card, Self::Zoom];

    /// The longest side this variant is scaled down to.
    pub fn long_side(self) -> u32 {
        match self {
            Self::Thumb => 160,
            Self::Card => 480,
            Self::Zoom => 1600,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Thumb => "thumb",
            Self::Card => "card",
            Self::Zoom => "zoom",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The variant's size for a `width` × `height` original (aspect kept, never upscaled).
    pub fn size_for(self, width: u32, height: u32) -> (u32, u32) {
        fit_within(width, height, self.long_side())
    }
}

/// `width` × `height` scaled down so that its long side is at most `long` (aspect kept,
/// never upscaled).
pub fn fit_within(width: u32, height: u32, long: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= long || longest == 0 {
        return (width, height);
    }
    let scale = f64::from(long) / f64::from(longest);
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

/// Where a picture's `variant` is loaded from, given the picture's `base`.
pub fn variant_url(base: &str, variant: ImageVariant) -> String {
    format!("{base}/{}.jpg", variant.name())
}

/// A picture a shopper may see: an approved image of a product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Picture {
    /// `/assets/s/{seller}/{hash}`: a variant is at `{base}/{variant}.jpg`.
    pub base: String,
    /// The original's size (after orientation), from which each variant's size follows.
    pub width: u32,
    pub height: u32,
    pub alt: String,
    /// Whether the original was large enough for the zoom view.
    pub zoomable: bool,
    /// While the image store is failing: the variants this node holds a copy of, the only
    /// ones a page may point at. Absent while the store answers (every variant loads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Vec<ImageVariant>>,
}

impl Picture {
    /// The address of `variant`, or of the variant nearest it that loads: the largest held
    /// one not above it, else the smallest held one.
    pub fn src(&self, variant: ImageVariant) -> String {
        variant_url(&self.base, self.usable(variant))
    }

    /// Whether `variant` loads now.
    pub fn holds(&self, variant: ImageVariant) -> bool {
        self.held
            .as_ref()
            .is_none_or(|held| held.contains(&variant))
    }

    fn usable(&self, wanted: ImageVariant) -> ImageVariant {
        let Some(held) = &self.held else {
            return wanted;
        };
        let side = |v: &&ImageVariant| v.long_side();
        held.iter()
            .filter(|v| v.long_side() <= wanted.long_side())
            .max_by_key(side)
            .or_else(|| held.iter().min_by_key(side))
            .copied()
            .unwrap_or(wanted)
    }

    pub fn size(&self, variant: ImageVariant) -> (u32, u32) {
        variant.size_for(self.width, self.height)
    }

    /// A `srcset` with each distinct width of the variants that load, up to `largest`.
    pub fn srcset(&self, largest: ImageVariant) -> String {
        let largest = self.usable(largest);
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for v in ImageVariant::ALL {
            if v.long_side() > largest.long_side() {
                break;
            }
            if !self.holds(v) {
                continue;
            }
            let (w, _) = self.size(v);
            if !seen.contains(&w) {
                seen.push(w);
                out.push(format!("{} {w}w", self.src(v)));
            }
        }
        out.join(", ")
    }
}

/// Where an image stands with shoppers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// Shown on the product's pages.
    Live,
    /// Accepted, but borderline: hidden from shoppers until the seller approves it.
    NeedsReview,
    /// Taken down by the seller (the bytes stay in the store; it can be restored).
    Removed,
    /// Superseded by a replacement (the bytes stay; it can be restored).
    Replaced,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::NeedsReview => "needs_review",
            Self::Removed => "removed",
            Self::Replaced => "replaced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Live, Self::NeedsReview, Self::Removed, Self::Replaced]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The largest use an image's resolution is good for (by its long side).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ResolutionTier {
    /// At least [`Self::MIN_SIDE`] px on its short side, under [`Self::ZOOM`] on its long side.
    Thumbnail,
    /// At least [`Self::ZOOM`] px on the long side.
    Zoom,
    /// At least [`Self::PRINT`] px on the long side.
    Print,
}

impl ResolutionTier {
    /// Below this on the short side an image is refused.
    pub const MIN_SIDE: u32 = 100;
    pub const ZOOM: u32 = 1000;
    pub const PRINT: u32 = 2400;

    pub fn of(width: u32, height: u32) -> Option<Self> {
        let (short, long) = (width.min(height), width.max(height));
        if short < Self::MIN_SIDE {
            None
        } else if long >= Self::PRINT {
            Some(Self::Print)
        } else if long >= Self::ZOOM {
            Some(Self::Zoom)
        } else {
            Some(Self::Thumbnail)
        }
    }
}

/// What the quality gate found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityReport {
    /// Variance of the Laplacian of the image at 512 px: low means few sharp edges (blur).
    pub sharpness: f64,
    pub tier: ResolutionTier,
    /// Width over height.
    pub aspect: f64,
    /// Why the image needs review; empty when it went live.
    pub reasons: Vec<String>,
}

/// One of a product's images as its seller sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductImage {
    pub id: i64,
    pub product_id: i64,
    pub status: ImageStatus,
    pub position: i64,
    /// Hex SHA-256 of the uploaded bytes: the image's name in the store.
    pub hash: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
    pub quality: QualityReport,
    /// The image this one replaced, if any.
    pub replaces: Option<i64>,
    pub picture: Picture,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_keep_the_aspect_and_never_upscale() {
        assert_eq!(ImageVariant::Card.size_for(2000, 1000), (480, 240));
        assert_eq!(ImageVariant::Zoom.size_for(1000, 3000), (533, 1600));
        assert_eq!(ImageVariant::Zoom.size_for(120, 100), (120, 100));
    }

    #[test]
    fn tiers_follow_the_long_side_and_tiny_images_have_none() {
        assert_eq!(
            ResolutionTier::of(120, 120),
            Some(ResolutionTier::Thumbnail)
        );
        assert_eq!(ResolutionTier::of(1200, 800), Some(ResolutionTier::Zoom));
        assert_eq!(ResolutionTier::of(3000, 2000), Some(ResolutionTier::Print));
        assert_eq!(ResolutionTier::of(2000, 90), None);
    }

    #[test]
    fn srcset_lists_distinct_widths_only() {
        let p = Picture {
            base: "/assets/s/1/ab".into(),
            width: 300,
            height: 200,
            alt: String::new(),
            zoomable: false,
            held: None,
        };
        assert_eq!(
            p.srcset(ImageVariant::Zoom),
            "/assets/s/1/ab/thumb.jpg 160w, /assets/s/1/ab/card.jpg 300w"
        );
    }

    #[test]
    fn with_the_store_down_a_picture_points_only_at_the_variants_held() {
        let p = Picture {
            base: "/assets/s/1/ab".into(),
            width: 2000,
            height: 1000,
            alt: String::new(),
            zoomable: true,
            held: Some(vec![ImageVariant::Card]),
        };
        assert_eq!(p.src(ImageVariant::Zoom), "/assets/s/1/ab/card.jpg");
        assert_eq!(p.srcset(ImageVariant::Zoom), "/assets/s/1/ab/card.jpg 480w");
        // Only a larger one held: it stands in, scaled down by the browser.
        assert_eq!(p.src(ImageVariant::Thumb), "/assets/s/1/ab/card.jpg");
        assert_eq!(
            p.srcset(ImageVariant::Thumb),
            "/assets/s/1/ab/card.jpg 480w"
        );
        let all = Picture { held: None, ..p };
        assert_eq!(all.src(ImageVariant::Thumb), "/assets/s/1/ab/thumb.jpg");
    }
}
