//! Photos of a tip: decoded within limits (a decompression bomb is refused from its header, before
//! anything is allocated for its pixels), turned upright by their EXIF orientation, and derived
//! into a thumbnail and a display image that carry no metadata at all. The capture time and the
//! position are read from EXIF for the staff and kept apart from the images.
//!
//! Memory: the decoded pixels are the one full-size buffer we make. Transparency is flattened in
//! it, the display image is resized from it in the decoder's own pixel format, and only that small
//! image becomes 8-bit RGB. So a photo takes what its decoding takes (from the header, at most
//! [`PhotoLimits::max_decoding_bytes`]) and a few tens of MB for resizing;
//! `core/tests/photo_memory.rs` holds the worst photos the limits allow to a budget.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDateTime};
use exif::{Exif, In, Tag, Value};
use fast_image_resize::{FilterType, IntoImageView, IntoImageViewMut, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Primitive, RgbImage};
use jpeg_encoder::{ColorType, Encoder};

use super::inspect::{MediaType, Rejection};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_LONGEST_SIDE: u32 = 320;
/// The longest side of a display image, in pixels.
pub const DISPLAY_LONGEST_SIDE: u32 = 1600;
/// JPEG quality of the derived images.
const DERIVED_QUALITY: u8 = 80;

/// What a photo may be before it is refused as too large to decode. Checked against the header,
/// before anything is allocated for the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    pub max_width: u32,
    pub max_height: u32,
    /// Width times height.
    pub max_pixels: u64,
    /// What decoding may take: the decoded pixels at the decoder's own pixel format (16 bits a
    /// channel take twice 8's), and what the decoder holds beside them (a progressive JPEG's
    /// coefficients, a WebP's intermediate frames).
    pub max_decoding_bytes: u64,
}

impl Default for PhotoLimits {
    /// 50 megapixels (a phone's full-resolution photo is 12 to 50), at most 12,000 on a side, and
    /// 200 MB for decoding: 50 megapixels of a baseline JPEG, a PNG or a lossless WebP with alpha;
    /// fewer at 16 bits a channel (25), of a progressive JPEG (33 at 4:2:0) or a lossy WebP with
    /// alpha (19). A worker processes one photo per core, and two of these beside the deliveries
    /// fit the chart's 1 GiB.
    fn default() -> Self {
        Self {
            max_width: 12_000,
            max_height: 12_000,
            max_pixels: 50_000_000,
            max_decoding_bytes: 200_000_000,
        }
    }
}

impl PhotoLimits {
    fn too_large(&self) -> Rejection {
        Rejection::image_too_large(self.max_pixels / 1_000_000)
    }
}

/// A JPEG made by us: no EXIF, XMP or ICC profile, only pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedImage {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// What of a photo's EXIF the staff may see (and the participant's app must not republish).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RestrictedMetadata {
    /// `DateTimeOriginal`, the camera's clock.
    pub captured_at: Option<NaiveDateTime>,
    /// `OffsetTimeOriginal`: that clock's offset from UTC, when the file states it.
    pub captured_at_offset: Option<FixedOffset>,
    /// Latitude and longitude in degrees (WGS 84), south and west negative.
    pub position: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PhotoOutcome {
    /// `width` and `height` are the original's, upright.
    Previewed {
        thumbnail: DerivedImage,
        display: DerivedImage,
        width: u32,
        height: u32,
        metadata: RestrictedMetadata,
    },
    /// A photo we take but cannot decode here (HEIC): kept as sent, shown without a preview.
    NoPreview { metadata: RestrictedMetadata },
}

/// Checks and derives a photo whose real type (see [`MediaType::sniff`]) is `media_type`.
/// CPU-bound (a 12-megapixel JPEG takes tens of milliseconds): the caller runs it on a blocking
/// thread.
pub fn process_photo(
    bytes: &[u8],
    media_type: MediaType,
    limits: &PhotoLimits,
) -> Result<PhotoOutcome, Rejection> {
    let exif = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)).ok();
    let metadata = exif.as_ref().map(restricted_metadata).unwrap_or_default();
    let format = match media_type {
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Png => ImageFormat::Png,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Heic => return Ok(PhotoOutcome::NoPreview { metadata }),
        MediaType::Mp4 | MediaType::QuickTime => return Err(Rejection::type_not_allowed()),
    };
    // The JPEG decoder fills in what is missing of a truncated file instead of failing.
    if media_type == MediaType::Jpeg && !jpeg_is_complete(bytes) {
        return Err(Rejection::image_unreadable());
    }
    let decoded = decode(bytes, format, limits)?;
    let orientation = exif.as_ref().and_then(orientation).unwrap_or(Orientation::NoTransforms);
    let (width, height) = (decoded.width(), decoded.height());
    // Rotating the display image is cheaper than rotating the original; the longest side is the
    // same either way.
    let display = display_image(decoded)?;
    let display = upright(display, orientation);
    let thumbnail = downscale(&display, THUMBNAIL_LONGEST_SIDE)?;
    let (width, height) = if swaps_sides(orientation) { (height, width) } else { (width, height) };
    Ok(PhotoOutcome::Previewed {
        thumbnail: encode_jpeg(&thumbnail)?,
        display: encode_jpeg(&display)?,
        width,
        height,
        metadata,
    })
}

