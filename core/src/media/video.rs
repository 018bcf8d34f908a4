//! Videos of a tip: checked and described by `ffprobe`, with a poster frame from `ffmpeg` that
//! goes through the photo code (so it carries no metadata), and a playable preview that `ffmpeg`
//! transcodes for the control room's browser, without any of the source's metadata (phone videos
//! carry the position they were taken at). Both tools are optional: where they are missing, a
//! video is kept without a preview.
//!
//! A tool that runs past its timeout is killed and the video is kept without a preview (or
//! without a poster) rather than refused: a timeout says more about the machine's load than about
//! the file, and a participant's video must not be lost to it. The original stays as sent; staff
//! can still download it.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::inspect::{MediaType, Rejection};
use super::photo::{DISPLAY_LONGEST_SIDE, DerivedImage, PhotoLimits, PhotoOutcome, process_photo};
use crate::env::{ConfigError, Env, parse};

/// The video tools and how they may run.
#[derive(Debug, Clone)]
pub struct VideoTools {
    pub ffprobe: PathBuf,
    pub ffmpeg: PathBuf,
    /// How long one run of a tool may take before it is killed.
    pub timeout: Duration,
    /// Longer videos are refused (`video_too_long`); `None` takes any length.
    pub max_duration: Option<Duration>,
    /// Runs of the tools at once, across clones: each decodes on a core of its own.
    permits: Arc<Semaphore>,
    /// Videos on local disk at once, as many as tool runs: each is downloaded whole to `$TMPDIR`
    /// before it is checked, so this bounds the disk a worker needs (a pod that outgrows its
    /// temporary volume is evicted, taking every job it runs with it).
    local_copies: Arc<Semaphore>,
}

impl VideoTools {
    pub fn new(ffprobe: PathBuf, ffmpeg: PathBuf, timeout: Duration, concurrency: usize) -> Self {
        Self {
            ffprobe,
            ffmpeg,
            timeout,
            max_duration: None,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            local_copies: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Room for one more video on local disk, held until the copy is removed; waits while the
    /// worker already holds as many copies as it runs tools.
    pub async fn room_for_local_copy(&self) -> OwnedSemaphorePermit {
        self.local_copies.clone().acquire_owned().await.expect("the semaphore is never closed")
    }

    /// `BURGERNET_FFPROBE` (default `ffprobe`), `BURGERNET_FFMPEG` (default `ffmpeg`),
    /// `BURGERNET_VIDEO_TOOL_TIMEOUT` (default 60s), `BURGERNET_VIDEO_TOOL_CONCURRENCY` (default 2)
    /// and `BURGERNET_VIDEO_MAX_DURATION` (default none).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut tools = Self::new(
            env.or("BURGERNET_FFPROBE", "ffprobe".into(), parse::text)?.into(),
            env.or("BURGERNET_FFMPEG", "ffmpeg".into(), parse::text)?.into(),
            env.or("BURGERNET_VIDEO_TOOL_TIMEOUT", Duration::from_secs(60), parse::duration)?,
            env.or("BURGERNET_VIDEO_TOOL_CONCURRENCY", 2, parse::positive_number)?,
        );
        tools.max_duration = env.optional("BURGERNET_VIDEO_MAX_DURATION", parse::duration)?;
        Ok(tools)
    }
}

/// What `ffprobe` tells of a video's first video stream. `width` and `height` are as shown, the
/// rotation of a phone held upright applied.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFacts {
    pub duration_seconds: f64,
    pub width: u32,
    pub height: u32,
    pub codec: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VideoOutcome {
    /// `poster` is a frame near the start, as a display image (longest side at most 1600).
    Previewed { facts: VideoFacts, poster: DerivedImage },
    /// The tools are missing or took too long (`facts` is `None` when `ffprobe` did), or no frame
    /// could be taken.
    NoPreview { facts: Option<VideoFacts> },
}

