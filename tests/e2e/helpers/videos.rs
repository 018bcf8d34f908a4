//! Test videos made by ffmpeg (installed by `scripts/install-deps`), as bytes.

/// What ffmpeg writes to a file named `*.{extension}` with `arguments` before the output path.
pub fn made_by_ffmpeg(extension: &str, arguments: &[&str]) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("burgernet-e2e-video-{}.{extension}", uuid::Uuid::new_v4()));
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin"])
        .args(arguments)
        .arg("-y")
        .arg(&path)
        .status()
        .expect("ffmpeg runs (scripts/install-deps)");
    assert!(status.success(), "ffmpeg made no video");
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

/// A 2-second 640x480 H.264 MP4 test pattern, with `metadata` (ffmpeg `-metadata` pairs such as
/// `location=+51.9225+004.4792/`) written into it.
pub fn two_second_video(metadata: &[&str]) -> Vec<u8> {
    let mut arguments = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x480:rate=10",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
    ];
    for pair in metadata {
        arguments.extend(["-metadata", pair]);
    }
    made_by_ffmpeg("mp4", &arguments)
}
