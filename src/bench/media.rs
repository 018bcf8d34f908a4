//! `burgernet bench media`: the photo work of the media worker. Makes N synthetic 12-megapixel
//! phone photos (4000 x 3000 JPEGs of 3 to 6 MB with EXIF orientation, capture time and
//! position; not timed) in a temporary directory, then processes them as the worker does, with
//! every core busy: read the file, SHA-256 it, sniff its type, derive the display image and the
//! thumbnail. Prints one line:
//!
//! `media photos=N per_s=X p95_ms=X rss_mb=X`
//!
//! `per_s` is photos over the whole run's wall time; `p95_ms` the 95th percentile of one photo's
//! time from reading to derived images; `rss_mb` the peak resident memory of this process.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use burgernet_core::media::inspect::MediaType;
use burgernet_core::media::photo::samples::{SampleExif, jpeg_with_exif};
use burgernet_core::media::photo::{DISPLAY_LONGEST_SIDE, PhotoLimits, PhotoOutcome, process_photo};
use chrono::{FixedOffset, NaiveDate};
use image::RgbImage;
use sha2::{Digest, Sha256};

use super::peak_rss_mb;

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
/// Near the quality phone cameras save at.
const CAMERA_QUALITY: u8 = 92;

pub fn run(photos: usize) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("burgernet-bench-media-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let outcome = generate(&dir, photos).and_then(|paths| process(&paths));
    let _ = std::fs::remove_dir_all(&dir);
    let (elapsed, mut latencies) = outcome?;
    latencies.sort_unstable();
    let p95 = latencies[(latencies.len() * 95).div_ceil(100).saturating_sub(1)];
    Ok(format!(
        "media photos={photos} per_s={per_s:.1} p95_ms={p95_ms} rss_mb={rss_mb:.0}",
        per_s = photos as f64 / elapsed.as_secs_f64(),
        p95_ms = p95.as_millis(),
        rss_mb = peak_rss_mb()?,
    ))
}

fn workers() -> usize {
    thread::available_parallelism().map_or(1, |count| count.get())
}

/// Writes the photos on every core; returns their paths.
fn generate(dir: &Path, photos: usize) -> anyhow::Result<Vec<PathBuf>> {
    eprintln!("Making {photos} photos of {WIDTH} x {HEIGHT} ...");
    let started = Instant::now();
    let paths: Vec<PathBuf> = (0..photos).map(|index| dir.join(format!("photo-{index}.jpg"))).collect();
    let next = AtomicUsize::new(0);
    let bytes_written = AtomicUsize::new(0);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..workers())
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(index) else { return Ok(()) };
                        let jpeg =
                            jpeg_with_exif(&photo_like(index as u64), CAMERA_QUALITY, &phone_exif(index));
                        bytes_written.fetch_add(jpeg.len(), Ordering::Relaxed);
                        std::fs::write(path, jpeg)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| worker.join().expect("a photo maker panicked"))
    })?;
    eprintln!(
        "Made them in {:.1} s, {:.1} MB each on average",
        started.elapsed().as_secs_f64(),
        bytes_written.into_inner() as f64 / photos.max(1) as f64 / 1e6
    );
    Ok(paths)
}

/// Half the photos taken upright, half with the phone turned (orientation 6); all in Amsterdam.
fn phone_exif(index: usize) -> SampleExif {
    SampleExif {
        orientation: Some(if index.is_multiple_of(2) { 1 } else { 6 }),
        captured_at: NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|date| date.and_hms_opt(18, 30, (index % 60) as u32)),
        captured_at_offset: FixedOffset::east_opt(3600),
        position: Some((52.3731 + index as f64 * 1e-4, 4.8926)),
    }
}

/// Gradients and broad waves with sensor-like noise on top: compresses about as well as a photo.
fn photo_like(seed: u64) -> RgbImage {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        // xorshift64*: fast, and good enough for pixel noise.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as i32
    };
    let phase = seed as f32;
    let wave: Vec<f32> = (0..WIDTH.max(HEIGHT)).map(|at| (at as f32 / 97.0 + phase).sin() * 40.0).collect();
    let mut pixels = Vec::with_capacity(WIDTH as usize * HEIGHT as usize * 3);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let base = [
                (x * 200 / WIDTH) as f32 + wave[y as usize],
                (y * 200 / HEIGHT) as f32 + wave[x as usize],
                ((x + y) * 120 / (WIDTH + HEIGHT)) as f32 + 60.0,
            ];
            for channel in base {
                let value = channel as i32 + (noise() - 128) / 14;
                pixels.push(value.clamp(0, 255) as u8);
            }
        }
    }
    RgbImage::from_raw(WIDTH, HEIGHT, pixels).expect("three bytes for every pixel")
}

/// Processes the photos on every core; returns the wall time and each photo's time.
fn process(paths: &[PathBuf]) -> anyhow::Result<(Duration, Vec<Duration>)> {
    eprintln!("Processing them on {} threads ...", workers());
    let limits = PhotoLimits::default();
    let latencies = Mutex::new(Vec::with_capacity(paths.len()));
    let next = AtomicUsize::new(0);
    let cpu_before = cpu_seconds()?;
    let started = Instant::now();
    thread::scope(|scope| {
        let workers: Vec<_> = (0..workers())
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    while let Some(path) = paths.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let photo_started = Instant::now();
                        process_one(path, &limits)?;
                        latencies
                            .lock()
                            .expect("no panic while holding the lock")
                            .push(photo_started.elapsed());
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| worker.join().expect("a photo worker panicked"))
    })?;
    let elapsed = started.elapsed();
    // The machine may be shared: the CPU time tells what the photos cost whatever else runs.
    eprintln!(
        "Processed them in {:.1} s using {:.1} CPU seconds ({:.0} ms a photo)",
        elapsed.as_secs_f64(),
        cpu_seconds()? - cpu_before,
        (cpu_seconds()? - cpu_before) * 1000.0 / paths.len().max(1) as f64
    );
    Ok((elapsed, latencies.into_inner().expect("no panic while holding the lock")))
}

/// User and system CPU time of this process so far (`/proc/self/stat`, in clock ticks of 1/100 s).
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').context("no command in /proc/self/stat")?.1.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields.get(index).context("a short /proc/self/stat")?.parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

fn process_one(path: &Path, limits: &PhotoLimits) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let digest = Sha256::digest(&bytes);
    ensure!(digest.iter().any(|&byte| byte != 0), "a digest of zeros");
    let Some(media_type) = MediaType::sniff(&bytes[..bytes.len().min(64)]) else {
        bail!("{} is not recognised as a photo", path.display());
    };
    match process_photo(&bytes, media_type, limits) {
        Ok(PhotoOutcome::Previewed { display, .. })
            if display.width.max(display.height) == DISPLAY_LONGEST_SIDE =>
        {
            Ok(())
        }
        Ok(_) => bail!("{} gave no display image of {DISPLAY_LONGEST_SIDE} pixels", path.display()),
        Err(rejection) => bail!("{} was refused: {rejection}", path.display()),
    }
}
