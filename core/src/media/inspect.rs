//! What an uploaded file really is: the media types a tip may carry, recognised from their first
//! bytes rather than from the name or the declared type, and the reasons a file is refused.

use std::fmt;

use crate::vocabulary::media::MediaKind;

/// The media types a tip may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    Heic,
    Webp,
    Mp4,
    QuickTime,
}

/// ISO base media file format brands (in an `ftyp` box) and the type they announce.
const BRANDS: &[(&[u8; 4], MediaType)] = &[
    (b"heic", MediaType::Heic),
    (b"heix", MediaType::Heic),
    (b"hevc", MediaType::Heic),
    (b"hevx", MediaType::Heic),
    (b"heim", MediaType::Heic),
    (b"heis", MediaType::Heic),
    (b"mif1", MediaType::Heic),
    (b"msf1", MediaType::Heic),
    (b"qt  ", MediaType::QuickTime),
    (b"isom", MediaType::Mp4),
    (b"iso2", MediaType::Mp4),
    (b"iso3", MediaType::Mp4),
    (b"iso4", MediaType::Mp4),
    (b"iso5", MediaType::Mp4),
    (b"iso6", MediaType::Mp4),
    (b"mp41", MediaType::Mp4),
    (b"mp42", MediaType::Mp4),
    (b"avc1", MediaType::Mp4),
    (b"M4V ", MediaType::Mp4),
    (b"M4VH", MediaType::Mp4),
    (b"M4VP", MediaType::Mp4),
    (b"dash", MediaType::Mp4),
];

/// Major brands of formats we do not take even though their compatible brands (`mif1`, `isom`)
/// would match: AVIF images and sequences, MPEG-4 audio.
const REFUSED_MAJOR_BRANDS: &[&[u8; 4]] = &[b"avif", b"avis", b"M4A ", b"M4B "];

impl MediaType {
    /// The type a client declared (`Content-Type`), ignoring case and parameters.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/heic" | "image/heif" | "image/heic-sequence" | "image/heif-sequence" => Some(Self::Heic),
            "image/webp" => Some(Self::Webp),
            "video/mp4" => Some(Self::Mp4),
            "video/quicktime" => Some(Self::QuickTime),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Heic => "image/heic",
            Self::Webp => "image/webp",
            Self::Mp4 => "video/mp4",
            Self::QuickTime => "video/quicktime",
        }
    }

    pub fn kind(self) -> MediaKind {
        match self {
            Self::Jpeg | Self::Png | Self::Heic | Self::Webp => MediaKind::Photo,
            Self::Mp4 | Self::QuickTime => MediaKind::Video,
        }
    }

    /// The real type from the first bytes (give at least 64 when the file has them). `None` for
    /// anything else, an executable or archive renamed `.jpg` included.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Self::Jpeg);
        }
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(Self::Png);
        }
        if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            return Some(Self::Webp);
        }
        sniff_iso_bmff(head)
    }
}

/// An ISO base media file starts with an `ftyp` box: size (4 bytes), `ftyp`, the major brand, a
/// minor version and compatible brands up to the box's end. The major brand decides when we know
/// it; otherwise the first compatible brand we know.
fn sniff_iso_bmff(head: &[u8]) -> Option<MediaType> {
    if head.len() < 12 || &head[4..8] != b"ftyp" {
        return None;
    }
    let box_size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let major: &[u8] = &head[8..12];
    if REFUSED_MAJOR_BRANDS.iter().any(|brand| brand.as_slice() == major) {
        return None;
    }
    let known =
        |brand: &[u8]| BRANDS.iter().find(|(known, _)| known.as_slice() == brand).map(|(_, kind)| *kind);
    if let Some(kind) = known(major) {
        return Some(kind);
    }
    // A size of 0 means the box runs to the end of the file.
    let end = if box_size == 0 { head.len() } else { box_size.min(head.len()) };
    head.get(16..end)?.chunks_exact(4).find_map(known)
}

/// Why media was refused: a stable `code` for the app and the database, and a sentence the app
/// can show the participant. Neither carries anything from the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub reason: String,
}