/// Decodes within `limits`, in the decoder's own pixel format: the dimensions come from the header,
/// and a photo over the limits is refused before its pixels are allocated.
fn decode(bytes: &[u8], format: ImageFormat, limits: &PhotoLimits) -> Result<DynamicImage, Rejection> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_width);
    decoder_limits.max_image_height = Some(limits.max_height);
    decoder_limits.max_alloc = Some(limits.max_decoding_bytes);
    reader.limits(decoder_limits);
    let rejection = |error| match error {
        ImageError::Limits(_) => limits.too_large(),
        _ => Rejection::image_unreadable(),
    };
    let decoder = reader.into_decoder().map_err(rejection)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Rejection::image_unreadable());
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_width
        || height > limits.max_height
        || pixels > limits.max_pixels
        || decoder.total_bytes().saturating_add(decoder_working_bytes(bytes, format, pixels))
            > limits.max_decoding_bytes
    {
        return Err(limits.too_large());
    }
    DynamicImage::from_decoder(decoder).map_err(rejection)
}

/// The display image of the decoded photo, made without a second full-size buffer: transparency is
/// flattened in place, the pixels are resized in their own format, and only the result is turned
/// into 8-bit RGB.
fn display_image(mut image: DynamicImage) -> Result<RgbImage, Rejection> {
    flatten_on_white(&mut image);
    let (width, height) = fitted(image.width(), image.height(), DISPLAY_LONGEST_SIDE);
    if (width, height) == (image.width(), image.height()) {
        return Ok(image.into_rgb8());
    }
    let mut display = DynamicImage::new(width, height, image.color());
    resize(&image, &mut display)?;
    drop(image);
    Ok(display.into_rgb8())
}

/// Transparent parts become white (JPEG has no transparency; dropping the alpha channel would
/// show whatever colour the transparent pixels happen to hold). In place; the alpha channel is
/// left fully opaque. The decoders of the formats we take give 8 or 16 bits a channel.
fn flatten_on_white(image: &mut DynamicImage) {
    match image {
        DynamicImage::ImageLumaA8(pixels) => flatten_samples(pixels, 2),
        DynamicImage::ImageRgba8(pixels) => flatten_samples(pixels, 4),
        DynamicImage::ImageLumaA16(pixels) => flatten_samples(pixels, 2),
        DynamicImage::ImageRgba16(pixels) => flatten_samples(pixels, 4),
        _ => {}
    }
}

/// Blends each pixel of `channels` samples (the last one alpha) with white.
fn flatten_samples<T: Primitive + Into<u32> + TryFrom<u32>>(samples: &mut [T], channels: usize) {
    let max: u32 = T::DEFAULT_MAX_VALUE.into();
    for pixel in samples.chunks_exact_mut(channels) {
        let (colour, alpha) = pixel.split_at_mut(channels - 1);
        let opacity: u32 = alpha[0].into();
        for sample in colour {
            let blended = ((*sample).into() * opacity + max * (max - opacity) + max / 2) / max;
            *sample = T::try_from(blended).unwrap_or(T::DEFAULT_MAX_VALUE);
        }
        alpha[0] = T::DEFAULT_MAX_VALUE;
    }
}

/// The size that fits `longest_side`, keeping the aspect ratio; never larger than the original.
fn fitted(width: u32, height: u32, longest_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= longest_side {
        return (width, height);
    }
    let scale = f64::from(longest_side) / f64::from(longest);
    let side = |length: u32| ((f64::from(length) * scale).round() as u32).clamp(1, longest_side);
    (side(width), side(height))
}

fn downscale(image: &RgbImage, longest_side: u32) -> Result<RgbImage, Rejection> {
    let (width, height) = image.dimensions();
    let (target_width, target_height) = fitted(width, height, longest_side);
    if (target_width, target_height) == (width, height) {
        return Ok(image.clone());
    }
    let mut target = RgbImage::new(target_width, target_height);
    resize(image, &mut target)?;
    Ok(target)
}

/// Resizes `source` to the size of `target`, both of the same pixel format.
fn resize(source: &impl IntoImageView, target: &mut impl IntoImageViewMut) -> Result<(), Rejection> {
    // A convolution whose kernel grows with the scale factor: no aliasing on a large downscale,
    // and a fraction of Lanczos3's cost. Transparency is flattened before, so the alpha channel
    // needs no premultiplying (which would take a full-size copy of the source).
    let options =
        ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)).use_alpha(false);
    Resizer::new().resize(source, target, &options).map_err(|_| Rejection::image_unreadable())
}

