//! CAP 1.2 messages as the tests check them: valid against the official OASIS schema
//! (`tests/data/cap/CAP-v1.2.xsd`, with `xmllint`), and their elements' texts.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Validates `xml` against the OASIS CAP 1.2 schema; fails the test with xmllint's complaint.
pub fn assert_valid_cap(xml: &str) {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cap/CAP-v1.2.xsd");
    assert_xmllint_accepts(&["--schema", schema], xml);
}

/// Fails the test, with xmllint's complaint, unless `xml` is well-formed XML (an Atom feed, say).
pub fn assert_well_formed(xml: &str) {
    assert_xmllint_accepts(&[], xml);
}

fn assert_xmllint_accepts(checks: &[&str], xml: &str) {
    let mut xmllint = Command::new("xmllint")
        .args(["--noout", "--nonet"])
        .args(checks)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint runs (scripts/install-deps installs libxml2-utils)");
    xmllint.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let output = xmllint.wait_with_output().unwrap();
    assert!(output.status.success(), "{}\n{xml}", String::from_utf8_lossy(&output.stderr));
}

/// The text of every `<name>` element, in order.
pub fn texts<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|part| part.split_once(close.as_str()).map(|(text, _)| text))
        .collect()
}

pub fn one<'a>(xml: &'a str, name: &str) -> &'a str {
    let found = texts(xml, name);
    assert_eq!(found.len(), 1, "<{name}> in {xml}");
    found[0]
}