impl Rejection {
    pub fn type_not_allowed() -> Self {
        Self::new(
            "type_not_allowed",
            "Only photos (JPEG, PNG, HEIC, WebP) and videos (MP4, MOV) can be sent.",
        )
    }

    pub fn type_mismatch(declared: MediaType, real: MediaType) -> Self {
        Self {
            code: "type_mismatch",
            reason: format!("The file was sent as {} but is {}.", declared.mime(), real.mime()),
        }
    }

    pub fn image_unreadable() -> Self {
        Self::new("image_unreadable", "The photo is damaged or incomplete and cannot be read.")
    }

    /// More pixels than a worker decodes: `max_megapixels` is the limit.
    pub fn image_too_large(max_megapixels: u64) -> Self {
        Self {
            code: "image_too_large",
            reason: format!(
                "The photo has too many pixels to be processed (at most {max_megapixels} megapixels); send it at a smaller size."
            ),
        }
    }

    pub fn video_unreadable() -> Self {
        Self::new("video_unreadable", "The video is damaged or incomplete and cannot be played.")
    }

    pub fn video_too_long(limit_seconds: u64) -> Self {
        Self { code: "video_too_long", reason: format!("The video is longer than {limit_seconds} seconds.") }
    }

    /// What arrived is longer or shorter than declared.
    pub fn size_mismatch() -> Self {
        Self::new("size_mismatch", "The file that arrived is not as large as declared; send it again.")
    }

    /// What arrived is not what was declared: its SHA-256 differs.
    pub fn hash_mismatch() -> Self {
        Self::new(
            "hash_mismatch",
            "The file changed on the way (its SHA-256 differs from the one declared); send it again.",
        )
    }

    /// The upload is gone from the store.
    pub fn upload_missing() -> Self {
        Self::new("upload_missing", "The file did not arrive; send it again.")
    }