/// Checks and describes the MP4 or QuickTime video in the local file at `path`, and takes its
/// poster frame. Missing tools or a timeout give `NoPreview`, never an error; a file `ffprobe`
/// cannot read as a video is `video_unreadable`.
pub async fn process_video(tools: &VideoTools, path: &Path) -> Result<VideoOutcome, Rejection> {
    let probe = match run(tools, &tools.ffprobe, probe_arguments(path)).await {
        Ok(output) => output,
        Err(failure) => {
            tracing::warn!(tool = "ffprobe", %failure, "video kept without a preview");
            return Ok(VideoOutcome::NoPreview { facts: None });
        }
    };
    if !probe.status.success() {
        return Err(Rejection::video_unreadable());
    }
    let facts = facts_from_probe(&probe.stdout).ok_or_else(Rejection::video_unreadable)?;
    if let Some(limit) = tools.max_duration
        && facts.duration_seconds > limit.as_secs_f64()
    {
        return Err(Rejection::video_too_long(limit.as_secs()));
    }
    let at_seconds = (facts.duration_seconds / 2.0).min(1.0);
    let frame = match run(tools, &tools.ffmpeg, poster_arguments(path, at_seconds)).await {
        Ok(output) if output.status.success() && !output.stdout.is_empty() => output.stdout,
        Ok(_) => {
            tracing::warn!(tool = "ffmpeg", "no poster frame could be taken; video kept without a preview");
            return Ok(VideoOutcome::NoPreview { facts: Some(facts) });
        }
        Err(failure) => {
            tracing::warn!(tool = "ffmpeg", %failure, "video kept without a preview");
            return Ok(VideoOutcome::NoPreview { facts: Some(facts) });
        }
    };
    let poster =
        tokio::task::spawn_blocking(move || process_photo(&frame, MediaType::Jpeg, &PhotoLimits::default()))
            .await;
    match poster {
        Ok(Ok(PhotoOutcome::Previewed { display, .. })) => {
            Ok(VideoOutcome::Previewed { facts, poster: display })
        }
        _ => Ok(VideoOutcome::NoPreview { facts: Some(facts) }),
    }
}

/// The input options both tools get: the file protocol only and the MP4/QuickTime demuxer only,
/// so a file that is really a playlist or a concat script cannot make them open anything else.
fn input(path: &Path) -> Vec<OsString> {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    vec!["-protocol_whitelist".into(), "file".into(), "-f".into(), "mov".into(), "-i".into(), url]
}

fn probe_arguments(path: &Path) -> Vec<OsString> {
    let mut arguments: Vec<OsString> =
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
            .map(OsString::from)
            .to_vec();
    arguments.extend(input(path));
    arguments
}

fn poster_arguments(path: &Path, at_seconds: f64) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = vec!["-v".into(), "error".into(), "-nostdin".into()];
    arguments.extend(["-ss".into(), format!("{at_seconds:.3}").into()]);
    arguments.extend(input(path));
    let scale = format!(
        "scale=w='min({DISPLAY_LONGEST_SIDE},iw)':h='min({DISPLAY_LONGEST_SIDE},ih)':force_original_aspect_ratio=decrease"
    );
    arguments.extend(
        [
            "-frames:v",
            "1",
            "-map_metadata",
            "-1",
            "-an",
            "-vf",
            &scale,
            "-f",
            "image2pipe",
            "-c:v",
            "mjpeg",
            "-q:v",
            "2",
            "pipe:1",
        ]
        .map(OsString::from),
    );
    arguments
}

/// A playable preview's bounds: 720p, whichever way up the video is shown.
const PREVIEW_LONG_SIDE: u32 = 1280;
const PREVIEW_SHORT_SIDE: u32 = 720;

/// A video as the control room's browser plays it: H.264 (High profile, yuv420p) and AAC in an MP4
/// with its index first, at most 720p, upright, without metadata. It is a temporary file beside
/// the video's local copy, removed when dropped, so it lives no longer than that copy's room on
/// disk (see `VideoTools::room_for_local_copy`).
#[derive(Debug)]
pub struct PlayablePreview {
    path: PathBuf,
}

