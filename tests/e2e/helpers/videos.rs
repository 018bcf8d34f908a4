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