fn upright(image: RgbImage, orientation: Orientation) -> RgbImage {
    if orientation == Orientation::NoTransforms {
        return image;
    }
    let mut image = DynamicImage::ImageRgb8(image);
    image.apply_orientation(orientation);
    image.into_rgb8()
}

fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn encode_jpeg(image: &RgbImage) -> Result<DerivedImage, Rejection> {
    let (width, height) = image.dimensions();
    Ok(DerivedImage { jpeg: jpeg_bytes(image, DERIVED_QUALITY)?, width, height })
}

/// `image` as a baseline JPEG with 4:2:0 chroma and nothing besides the pixels but the JFIF
/// header.
fn jpeg_bytes(image: &RgbImage, quality: u8) -> Result<Vec<u8>, Rejection> {
    let side = |length: u32| u16::try_from(length).map_err(|_| Rejection::image_unreadable());
    let (width, height) = (side(image.width())?, side(image.height())?);
    let mut jpeg = Vec::with_capacity(image.as_raw().len() / 8);
    Encoder::new(&mut jpeg, quality)
        .encode(image.as_raw(), width, height, ColorType::Rgb)
        .map_err(|_| Rejection::image_unreadable())?;
    Ok(jpeg)
}

/// The segments of a JPEG before its first scan, walked by their lengths (an EXIF thumbnail's own
/// markers are skipped that way).
struct JpegHeader<'a> {
    /// The progressive frame header's payload (after its length), when the frame is progressive.
    progressive_frame: Option<&'a [u8]>,
    /// Where the first scan's entropy-coded data starts.
    scan_start: usize,
}

/// None when the file breaks off before its first scan.
fn jpeg_header(bytes: &[u8]) -> Option<JpegHeader<'_>> {
    let mut at = 2;
    let mut progressive_frame = None;
    loop {
        let &[0xFF, marker] = bytes.get(at..at + 2)? else { return None };
        at += 2;
        match marker {
            // Fill bytes before a marker.
            0xFF => at -= 1,
            0x01 | 0xD0..=0xD7 => {}
            0xD8 | 0xD9 => return None,
            _ => {
                let &[high, low] = bytes.get(at..at + 2)? else { return None };
                let length = usize::from(u16::from_be_bytes([high, low]));
                if marker == 0xC2 {
                    progressive_frame = bytes.get(at + 2..at + length);
                }
                at += length;
                if marker == 0xDA {
                    return Some(JpegHeader { progressive_frame, scan_start: at });
                }
            }
        }
    }
}

/// Whether a JPEG's entropy-coded data ends with the end-of-image marker, looked for after the
/// first scan starts. Within scan data a 0xFF byte is always followed by 0x00 or a restart marker,
/// so 0xFF 0xD9 there is the real end.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    jpeg_header(bytes)
        .and_then(|header| bytes.get(header.scan_start..))
        .is_some_and(|scan| scan.windows(2).rev().any(|pair| pair == [0xFF, 0xD9]))
}

/// What the decoder holds besides the decoded pixels until it is done, in bytes, as the decoders
/// we use allocate it (`core/tests/photo_memory.rs` measures the worst cases).
fn decoder_working_bytes(bytes: &[u8], format: ImageFormat, pixels: u64) -> u64 {
    match format {
        ImageFormat::Jpeg => jpeg_header(bytes)
            .and_then(|header| header.progressive_frame)
            .map_or(0, progressive_coefficient_bytes),
        ImageFormat::WebP => webp_working_bytes(bytes, pixels),
        // Decoded row by row into the pixels themselves.
        _ => 0,
    }
}

/// A progressive JPEG's DCT coefficients, kept for every block of every component until the last
/// scan: 2 bytes a sample, over whole MCUs. `frame` is the frame header after its length:
/// precision, height, width, the number of components, then 3 bytes a component whose second
/// holds its sampling factors.
fn progressive_coefficient_bytes(frame: &[u8]) -> u64 {
    let [_, height_high, height_low, width_high, width_low, count, components @ ..] = frame else { return 0 };
    let height = u64::from(u16::from_be_bytes([*height_high, *height_low]));
    let width = u64::from(u16::from_be_bytes([*width_high, *width_low]));
    let sampling: Vec<(u64, u64)> = components
        .chunks_exact(3)
        .take(usize::from(*count))
        .map(|component| (u64::from(component[1] >> 4).max(1), u64::from(component[1] & 0x0F).max(1)))
        .collect();
    let horizontal_max = sampling.iter().map(|(horizontal, _)| *horizontal).max().unwrap_or(1);
    let vertical_max = sampling.iter().map(|(_, vertical)| *vertical).max().unwrap_or(1);
    let mcus = width.div_ceil(8 * horizontal_max) * height.div_ceil(8 * vertical_max);
    sampling.iter().map(|(horizontal, vertical)| mcus * horizontal * vertical * 64 * 2).sum()
}

