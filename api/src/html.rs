//! Text put into the HTML pages the API serves itself (the API reference, printable reports).

pub use burgernet_core::markup::escape;

/// A small self-contained page that tells a participant something (a link that worked or did
/// not): `title` as text, `body` as HTML already (escape what it quotes).
pub fn notice_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>Burgernet</title></head><body><h1>{}</h1>{body}</body></html>",
        escape(title)
    )
}
