//! What processing a photo costs in memory. A worker processes one photo per core beside its
//! deliveries, within the chart's 1 GiB, so:
//!
//! - decompression bombs (small files whose headers claim enormous images) are refused quickly
//!   and before anything is allocated for their pixels;
//! - the largest photos the limits let through, in the formats whose decoders hold the most
//!   besides the pixels, take at most [`BUDGET`] while they are processed.
//!
//! A test binary of its own, because its allocator counts for the whole process; the tests take
//! turns (see [`alone`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use burgernet_core::media::inspect::MediaType;
use burgernet_core::media::photo::samples::{SampleExif, jpeg_with_exif};
use burgernet_core::media::photo::{PhotoLimits, PhotoOutcome, process_photo};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

const MIB: usize = 1024 * 1024;

/// The most processing one photo may take besides the file's own bytes: two at once (one per
/// core under the chart's 2 CPUs), with their files (at most 40 MiB each), leave a third of the
/// worker's 1 GiB to everything else.
const BUDGET: usize = 300 * MIB;

/// The system allocator, counting: the largest block asked for, and the heap in use and its peak.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn allocated(size: usize) {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    let in_use = IN_USE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(in_use, Ordering::Relaxed);
}

fn freed(size: usize) {
    IN_USE.fetch_sub(size, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocated(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocated(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as if the new block came before the old one went: what a moving realloc takes.
        allocated(new_size);
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        freed(if moved.is_null() { new_size } else { layout.size() });
        moved
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        freed(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: the counters are the whole process's, and the test harness runs tests on
/// parallel threads.
fn alone() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Far below the pixels of any bomb here (the smallest claims 3 MB), far above a small PNG's or
/// JPEG's decoder state.
const SMALL_ALLOCATION: usize = 1024 * 1024;

fn small_photo() -> RgbImage {
    RgbImage::from_fn(16, 16, |x, y| Rgb([(x * 16) as u8, (y * 16) as u8, 128]))
}

/// CRC-32 as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        (0..8).fold(
            crc ^ u32::from(byte),
            |crc, _| if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 },
        )
    })
}

/// A real small PNG whose header claims `width` x `height` (with the header's checksum fixed).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png).write_image(small_photo().as_raw(), 16, 16, ExtendedColorType::Rgb8).unwrap();
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A real small JPEG (4:2:0) whose frame header claims `width` x `height`.
fn jpeg_claiming(width: u16, height: u16, progressive: bool) -> Vec<u8> {
    let (jpeg, frame_marker) = if progressive {
        (jpeg(small_photo().as_raw(), 16, true, SamplingFactor::F_2_2), 0xC2)
    } else {
        (jpeg_with_exif(&small_photo(), 90, &SampleExif::default()), 0xC0)
    };
    let mut jpeg = jpeg;
    let frame = jpeg.windows(2).position(|pair| pair == [0xFF, frame_marker]).expect("a frame header");
    jpeg[frame + 5..frame + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[frame + 7..frame + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// Processes `bomb`, expecting `image_too_large` within a second and no large allocation.
fn assert_refused_cheaply(name: &str, bomb: &[u8], media_type: MediaType, limits: &PhotoLimits) {
    LARGEST.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let rejection = process_photo(bomb, media_type, limits).unwrap_err();
    let elapsed = started.elapsed();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert_eq!(rejection.code, "image_too_large", "{name}");
    assert!(elapsed < Duration::from_secs(1), "{name} took {elapsed:?}");
    assert!(largest < SMALL_ALLOCATION, "{name}: an allocation of {largest} bytes");
}

#[test]
fn decompression_bombs_are_refused_from_their_headers_without_allocating_their_pixels() {
    let _turn = alone();
    let defaults = PhotoLimits::default();
    // The counter sees a real decode: a photo of 1000 x 1000 needs its 3 MB.
    let real = jpeg_with_exif(&RgbImage::new(1000, 1000), 90, &SampleExif::default());
    LARGEST.store(0, Ordering::Relaxed);
    process_photo(&real, MediaType::Jpeg, &defaults).unwrap();
    assert!(LARGEST.load(Ordering::Relaxed) >= 3_000_000);

    assert_refused_cheaply("PNG of 60000 x 60000", &png_claiming(60_000, 60_000), MediaType::Png, &defaults);
    assert_refused_cheaply(
        "JPEG of 60000 x 60000",
        &jpeg_claiming(60_000, 60_000, false),
        MediaType::Jpeg,
        &defaults,
    );
    assert_refused_cheaply("PNG of 12001 x 10", &png_claiming(12_001, 10), MediaType::Png, &defaults);
    assert_refused_cheaply(
        "JPEG of 10 x 12001",
        &jpeg_claiming(10, 12_001, false),
        MediaType::Jpeg,
        &defaults,
    );
    // Within the sides allowed, but more than 50 megapixels: 134 (its pixels once filled most of a
    // worker's memory) and one pixel row over the limit.
    assert_refused_cheaply("PNG of 11585 x 11585", &png_claiming(11_585, 11_585), MediaType::Png, &defaults);
    assert_refused_cheaply("PNG of 7072 x 7071", &png_claiming(7072, 7071), MediaType::Png, &defaults);
    // 36 megapixels: fine for a baseline JPEG, but a progressive one also holds its coefficients
    // (another 108 MB) until its last scan.
    assert_refused_cheaply(
        "progressive JPEG of 6000 x 6000",
        &jpeg_claiming(6000, 6000, true),
        MediaType::Jpeg,
        &defaults,
    );

    // Within the sides allowed, but more decoded bytes than allowed.
    let three_megabytes = PhotoLimits { max_decoding_bytes: 3_000_000, ..defaults };
    assert_refused_cheaply("PNG of 1000 x 1001", &png_claiming(1000, 1001), MediaType::Png, &three_megabytes);
    assert_refused_cheaply(
        "JPEG of 1000 x 1001",
        &jpeg_claiming(1000, 1001, false),
        MediaType::Jpeg,
        &three_megabytes,
    );
}

/// Makes the photo, then processes it under the default limits; checks that it is previewed and
/// that the heap grew by at most [`BUDGET`] meanwhile.
fn assert_processed_within_budget(what: &str, media_type: MediaType, make: impl FnOnce() -> Vec<u8>) {
    let _turn = alone();
    let photo = make();
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let outcome = process_photo(&photo, media_type, &PhotoLimits::default());
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let outcome = outcome.unwrap_or_else(|rejection| panic!("{what}: {rejection}"));
    assert!(matches!(outcome, PhotoOutcome::Previewed { .. }), "{what}: no preview");
    println!("{what}: {} MiB", peak / MIB);
    assert!(peak <= BUDGET, "{what}: {} MiB, over the budget of {} MiB", peak / MIB, BUDGET / MIB);
}

/// The side of the largest square photo the default limits let through when decoding takes
/// `bytes_per_pixel`.
fn largest_square_side(bytes_per_pixel: u64) -> u32 {
    let limits = PhotoLimits::default();
    let pixels = (limits.max_decoding_bytes / bytes_per_pixel).min(limits.max_pixels);
    ((pixels as f64).sqrt() as u32).min(limits.max_width).min(limits.max_height)
}

/// A square of one colour (`pixel`, in the layout of `color`): PNG compresses it to almost
/// nothing, as a bomb would be, yet it is a real photo to decode.
fn solid_png(side: u32, color: ExtendedColorType, pixel: &[u8]) -> Vec<u8> {
    let raw = pixel.repeat(side as usize * side as usize);
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::NoFilter)
        .write_image(&raw, side, side, color)
        .unwrap();
    png
}

fn jpeg(rgb: &[u8], side: u16, progressive: bool, sampling: SamplingFactor) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, 90);
    encoder.set_progressive(progressive);
    encoder.set_sampling_factor(sampling);
    encoder.encode(rgb, side, side, ColorType::Rgb).unwrap();
    jpeg
}