/// What the WebP decoder holds besides the decoded pixels, from the first chunk: a lossy image's
/// YUV frame (1.5 bytes a pixel); a lossless image without alpha is decoded as RGBA first (4);
/// an extended one with alpha may be lossy with a lossless alpha plane (YUV, and the plane as RGBA
/// and as one byte: 6.5); an animation's first frame is composed on a canvas (at most 14.5).
fn webp_working_bytes(bytes: &[u8], pixels: u64) -> u64 {
    let tenths_a_pixel = match bytes.get(12..16) {
        Some(b"VP8 ") => 15,
        Some(b"VP8L") => {
            // After the signature byte: 14 bits of width, 14 of height, then alpha_is_used.
            let header = bytes
                .get(21..25)
                .map_or(0, |header| u32::from_le_bytes(header.try_into().expect("four bytes")));
            if header >> 28 & 1 == 1 { 0 } else { 40 }
        }
        Some(b"VP8X") => match bytes.get(20) {
            Some(flags) if flags & 0x02 != 0 => 145,
            Some(flags) if flags & 0x10 != 0 => 65,
            _ => 40,
        },
        _ => 0,
    };
    pixels * tenths_a_pixel / 10
}

fn restricted_metadata(exif: &Exif) -> RestrictedMetadata {
    let captured_at = captured_at(exif);
    RestrictedMetadata {
        captured_at,
        captured_at_offset: captured_at.and_then(|_| captured_at_offset(exif)),
        position: position(exif),
    }
}

fn captured_at(exif: &Exif) -> Option<NaiveDateTime> {
    let field = exif.get_field(Tag::DateTimeOriginal, In::PRIMARY)?;
    let Value::Ascii(values) = &field.value else { return None };
    let text = std::str::from_utf8(values.first()?).ok()?;
    NaiveDateTime::parse_from_str(text.trim_end_matches('\0').trim(), "%Y:%m:%d %H:%M:%S").ok()
}