    fn new(code: &'static str, reason: &str) -> Self {
        Self { code, reason: reason.to_string() }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for Rejection {}

/// The type of an upload, checked: the declared type must be one we take, and the first bytes
/// must be of that type. Bytes of no type we know count as not allowed (an executable sent as
/// image/jpeg), bytes of another type we know as a mismatch.
pub fn verify_type(declared_mime: &str, head: &[u8]) -> Result<MediaType, Rejection> {
    let declared = MediaType::from_mime(declared_mime).ok_or_else(Rejection::type_not_allowed)?;
    match MediaType::sniff(head) {
        Some(real) if real == declared => Ok(real),
        Some(real) => Err(Rejection::type_mismatch(declared, real)),
        None => Err(Rejection::type_not_allowed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ftyp` box with the given major and compatible brands, padded to 64 bytes as a file's head.
    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut head = Vec::new();
        head.extend_from_slice(&(size as u32).to_be_bytes());
        head.extend_from_slice(b"ftyp");
        head.extend_from_slice(major);
        head.extend_from_slice(&0u32.to_be_bytes());
        for brand in compatible {
            head.extend_from_slice(*brand);
        }
        head.extend_from_slice(&[0, 0, 0, 8]);
        head.extend_from_slice(b"free");
        head.resize(64, 0);
        head
    }

    fn padded(start: &[u8]) -> Vec<u8> {
        let mut head = start.to_vec();
        head.resize(64, 0x20);
        head
    }

    #[test]
    fn sniff_recognises_every_type_we_take() {
        let cases: Vec<(Vec<u8>, MediaType)> = vec![
            (padded(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F']), MediaType::Jpeg),
            (padded(&[0xFF, 0xD8, 0xFF, 0xE1, 0x12, 0x34, b'E', b'x', b'i', b'f']), MediaType::Jpeg),
            (padded(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), MediaType::Png),
            (padded(b"RIFF\x24\x10\0\0WEBPVP8L"), MediaType::Webp),
            (ftyp(b"heic", &[b"mif1", b"heic"]), MediaType::Heic),
            (ftyp(b"heix", &[b"mif1"]), MediaType::Heic),
            (ftyp(b"mif1", &[b"heic"]), MediaType::Heic),
            (ftyp(b"msf1", &[b"hevc"]), MediaType::Heic),
            (ftyp(b"qt  ", &[b"qt  "]), MediaType::QuickTime),
            (ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"]), MediaType::Mp4),
            (ftyp(b"mp42", &[b"isom", b"mp42"]), MediaType::Mp4),
            (ftyp(b"M4V ", &[b"M4V ", b"mp42", b"isom"]), MediaType::Mp4),
            (ftyp(b"dash", &[b"iso6"]), MediaType::Mp4),
            // An unknown major brand: the compatible brands decide.
            (ftyp(b"XAVC", &[b"XAVC", b"mp42", b"iso2"]), MediaType::Mp4),
        ];
        for (head, expected) in cases {
            assert_eq!(MediaType::sniff(&head), Some(expected), "{:?}", &head[..16]);
        }
    }

    #[test]
    fn sniff_refuses_executables_archives_scripts_and_other_formats() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("a lone JPEG marker byte", vec![0xFF, 0xD8]),
            ("ELF", padded(b"\x7fELF\x02\x01\x01\0")),
            ("PE", padded(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff")),
            ("MZ", padded(b"MZ")),
            ("zip", padded(b"PK\x03\x04\x14\0\0\0\x08\0")),
            ("shell script", padded(b"#!/bin/sh\nrm -rf /\n")),
            ("PDF", padded(b"%PDF-1.7\n")),
            ("GIF", padded(b"GIF89a")),
            ("RIFF but WAVE", padded(b"RIFF\x24\x10\0\0WAVEfmt ")),
            ("AVIF", ftyp(b"avif", &[b"mif1", b"miaf"])),
            ("MPEG-4 audio", ftyp(b"M4A ", &[b"isom", b"mp42"])),
            ("ftyp with no brand we know", ftyp(b"abcd", &[b"efgh"])),
            ("a box that is not ftyp", padded(b"\0\0\0\x08mdat")),
        ];
        for (name, head) in cases {
            assert_eq!(MediaType::sniff(&head), None, "{name}");
        }
    }

    #[test]
    fn sniff_reads_only_the_brands_within_the_head_given() {
        let head = ftyp(b"abcd", &[b"isom"]);
        assert_eq!(MediaType::sniff(&head[..20]), Some(MediaType::Mp4));
        assert_eq!(MediaType::sniff(&head[..18]), None);
        assert_eq!(MediaType::sniff(&head[..11]), None);
    }

    #[test]
    fn mime_types_round_trip_and_declare_the_kind() {
        for media_type in [
            MediaType::Jpeg,
            MediaType::Png,
            MediaType::Heic,
            MediaType::Webp,
            MediaType::Mp4,
            MediaType::QuickTime,
        ] {
            assert_eq!(MediaType::from_mime(media_type.mime()), Some(media_type));
        }
        assert_eq!(MediaType::from_mime("image/heif"), Some(MediaType::Heic));
        assert_eq!(MediaType::from_mime("Image/JPEG; charset=binary"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::from_mime("image/gif"), None);
        assert_eq!(MediaType::from_mime("application/octet-stream"), None);
        assert_eq!(MediaType::Webp.kind(), MediaKind::Photo);
        assert_eq!(MediaType::Heic.kind(), MediaKind::Photo);
        assert_eq!(MediaType::QuickTime.kind(), MediaKind::Video);
        assert_eq!(serde_json::to_string(&MediaKind::Video).unwrap(), "\"video\"");
    }

    #[test]
    fn verify_type_takes_the_declared_type_only_when_the_bytes_agree() {
        let jpeg = padded(&[0xFF, 0xD8, 0xFF, 0xE0]);
        let png = padded(b"\x89PNG\r\n\x1a\n");
        let elf = padded(b"\x7fELF");
        assert_eq!(verify_type("image/jpeg", &jpeg), Ok(MediaType::Jpeg));
        assert_eq!(verify_type("image/jpeg", &png).unwrap_err().code, "type_mismatch");
        assert_eq!(verify_type("image/jpeg", &elf).unwrap_err().code, "type_not_allowed");
        assert_eq!(verify_type("application/x-executable", &elf).unwrap_err().code, "type_not_allowed");
        assert_eq!(verify_type("image/gif", &jpeg).unwrap_err().code, "type_not_allowed");
    }
}