impl PlayablePreview {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PlayablePreview {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Transcodes the video in the local file at `path` into its playable preview: one more run of
/// `ffmpeg` under the same timeout and permits. A missing tool, a failure or a timeout give `None`
/// and the video is kept without one, as it is without a poster; no partial file is left.
pub async fn make_playable_preview(tools: &VideoTools, path: &Path) -> Option<PlayablePreview> {
    let mut name = path.file_name()?.to_os_string();
    name.push(".preview.mp4");
    let preview = PlayablePreview { path: path.with_file_name(name) };
    match run(tools, &tools.ffmpeg, preview_arguments(path, &preview.path)).await {
        Ok(output) if output.status.success() => Some(preview),
        Ok(output) => {
            tracing::warn!(tool = "ffmpeg", status = %output.status, "no playable preview could be made; video kept without one");
            None
        }
        Err(failure) => {
            tracing::warn!(tool = "ffmpeg", %failure, "video kept without a playable preview");
            None
        }
    }
}

/// Only the first video and the first audio stream are kept (data, timecode, subtitle and chapter
/// tracks are dropped), and no metadata: neither the container's (`location`, `creation_time`,
/// `make`, `model`, the QuickTime keys) nor the streams'; `bitexact` keeps ffmpeg from writing its
/// own version and times. ffmpeg turns the picture upright itself (the display matrix applied),
/// as for the poster. Scaled down to fit 1280 x 720 (720 x 1280 when upright), never up, to even
/// sides; at most 30 frames a second, the bitrate bounded.
fn preview_arguments(source: &Path, target: &Path) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = ["-v", "error", "-nostdin", "-y"].map(OsString::from).to_vec();
    arguments.extend(input(source));
    let (long, short) = (PREVIEW_LONG_SIDE, PREVIEW_SHORT_SIDE);
    let video_filter = format!(
        "scale=w='min(iw,if(gte(iw,ih),{long},{short}))':h='min(ih,if(gte(iw,ih),{short},{long}))'\
         :force_original_aspect_ratio=decrease:force_divisible_by=2,format=yuv420p"
    );
    arguments.extend(
        [
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-map_metadata",
            "-1",
            "-map_metadata:s",
            "-1",
            "-map_chapters",
            "-1",
            "-dn",
            "-sn",
            "-vf",
            &video_filter,
            "-fpsmax",
            "30",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-preset",
            "veryfast",
            "-crf",
            "26",
            "-maxrate",
            "2500k",
            "-bufsize",
            "5000k",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ac",
            "2",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ]
        .map(OsString::from),
    );
    let mut output = OsString::from("file:");
    output.push(target.as_os_str());
    arguments.push(output);
    arguments
}

/// Why a tool gave no output.
#[derive(Debug, thiserror::Error)]
enum ToolFailure {
    #[error("the tool is not installed")]
    Missing,
    #[error("the tool could not be started: {0}")]
    NotStarted(std::io::Error),
    #[error("the tool ran longer than {0:?} and was stopped")]
    TimedOut(Duration),
}

/// Runs `program` with a permit, killing it when it runs past the timeout.
async fn run(tools: &VideoTools, program: &Path, arguments: Vec<OsString>) -> Result<Output, ToolFailure> {
    let _permit = tools.permits.acquire().await.expect("the semaphore is never closed");
    let child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| match error.kind() {
            ErrorKind::NotFound => ToolFailure::Missing,
            _ => ToolFailure::NotStarted(error),
        })?;
    // On a timeout the future, and with it the child, is dropped: `kill_on_drop` ends it.
    match tokio::time::timeout(tools.timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(ToolFailure::NotStarted(error)),
        Err(_) => Err(ToolFailure::TimedOut(tools.timeout)),
    }
}