/// `OffsetTimeOriginal`, written like `+01:00` (EXIF 2.31; phones write it, older cameras do not).
fn captured_at_offset(exif: &Exif) -> Option<FixedOffset> {
    let field = exif.get_field(Tag::OffsetTimeOriginal, In::PRIMARY)?;
    let Value::Ascii(values) = &field.value else { return None };
    let text = std::str::from_utf8(values.first()?).ok()?.trim_end_matches('\0').trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let (hours, minutes) = (hours.parse::<i32>().ok()?, minutes.parse::<i32>().ok()?);
    if !(0..24).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn position(exif: &Exif) -> Option<(f64, f64)> {
    let latitude = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let longitude = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    ((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude))
        .then_some((latitude, longitude))
}

/// Degrees, minutes and seconds as three rationals, negative for the `negative` reference letter.
fn coordinate(exif: &Exif, tag: Tag, reference_tag: Tag, negative: u8) -> Option<f64> {
    let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else { return None };
    let Value::Ascii(reference) = &exif.get_field(reference_tag, In::PRIMARY)?.value else { return None };
    let [degrees, minutes, seconds] = parts.as_slice() else { return None };
    let value = degrees.to_f64() + minutes.to_f64() / 60.0 + seconds.to_f64() / 3600.0;
    if !value.is_finite() {
        return None;
    }
    match reference.first()?.first()? {
        letter if letter.eq_ignore_ascii_case(&negative) => Some(-value),
        _ => Some(value),
    }
}

fn orientation(exif: &Exif) -> Option<Orientation> {
    let value = exif.get_field(Tag::Orientation, In::PRIMARY)?.value.get_uint(0)?;
    Orientation::from_exif(u8::try_from(value).ok()?)
}

/// Photos made up for tests and the benchmark: JPEGs with an EXIF block of our choosing.
pub mod samples {
    use std::io::Cursor;

    use chrono::{FixedOffset, NaiveDateTime};
    use exif::{Field, In, Rational, Tag, Value};
    use image::RgbImage;

    /// What to put in a sample's EXIF block.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct SampleExif {
        pub orientation: Option<u16>,
        pub captured_at: Option<NaiveDateTime>,
        pub captured_at_offset: Option<FixedOffset>,
        pub position: Option<(f64, f64)>,
    }

    /// `image` as a JPEG of `quality`, with an APP1 EXIF segment right after the start marker
    /// unless `exif` is empty.
    pub fn jpeg_with_exif(image: &RgbImage, quality: u8, exif: &SampleExif) -> Vec<u8> {
        let jpeg = super::jpeg_bytes(image, quality).expect("a sample no larger than JPEG allows");
        let Some(tiff) = exif_tiff(exif) else { return jpeg };
        let mut with_exif = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
        with_exif.extend_from_slice(&jpeg[..2]);
        with_exif.extend_from_slice(&[0xFF, 0xE1]);
        with_exif
            .extend_from_slice(&u16::try_from(2 + 6 + tiff.len()).expect("a small EXIF block").to_be_bytes());
        with_exif.extend_from_slice(b"Exif\0\0");
        with_exif.extend_from_slice(&tiff);
        with_exif.extend_from_slice(&jpeg[2..]);
        with_exif
    }

    /// The EXIF block as TIFF data (what follows `Exif\0\0` in a JPEG's APP1 segment); `None`
    /// when there is nothing to write.
    pub fn exif_tiff(exif: &SampleExif) -> Option<Vec<u8>> {
        let ascii = |text: &str| Value::Ascii(vec![text.as_bytes().to_vec()]);
        let field = |tag, value| Field { tag, ifd_num: In::PRIMARY, value };
        let mut fields = Vec::new();
        if let Some(orientation) = exif.orientation {
            fields.push(field(Tag::Orientation, Value::Short(vec![orientation])));
        }
        if let Some(captured_at) = exif.captured_at {
            fields.push(field(
                Tag::DateTimeOriginal,
                ascii(&captured_at.format("%Y:%m:%d %H:%M:%S").to_string()),
            ));
        }
        if let Some(offset) = exif.captured_at_offset {
            fields.push(field(Tag::OffsetTimeOriginal, ascii(&offset.to_string())));
        }
        if let Some((latitude, longitude)) = exif.position {
            fields.push(field(Tag::GPSLatitudeRef, ascii(if latitude < 0.0 { "S" } else { "N" })));
            fields.push(field(Tag::GPSLatitude, degrees_minutes_seconds(latitude)));
            fields.push(field(Tag::GPSLongitudeRef, ascii(if longitude < 0.0 { "W" } else { "E" })));
            fields.push(field(Tag::GPSLongitude, degrees_minutes_seconds(longitude)));
        }
        if fields.is_empty() {
            return None;
        }
        let mut writer = exif::experimental::Writer::new();
        for field in &fields {
            writer.push_field(field);
        }
        let mut tiff = Cursor::new(Vec::new());
        writer.write(&mut tiff, false).expect("writing to memory does not fail");
        Some(tiff.into_inner())
    }

    fn degrees_minutes_seconds(value: f64) -> Value {
        let value = value.abs();
        let degrees = value.trunc();
        let minutes = ((value - degrees) * 60.0).trunc();
        let seconds = (value - degrees - minutes / 60.0) * 3600.0;
        Value::Rational(vec![
            Rational { num: degrees as u32, denom: 1 },
            Rational { num: minutes as u32, denom: 1 },
            Rational { num: (seconds * 10_000.0).round() as u32, denom: 10_000 },
        ])
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, NaiveDate};
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::png::PngEncoder;
    use image::codecs::webp::WebPEncoder;
    use image::{ExtendedColorType, ImageEncoder, Rgb, RgbaImage};

    use super::samples::{SampleExif, jpeg_with_exif};
    use super::*;

    const RED: Rgb<u8> = Rgb([220, 30, 30]);
    const BLUE: Rgb<u8> = Rgb([30, 30, 220]);

    /// The left half red, the right half blue.
    fn red_left_blue_right(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, _| if x < width / 2 { RED } else { BLUE })
    }

    fn jpeg(image: &RgbImage, exif: &SampleExif) -> Vec<u8> {
        jpeg_with_exif(image, 90, exif)
    }

    fn previewed(outcome: PhotoOutcome) -> (DerivedImage, DerivedImage, u32, u32, RestrictedMetadata) {
        match outcome {
            PhotoOutcome::Previewed { thumbnail, display, width, height, metadata } => {
                (thumbnail, display, width, height, metadata)
            }
            PhotoOutcome::NoPreview { .. } => panic!("expected a preview"),
        }
    }

    fn pixels(derived: &DerivedImage) -> RgbImage {
        let image =
            image::load_from_memory_with_format(&derived.jpeg, ImageFormat::Jpeg).expect("a readable JPEG");
        assert_eq!(image.width(), derived.width);
        assert_eq!(image.height(), derived.height);
        image.into_rgb8()
    }

    fn is_near(pixel: &Rgb<u8>, expected: Rgb<u8>) -> bool {
        pixel.0.iter().zip(expected.0).all(|(&got, want)| got.abs_diff(want) < 40)
    }

    fn amsterdam_photo() -> SampleExif {
        SampleExif {
            orientation: Some(1),
            captured_at: NaiveDate::from_ymd_opt(2026, 11, 30).and_then(|date| date.and_hms_opt(18, 57, 9)),
            captured_at_offset: FixedOffset::east_opt(3600),
            position: Some((52.3731, 4.8926)),
        }
    }

    #[test]
    fn a_large_photo_gives_a_display_image_of_1600_and_a_thumbnail_of_320_pixels() {
        let photo = jpeg(&red_left_blue_right(4000, 3000), &SampleExif::default());
        let (thumbnail, display, width, height, _) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!((width, height), (4000, 3000));
        assert_eq!((display.width, display.height), (1600, 1200));
        assert_eq!((thumbnail.width, thumbnail.height), (320, 240));
        let display = pixels(&display);
        assert!(is_near(display.get_pixel(100, 600), RED));
        assert!(is_near(display.get_pixel(1500, 600), BLUE));
    }

    #[test]
    fn a_small_photo_is_never_enlarged() {
        let photo = jpeg(&red_left_blue_right(200, 100), &SampleExif::default());
        let (thumbnail, display, ..) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!((display.width, display.height), (200, 100));
        assert_eq!((thumbnail.width, thumbnail.height), (200, 100));
    }

    #[test]
    fn exif_orientation_6_turns_the_photo_a_quarter_clockwise() {
        let exif = SampleExif { orientation: Some(6), ..SampleExif::default() };
        let photo = jpeg(&red_left_blue_right(2000, 1000), &exif);
        let (thumbnail, display, width, height, _) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!((width, height), (1000, 2000));
        assert_eq!((display.width, display.height), (800, 1600));
        assert_eq!((thumbnail.width, thumbnail.height), (160, 320));
        // The left edge of the sensor is the top of the upright photo.
        let display = pixels(&display);
        assert!(is_near(display.get_pixel(400, 200), RED), "{:?}", display.get_pixel(400, 200));
        assert!(is_near(display.get_pixel(400, 1400), BLUE), "{:?}", display.get_pixel(400, 1400));
    }

    #[test]
    fn exif_orientation_8_turns_the_photo_a_quarter_anticlockwise() {
        let exif = SampleExif { orientation: Some(8), ..SampleExif::default() };
        let photo = jpeg(&red_left_blue_right(64, 32), &exif);
        let (_, display, width, height, _) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!((width, height), (32, 64));
        let display = pixels(&display);
        assert!(is_near(display.get_pixel(16, 8), BLUE), "{:?}", display.get_pixel(16, 8));
        assert!(is_near(display.get_pixel(16, 56), RED), "{:?}", display.get_pixel(16, 56));
    }

    #[test]
    fn capture_time_and_position_come_from_exif() {
        let photo = jpeg(&red_left_blue_right(64, 48), &amsterdam_photo());
        let (.., metadata) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!(metadata.captured_at, amsterdam_photo().captured_at);
        assert_eq!(metadata.captured_at_offset, FixedOffset::east_opt(3600));
        let (latitude, longitude) = metadata.position.expect("a position");
        assert!((latitude - 52.3731).abs() < 1e-6, "{latitude}");
        assert!((longitude - 4.8926).abs() < 1e-6, "{longitude}");
    }

    #[test]
    fn the_capture_offset_is_read_as_cameras_write_it() {
        for offset in [FixedOffset::west_opt(3 * 3600 + 1800), FixedOffset::east_opt(0)] {
            let exif = SampleExif { captured_at_offset: offset, ..amsterdam_photo() };
            let (.., metadata) = previewed(
                process_photo(
                    &jpeg(&red_left_blue_right(64, 48), &exif),
                    MediaType::Jpeg,
                    &PhotoLimits::default(),
                )
                .unwrap(),
            );
            assert_eq!(metadata.captured_at_offset, offset);
        }
        // An offset alone says nothing.
        let exif = SampleExif { captured_at: None, ..amsterdam_photo() };
        let photo = jpeg(&red_left_blue_right(64, 48), &exif);
        let (.., metadata) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!(metadata.captured_at_offset, None);
    }

    #[test]
    fn south_and_west_are_negative() {
        let exif = SampleExif { position: Some((-33.8568, -70.6693)), ..SampleExif::default() };
        let photo = jpeg(&red_left_blue_right(64, 48), &exif);
        let (.., metadata) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        let (latitude, longitude) = metadata.position.expect("a position");
        assert!((latitude + 33.8568).abs() < 1e-6, "{latitude}");
        assert!((longitude + 70.6693).abs() < 1e-6, "{longitude}");
        assert_eq!((metadata.captured_at, metadata.captured_at_offset), (None, None));
    }

    #[test]
    fn a_photo_without_exif_has_no_metadata() {
        let mut photo = Vec::new();
        JpegEncoder::new_with_quality(&mut photo, 90).encode_image(&red_left_blue_right(64, 48)).unwrap();
        let (.., metadata) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        assert_eq!(metadata, RestrictedMetadata::default());
    }

    #[test]
    fn the_derived_images_carry_no_exif() {
        let exif = SampleExif { orientation: Some(6), ..amsterdam_photo() };
        let photo = jpeg(&red_left_blue_right(2000, 1000), &exif);
        assert!(
            exif::Reader::new().read_from_container(&mut Cursor::new(&photo)).is_ok(),
            "the original has EXIF"
        );
        let (thumbnail, display, ..) =
            previewed(process_photo(&photo, MediaType::Jpeg, &PhotoLimits::default()).unwrap());
        for derived in [&thumbnail, &display] {
            let read = exif::Reader::new().read_from_container(&mut Cursor::new(&derived.jpeg));
            assert!(matches!(read, Err(exif::Error::NotFound(_))), "{:?}", read.err());
            // Nor XMP, an ICC profile or any other application segment than JFIF's.
            assert!(!derived.jpeg.windows(4).any(|window| window == b"Exif" || window == b"http"));
            assert!(
                !derived
                    .jpeg
                    .windows(2)
                    .any(|window| window[0] == 0xFF && (0xE1..=0xEF).contains(&window[1]))
            );
        }
    }

    #[test]
    fn a_truncated_jpeg_is_unreadable() {
        let photo = jpeg(&red_left_blue_right(640, 480), &amsterdam_photo());
        for length in [photo.len() - 2, photo.len() / 2, 400, 3] {
            let rejection =
                process_photo(&photo[..length], MediaType::Jpeg, &PhotoLimits::default()).unwrap_err();
            assert_eq!(rejection.code, "image_unreadable", "cut at {length}");
        }
    }

    #[test]
    fn garbage_declared_as_a_photo_is_unreadable() {
        let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        garbage.extend((0..5000u32).map(|index| (index * 7919 % 251) as u8));
        for media_type in [MediaType::Jpeg, MediaType::Png, MediaType::Webp] {
            let rejection = process_photo(&garbage, media_type, &PhotoLimits::default()).unwrap_err();
            assert_eq!(rejection.code, "image_unreadable", "{media_type:?}");
        }
    }

    #[test]
    fn png_and_webp_photos_are_previewed() {
        let image = red_left_blue_right(2400, 1200);
        let mut png = Vec::new();
        PngEncoder::new(&mut png).write_image(image.as_raw(), 2400, 1200, ExtendedColorType::Rgb8).unwrap();
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp)
            .write_image(image.as_raw(), 2400, 1200, ExtendedColorType::Rgb8)
            .unwrap();
        for (photo, media_type) in [(png, MediaType::Png), (webp, MediaType::Webp)] {
            assert_eq!(MediaType::sniff(&photo), Some(media_type));
            let (thumbnail, display, width, height, _) =
                previewed(process_photo(&photo, media_type, &PhotoLimits::default()).unwrap());
            assert_eq!((width, height), (2400, 1200), "{media_type:?}");
            assert_eq!((display.width, display.height), (1600, 800), "{media_type:?}");
            assert_eq!((thumbnail.width, thumbnail.height), (320, 160), "{media_type:?}");
            let display = pixels(&display);
            assert!(is_near(display.get_pixel(200, 400), RED), "{media_type:?}");
            assert!(is_near(display.get_pixel(1400, 400), BLUE), "{media_type:?}");
        }
    }

    #[test]
    fn transparency_becomes_white() {
        let image = RgbaImage::from_fn(40, 20, |x, _| {
            if x < 20 { image::Rgba([0, 0, 0, 0]) } else { image::Rgba([30, 30, 220, 255]) }
        });
        let mut png = Vec::new();
        PngEncoder::new(&mut png).write_image(image.as_raw(), 40, 20, ExtendedColorType::Rgba8).unwrap();
        let (_, display, ..) =
            previewed(process_photo(&png, MediaType::Png, &PhotoLimits::default()).unwrap());
        let display = pixels(&display);
        assert!(is_near(display.get_pixel(5, 10), Rgb([255, 255, 255])), "{:?}", display.get_pixel(5, 10));
        assert!(is_near(display.get_pixel(35, 10), BLUE));
    }

    #[test]
    fn transparency_becomes_white_in_16_bit_photos_and_when_resized() {
        let (width, height) = (3200, 1600);
        let rgba = |x: u32, _| if x < width / 2 { [0u16, 0, 0, 0] } else { [7710, 7710, 56540, 65535] };
        let samples8: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| rgba(x, y).map(|sample| (sample >> 8) as u8)))
            .collect();
        let samples16: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| rgba(x, y)))
            .flat_map(u16::to_ne_bytes)
            .collect();
        for (samples, color) in [(samples8, ExtendedColorType::Rgba8), (samples16, ExtendedColorType::Rgba16)]
        {
            let mut png = Vec::new();
            PngEncoder::new(&mut png).write_image(&samples, width, height, color).unwrap();
            let (_, display, ..) =
                previewed(process_photo(&png, MediaType::Png, &PhotoLimits::default()).unwrap());
            assert_eq!((display.width, display.height), (1600, 800), "{color:?}");
            let display = pixels(&display);
            assert!(is_near(display.get_pixel(200, 400), Rgb([255, 255, 255])), "{color:?}");
            assert!(is_near(display.get_pixel(1400, 400), BLUE), "{color:?}");
        }
    }

    #[test]
    fn a_grey_photo_is_previewed() {
        let grey =
            image::GrayImage::from_fn(2000, 1000, |x, _| image::Luma([if x < 1000 { 40 } else { 220 }]));
        let mut png = Vec::new();
        PngEncoder::new(&mut png).write_image(grey.as_raw(), 2000, 1000, ExtendedColorType::L8).unwrap();
        let (_, display, ..) =
            previewed(process_photo(&png, MediaType::Png, &PhotoLimits::default()).unwrap());
        assert_eq!((display.width, display.height), (1600, 800));
        let display = pixels(&display);
        assert!(is_near(display.get_pixel(100, 400), Rgb([40, 40, 40])));
        assert!(is_near(display.get_pixel(1500, 400), Rgb([220, 220, 220])));
    }

    #[test]
    fn more_pixels_than_allowed_are_refused_with_the_limit_in_the_reason() {
        let photo = jpeg(&red_left_blue_right(300, 200), &SampleExif::default());
        let limits = PhotoLimits { max_pixels: 59_999, ..PhotoLimits::default() };
        let rejection = process_photo(&photo, MediaType::Jpeg, &limits).unwrap_err();
        assert_eq!(rejection.code, "image_too_large");
        let rejection =
            process_photo(&png_of(&red_left_blue_right(8000, 7000)), MediaType::Png, &PhotoLimits::default())
                .unwrap_err();
        assert_eq!(rejection.code, "image_too_large");
        assert!(rejection.reason.contains("at most 50 megapixels"), "{}", rejection.reason);
    }

    fn png_of(image: &RgbImage) -> Vec<u8> {
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(image.as_raw(), image.width(), image.height(), ExtendedColorType::Rgb8)
            .unwrap();
        png
    }

    #[test]
    fn a_progressive_jpeg_counts_its_coefficients_as_decoding_memory() {
        // 800 x 800 without subsampling: 1.92 MB of pixels, and 3.84 MB of coefficients while a
        // progressive JPEG is decoded.
        let image = red_left_blue_right(800, 800);
        let encode = |progressive: bool| {
            let mut jpeg = Vec::new();
            let mut encoder = Encoder::new(&mut jpeg, 90);
            encoder.set_progressive(progressive);
            encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
            encoder.encode(image.as_raw(), 800, 800, ColorType::Rgb).unwrap();
            jpeg
        };
        let limits = PhotoLimits { max_decoding_bytes: 5_000_000, ..PhotoLimits::default() };
        assert!(process_photo(&encode(false), MediaType::Jpeg, &limits).is_ok());
        let rejection = process_photo(&encode(true), MediaType::Jpeg, &limits).unwrap_err();
        assert_eq!(rejection.code, "image_too_large");
        let roomier = PhotoLimits { max_decoding_bytes: 5_760_000, ..limits };
        assert!(process_photo(&encode(true), MediaType::Jpeg, &roomier).is_ok());
    }

    #[test]
    fn a_lossless_webp_without_alpha_counts_the_rgba_frame_it_is_decoded_through() {
        // 1000 x 1000: 3 MB of RGB, decoded through 4 MB of RGBA; with alpha, straight into its
        // 4 MB.
        let rgb = vec![90u8; 3_000_000];
        let rgba = vec![90u8; 4_000_000];
        let mut opaque = Vec::new();
        WebPEncoder::new_lossless(&mut opaque)
            .write_image(&rgb, 1000, 1000, ExtendedColorType::Rgb8)
            .unwrap();
        let mut transparent = Vec::new();
        WebPEncoder::new_lossless(&mut transparent)
            .write_image(&rgba, 1000, 1000, ExtendedColorType::Rgba8)
            .unwrap();
        let limits = PhotoLimits { max_decoding_bytes: 5_000_000, ..PhotoLimits::default() };
        assert_eq!(process_photo(&opaque, MediaType::Webp, &limits).unwrap_err().code, "image_too_large");
        assert!(process_photo(&transparent, MediaType::Webp, &limits).is_ok());
        let roomier = PhotoLimits { max_decoding_bytes: 7_000_000, ..limits };
        assert!(process_photo(&opaque, MediaType::Webp, &roomier).is_ok());
    }

    #[test]
    fn a_heic_photo_is_kept_without_a_preview() {
        let mut heic = Vec::new();
        heic.extend_from_slice(&24u32.to_be_bytes());
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        heic.extend_from_slice(&[0x5A; 200]);
        assert_eq!(MediaType::sniff(&heic), Some(MediaType::Heic));
        let outcome = process_photo(&heic, MediaType::Heic, &PhotoLimits::default()).unwrap();
        assert_eq!(outcome, PhotoOutcome::NoPreview { metadata: RestrictedMetadata::default() });
    }

    #[test]
    fn a_video_type_is_not_a_photo() {
        let rejection =
            process_photo(b"\0\0\0\x18ftypisom", MediaType::Mp4, &PhotoLimits::default()).unwrap_err();
        assert_eq!(rejection.code, "type_not_allowed");
    }
}