fn solid_jpeg(side: u32, progressive: bool, sampling: SamplingFactor) -> Vec<u8> {
    let rgb = [90u8, 140, 200].repeat(side as usize * side as usize);
    jpeg(&rgb, u16::try_from(side).unwrap(), progressive, sampling)
}

#[test]
fn a_half_transparent_png_of_50_megapixels_stays_within_the_budget() {
    let side = largest_square_side(4);
    assert_eq!(side, 7071);
    assert_processed_within_budget("RGBA PNG", MediaType::Png, || {
        solid_png(side, ExtendedColorType::Rgba8, &[200, 30, 30, 128])
    });
}

#[test]
fn the_largest_16_bit_png_stays_within_the_budget() {
    let side = largest_square_side(8);
    assert_processed_within_budget(&format!("16-bit RGBA PNG of {side} x {side}"), MediaType::Png, || {
        solid_png(side, ExtendedColorType::Rgba16, &[200, 30, 30, 128, 1, 2, 3, 4])
    });
}

#[test]
fn a_baseline_jpeg_of_50_megapixels_stays_within_the_budget() {
    let side = largest_square_side(3);
    assert_eq!(side, 7071);
    assert_processed_within_budget("baseline JPEG", MediaType::Jpeg, || {
        solid_jpeg(side, false, SamplingFactor::F_2_2)
    });
}

#[test]
fn the_largest_progressive_jpeg_stays_within_the_budget() {
    // Without chroma subsampling, each pixel's 3 bytes and its 3 coefficients of 2 bytes; a side
    // of whole 8-pixel blocks.
    let side = largest_square_side(9) / 8 * 8;
    assert_processed_within_budget(
        &format!("progressive 4:4:4 JPEG of {side} x {side}"),
        MediaType::Jpeg,
        || solid_jpeg(side, true, SamplingFactor::F_1_1),
    );
}

#[test]
fn the_largest_lossless_webp_without_alpha_stays_within_the_budget() {
    // Decoded as RGBA first, then copied into RGB.
    let side = largest_square_side(7);
    assert_processed_within_budget(&format!("lossless WebP of {side} x {side}"), MediaType::Webp, || {
        let rgb = [200u8, 30, 30].repeat(side as usize * side as usize);
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp).write_image(&rgb, side, side, ExtendedColorType::Rgb8).unwrap();
        webp
    });
}

#[test]
fn the_largest_lossy_webp_with_alpha_stays_within_the_budget() {
    // Its YUV frame, and its alpha plane decoded as RGBA and then as one byte a pixel, besides the
    // RGBA pixels: 10.5 bytes a pixel, so 4364 is the largest side. Made with ffmpeg (libwebp), as image has no lossy encoder:
    // ffmpeg -f lavfi -i "color=c=0x3366cc@0.5:s=4364x4364,format=rgba" -frames:v 1 \
    //   -c:v libwebp -lossless 0 -quality 50 lossy-with-alpha-4364x4364.webp
    assert_processed_within_budget("lossy WebP with alpha of 4364 x 4364", MediaType::Webp, || {
        include_bytes!("data/lossy-with-alpha-4364x4364.webp").to_vec()
    });
}