/// The first video stream of `ffprobe`'s JSON; `None` when there is none.
fn facts_from_probe(json: &[u8]) -> Option<VideoFacts> {
    let probe: Value = serde_json::from_slice(json).ok()?;
    let stream = probe["streams"].as_array()?.iter().find(|stream| stream["codec_type"] == "video")?;
    let width = u32::try_from(stream["width"].as_u64()?).ok()?;
    let height = u32::try_from(stream["height"].as_u64()?).ok()?;
    if width == 0 || height == 0 {
        return None;
    }
    let seconds = |value: &Value| value.as_str().and_then(|text| text.parse::<f64>().ok());
    let duration_seconds = seconds(&probe["format"]["duration"])
        .or_else(|| seconds(&stream["duration"]))
        .filter(|duration| duration.is_finite() && *duration >= 0.0)
        .unwrap_or_default();
    let (width, height) = if quarter_turned(stream) { (height, width) } else { (width, height) };
    let codec = stream["codec_name"].as_str().unwrap_or("unknown").to_string();
    Some(VideoFacts { duration_seconds, width, height, codec })
}

/// Whether the stream is shown turned a quarter (a display matrix, or the older `rotate` tag).
fn quarter_turned(stream: &Value) -> bool {
    let from_side_data = stream["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|side_data| side_data["rotation"].as_f64());
    let from_tag = stream["tags"]["rotate"].as_str().and_then(|text| text.parse::<f64>().ok());
    from_side_data.or(from_tag).is_some_and(|degrees| (degrees.abs().round() as i64) % 180 == 90)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A directory of its own for one test, removed afterwards.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("burgernet-video-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn installed_tools() -> VideoTools {
        VideoTools::from_env(&Env::default()).unwrap()
    }

    /// A 2-second test pattern of 640 x 480 at 10 frames a second, made by ffmpeg itself.
    fn test_video(dir: &Path) -> PathBuf {
        let path = dir.join("video.mp4");
        let mut command = std::process::Command::new("ffmpeg");
        command.args([
            "-v",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480:rate=10",
            "-t",
            "2",
        ]);
        command.args(["-c:v", "libx264", "-pix_fmt", "yuv420p"]).arg(&path);
        let status = command.status().expect("ffmpeg is installed (scripts/install-deps)");
        assert!(status.success(), "ffmpeg made no test video");
        path
    }

    #[tokio::test]
    async fn a_video_is_described_and_gets_a_poster() {
        let scratch = Scratch::new();
        let video = test_video(&scratch.0);
        let outcome = process_video(&installed_tools(), &video).await.unwrap();
        let VideoOutcome::Previewed { facts, poster } = outcome else { panic!("no preview: {outcome:?}") };
        assert!((facts.duration_seconds - 2.0).abs() < 0.15, "{facts:?}");
        assert_eq!((facts.width, facts.height, facts.codec.as_str()), (640, 480, "h264"));
        assert_eq!((poster.width, poster.height), (640, 480));
        let frame = image::load_from_memory_with_format(&poster.jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((frame.width(), frame.height()), (640, 480));
        let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&poster.jpeg));
        assert!(exif.is_err(), "the poster carries no EXIF");
    }

    /// Sets the video track's display matrix to a quarter turn, as a phone held upright records
    /// (ffmpeg 5 has no option for it). The matrix is 40 bytes into a version 0 `tkhd` box's body.
    fn turn_a_quarter(video: &Path) {
        let mut bytes = std::fs::read(video).unwrap();
        let tkhd = bytes.windows(4).position(|window| window == b"tkhd").expect("a track header") + 4;
        assert_eq!(bytes[tkhd], 0, "a version 0 track header");
        let matrix: [u32; 9] = [0, 0x0001_0000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000];
        for (index, value) in matrix.iter().enumerate() {
            let at = tkhd + 40 + index * 4;
            bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
        std::fs::write(video, bytes).unwrap();
    }

    #[tokio::test]
    async fn a_video_recorded_upright_on_a_phone_is_described_upright() {
        let scratch = Scratch::new();
        let video = test_video(&scratch.0);
        turn_a_quarter(&video);
        let outcome = process_video(&installed_tools(), &video).await.unwrap();
        let VideoOutcome::Previewed { facts, poster } = outcome else { panic!("no preview: {outcome:?}") };
        assert_eq!((facts.width, facts.height), (480, 640));
        assert_eq!((poster.width, poster.height), (480, 640));
    }

    #[tokio::test]
    async fn a_text_file_named_mp4_is_unreadable() {
        let scratch = Scratch::new();
        let path = scratch.0.join("holiday.mp4");
        std::fs::write(&path, "#EXTM3U\n#EXT-X-TARGETDURATION:10\nhttp://127.0.0.1:9/secret.ts\n").unwrap();
        let rejection = process_video(&installed_tools(), &path).await.unwrap_err();
        assert_eq!(rejection.code, "video_unreadable");
    }

    #[tokio::test]
    async fn an_audio_only_file_is_not_a_video() {
        let scratch = Scratch::new();
        let path = scratch.0.join("sound.mp4");
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-nostdin",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=1",
                "-c:a",
                "aac",
            ])
            .arg(&path)
            .status()
            .expect("ffmpeg is installed (scripts/install-deps)");
        assert!(status.success());
        let rejection = process_video(&installed_tools(), &path).await.unwrap_err();
        assert_eq!(rejection.code, "video_unreadable");
    }

    #[tokio::test]
    async fn missing_tools_keep_the_video_without_a_preview() {
        let scratch = Scratch::new();
        let video = test_video(&scratch.0);
        let nowhere = scratch.0.join("no-such-tool");
        let tools = VideoTools::new(nowhere.clone(), nowhere, Duration::from_secs(10), 1);
        assert_eq!(process_video(&tools, &video).await, Ok(VideoOutcome::NoPreview { facts: None }));

        let tools = VideoTools { ffmpeg: scratch.0.join("no-such-ffmpeg"), ..installed_tools() };
        let outcome = process_video(&tools, &video).await.unwrap();
        let VideoOutcome::NoPreview { facts: Some(facts) } = outcome else { panic!("{outcome:?}") };
        assert_eq!((facts.width, facts.height), (640, 480));
    }

    #[tokio::test]
    async fn a_tool_past_its_timeout_is_stopped_and_the_video_kept_without_a_preview() {
        use std::os::unix::fs::PermissionsExt;

        let scratch = Scratch::new();
        let video = test_video(&scratch.0);
        let marker = scratch.0.join("still-running");
        let hanging = scratch.0.join("hanging-ffprobe");
        std::fs::write(&hanging, format!("#!/bin/sh\nsleep 1\ntouch '{}'\nsleep 30\n", marker.display()))
            .unwrap();
        std::fs::set_permissions(&hanging, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tools = VideoTools { ffprobe: hanging, timeout: Duration::from_millis(300), ..installed_tools() };

        let started = Instant::now();
        assert_eq!(process_video(&tools, &video).await, Ok(VideoOutcome::NoPreview { facts: None }));
        assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
        // Killed, not left running: it never gets to its second step.
        tokio::time::sleep(Duration::from_secs(2).saturating_sub(started.elapsed())).await;
        assert!(!marker.exists(), "the timed-out tool went on running");
    }

    #[tokio::test]
    async fn a_video_longer_than_the_limit_is_refused() {
        let scratch = Scratch::new();
        let video = test_video(&scratch.0);
        let tools = VideoTools { max_duration: Some(Duration::from_secs(1)), ..installed_tools() };
        assert_eq!(process_video(&tools, &video).await.unwrap_err().code, "video_too_long");
        let tools = VideoTools { max_duration: Some(Duration::from_secs(3)), ..installed_tools() };
        assert!(matches!(process_video(&tools, &video).await, Ok(VideoOutcome::Previewed { .. })));
    }

    /// `ffprobe`'s JSON of the file: format, streams and chapters.
    fn probe(path: &Path) -> Value {
        let output = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters"])
            .arg(path)
            .output()
            .expect("ffprobe is installed (scripts/install-deps)");
        assert!(output.status.success(), "ffprobe cannot read {}", path.display());
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// A 1-second 1920 x 1080 recording with sound, carrying what a phone writes into its videos:
    /// where and when it was taken, and on what.
    fn phone_video(dir: &Path) -> PathBuf {
        let path = dir.join("phone.mov");
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=10"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"])
            .args([
                "-metadata",
                "location=+52.3702+004.8952/",
                "-metadata",
                "creation_time=2026-11-30T03:04:05Z",
            ])
            .args(["-metadata", "com.apple.quicktime.location.ISO6709=+52.3702+004.8952+001.500/"])
            .args(["-metadata", "make=Apple", "-metadata", "model=iPhone 15 Pro"])
            .args([
                "-metadata:s:v",
                "creation_time=2026-11-30T03:04:05Z",
                "-metadata:s:v",
                "handler_name=Core Media Video",
            ])
            .args(["-movflags", "use_metadata_tags"])
            .arg(&path)
            .status()
            .expect("ffmpeg is installed (scripts/install-deps)");
        assert!(status.success(), "ffmpeg made no test video");
        path
    }

    /// Every tag of the container and of each stream, as (name, value).
    fn tags(probe: &Value) -> Vec<(String, String)> {
        let streams = probe["streams"].as_array().unwrap().iter();
        std::iter::once(&probe["format"])
            .chain(streams)
            .filter_map(|item| item["tags"].as_object())
            .flatten()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_string()))
            .collect()
    }

    fn codecs(probe: &Value) -> Vec<(String, String)> {
        let streams = probe["streams"].as_array().unwrap().iter();
        streams.map(|stream| (stream["codec_type"].to_string(), stream["codec_name"].to_string())).collect()
    }

    #[tokio::test]
    async fn a_phone_video_becomes_a_720p_h264_preview_without_any_of_its_metadata() {
        let scratch = Scratch::new();
        let source = phone_video(&scratch.0);
        let source_tags = tags(&probe(&source));
        assert!(source_tags.iter().any(|(name, _)| name == "location"), "{source_tags:?}");
        assert!(source_tags.iter().any(|(name, _)| name == "creation_time"), "{source_tags:?}");

        let preview = make_playable_preview(&installed_tools(), &source).await.expect("a preview");
        let probed = probe(preview.path());
        assert_eq!(
            codecs(&probed),
            [(r#""video""#.into(), r#""h264""#.into()), (r#""audio""#.into(), r#""aac""#.into())]
        );
        let video = &probed["streams"][0];
        assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(1280), Some(720)));
        assert_eq!((video["profile"].as_str(), video["pix_fmt"].as_str()), (Some("High"), Some("yuv420p")));
        assert_eq!(probed["chapters"], serde_json::json!([]));

        // Only the tags the MP4 muxer writes of itself remain; none of the source's.
        let structural = [
            "major_brand",
            "minor_version",
            "compatible_brands",
            "language",
            "handler_name",
            "vendor_id",
            "encoder",
        ];
        let left = tags(&probed);
        assert!(left.iter().all(|(name, _)| structural.contains(&name.as_str())), "{left:?}");
        for (name, value) in &source_tags {
            let kept = left.iter().any(|(_, left_value)| left_value == value);
            assert!(!kept || structural.contains(&name.as_str()), "{name}={value} was kept: {left:?}");
        }
        let bytes = std::fs::read(preview.path()).unwrap();
        for trace in [&b"+52.3702"[..], b"iPhone", b"Apple", b"2026-11-30", b"Core Media"] {
            assert!(!bytes.windows(trace.len()).any(|window| window == trace), "{:?} in the preview", trace);
        }
        // Its index comes first, so a browser plays it while it loads.
        let at = |atom: &[u8]| bytes.windows(4).position(|window| window == atom).unwrap();
        assert!(at(b"moov") < at(b"mdat"));
    }

    #[tokio::test]
    async fn a_small_video_keeps_its_size_and_without_sound_its_preview_has_none() {
        let scratch = Scratch::new();
        let source = test_video(&scratch.0);
        let preview = make_playable_preview(&installed_tools(), &source).await.expect("a preview");
        let probed = probe(preview.path());
        assert_eq!(codecs(&probed), [(r#""video""#.into(), r#""h264""#.into())]);
        let video = &probed["streams"][0];
        assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(640), Some(480)));

        // The temporary file goes with the preview.
        let path = preview.path().to_path_buf();
        drop(preview);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_video_recorded_upright_on_a_phone_gets_an_upright_preview() {
        let scratch = Scratch::new();
        let source = test_video(&scratch.0);
        turn_a_quarter(&source);
        let preview = make_playable_preview(&installed_tools(), &source).await.expect("a preview");
        let video = probe(preview.path())["streams"][0].clone();
        assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(480), Some(640)));
        assert_eq!(video["side_data_list"], Value::Null, "no display matrix is left to turn it again");
    }

    #[tokio::test]
    async fn a_transcode_past_its_timeout_is_stopped_and_leaves_no_file() {
        use std::os::unix::fs::PermissionsExt;

        let scratch = Scratch::new();
        let source = test_video(&scratch.0);
        // Writes part of its output (the last argument, `file:<path>`), then hangs.
        let hanging = scratch.0.join("hanging-ffmpeg");
        let script = "#!/bin/sh\nfor last; do :; done\necho partial > \"${last#file:}\"\nsleep 30\n";
        std::fs::write(&hanging, script).unwrap();
        std::fs::set_permissions(&hanging, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tools = VideoTools { ffmpeg: hanging, timeout: Duration::from_millis(500), ..installed_tools() };

        let started = Instant::now();
        assert!(make_playable_preview(&tools, &source).await.is_none());
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        let left: Vec<_> =
            std::fs::read_dir(&scratch.0).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "only the source and the script remain: {left:?}");

        let nowhere = VideoTools { ffmpeg: scratch.0.join("no-such-ffmpeg"), ..installed_tools() };
        assert!(make_playable_preview(&nowhere, &source).await.is_none());
    }

    #[test]
    fn the_tools_come_from_the_environment() {
        let tools = VideoTools::from_env(&Env::from_pairs([
            ("BURGERNET_FFPROBE", "/opt/ffmpeg/bin/ffprobe"),
            ("BURGERNET_FFMPEG", "/opt/ffmpeg/bin/ffmpeg"),
            ("BURGERNET_VIDEO_TOOL_TIMEOUT", "15s"),
            ("BURGERNET_VIDEO_TOOL_CONCURRENCY", "3"),
            ("BURGERNET_VIDEO_MAX_DURATION", "5m"),
        ]))
        .unwrap();
        assert_eq!(tools.ffprobe, PathBuf::from("/opt/ffmpeg/bin/ffprobe"));
        assert_eq!(tools.ffmpeg, PathBuf::from("/opt/ffmpeg/bin/ffmpeg"));
        assert_eq!(tools.timeout, Duration::from_secs(15));
        assert_eq!(tools.max_duration, Some(Duration::from_secs(300)));
        assert_eq!(tools.permits.available_permits(), 3);

        let defaults = installed_tools();
        assert_eq!(
            (defaults.ffprobe.as_os_str(), defaults.ffmpeg.as_os_str()),
            ("ffprobe".as_ref(), "ffmpeg".as_ref())
        );
        assert_eq!((defaults.timeout, defaults.max_duration), (Duration::from_secs(60), None));
        assert_eq!(defaults.permits.available_permits(), 2);

        let error =
            VideoTools::from_env(&Env::from_pairs([("BURGERNET_VIDEO_TOOL_CONCURRENCY", "0")])).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_VIDEO_TOOL_CONCURRENCY");
    }
}
