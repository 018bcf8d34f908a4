//! Text put into the HTML pages the API serves itself (the API reference, printable reports).

/// `text` as HTML text or a quoted attribute value: the five characters that could end either
/// are escaped.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A small self-contained page that tells a participant something (a link that worked or did
/// not): `title` as text, `body` as HTML already (escape what it quotes).
pub fn notice_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>Burgernet</title></head><body><h1>{}</h1>{body}</body></html>",
        escape(title)
    )
}
