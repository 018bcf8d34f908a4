//! Decompression bombs: small files whose headers claim enormous images are refused quickly and
//! before anything is allocated for their pixels. A test binary of its own, because it counts
//! the largest allocation of the whole process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use burgernet_core::media::inspect::MediaType;
use burgernet_core::media::photo::samples::{SampleExif, jpeg_with_exif};
use burgernet_core::media::photo::{PhotoLimits, process_photo};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

/// The system allocator, remembering the largest block asked for.
struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

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

/// A real small JPEG whose frame header claims `width` x `height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = jpeg_with_exif(&small_photo(), 90, &SampleExif::default());
    let frame = jpeg.windows(2).position(|pair| pair == [0xFF, 0xC0]).expect("a baseline frame header");
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

// One test function: the allocation counter is for the whole process, and tests run in parallel.
#[test]
fn decompression_bombs_are_refused_from_their_headers_without_allocating_their_pixels() {
    let defaults = PhotoLimits::default();
    // The counter sees a real decode: a photo of 1000 x 1000 needs its 3 MB.
    let real = jpeg_with_exif(&RgbImage::new(1000, 1000), 90, &SampleExif::default());
    LARGEST.store(0, Ordering::Relaxed);
    process_photo(&real, MediaType::Jpeg, &defaults).unwrap();
    assert!(LARGEST.load(Ordering::Relaxed) >= 3_000_000);

    assert_refused_cheaply("PNG of 60000 x 60000", &png_claiming(60_000, 60_000), MediaType::Png, &defaults);
    assert_refused_cheaply(
        "JPEG of 60000 x 60000",
        &jpeg_claiming(60_000, 60_000),
        MediaType::Jpeg,
        &defaults,
    );
    assert_refused_cheaply("PNG of 12001 x 10", &png_claiming(12_001, 10), MediaType::Png, &defaults);
    assert_refused_cheaply("JPEG of 10 x 12001", &jpeg_claiming(10, 12_001), MediaType::Jpeg, &defaults);

    // Within the sides allowed, but more decoded bytes than allowed.
    let three_megabytes = PhotoLimits { max_decoded_bytes: 3_000_000, ..defaults };
    assert_refused_cheaply("PNG of 1000 x 1001", &png_claiming(1000, 1001), MediaType::Png, &three_megabytes);
    assert_refused_cheaply(
        "JPEG of 1000 x 1001",
        &jpeg_claiming(1000, 1001),
        MediaType::Jpeg,
        &three_megabytes,
    );
}
