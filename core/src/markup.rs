//! Text put into the markup we write ourselves: the HTML pages (the public alert page, notices,
//! printable reports, local mode's sign-in) and the XML documents (CAP messages, Atom feeds). One
//! home for escaping it.

/// The namespace of Atom 1.0 feeds (RFC 4287): the partners' CAP feed and the public feed of
/// closed alerts.
pub const ATOM_NAMESPACE: &str = "http://www.w3.org/2005/Atom";

/// `text` safe as HTML or XML text and inside a quoted attribute: the five characters that could
/// end either are escaped, and control characters other than tab and line breaks, which XML 1.0
/// cannot carry, are dropped.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(character),
            control if control.is_control() => {}
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_and_what_xml_cannot_carry_is_dropped() {
        assert_eq!(escape("Tom & Jerry <3 \u{7}>"), "Tom &amp; Jerry &lt;3 &gt;");
        assert_eq!(escape("\"a\" 'b'\n\tc"), "&quot;a&quot; &#39;b&#39;\n\tc");
    }
}
