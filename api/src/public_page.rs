//! The public page of an alert as HTML (what is on it is decided in
//! `burgernet_core::alerts::public_page`): Dutch, with the English text below when the control room
//! wrote it, and Open Graph tags so a link shared in a chat app shows a proper preview.
//!
//! The page runs no script at all and loads nothing: its policy allows its one inline style by
//! the style's hash, and nothing else. Pages are cacheable for a minute, so a link shared widely
//! is served by caches in front of us.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use burgernet_core::alerts::content::MessageTexts;
use burgernet_core::alerts::public_page::{PublicAlert, outcome_phrase};
use burgernet_core::reports::dutch_time;
use burgernet_core::vocabulary::Language;
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::html::escape;

/// How long caches may keep a page (and its 404).
pub const PAGE_CACHING: &str = "public, max-age=60";

/// The page's one style, allowed by its hash.
const STYLE: &str = "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
line-height:1.5;color:#1a1a1a;background:#f2f4f6}\
main{max-width:40rem;margin:0 auto;padding:1rem}\
header{display:flex;justify-content:space-between;align-items:center;gap:1rem}\
.brand{margin:0;font-weight:700;font-size:1.2rem;color:#00456b}\
.status{margin:0;padding:.15rem .7rem;border-radius:1rem;font-weight:600}\
.active{background:#ffe08a;color:#3b2c00}.closed{background:#d5ebd8;color:#123d17}\
article{background:#fff;border-radius:.5rem;padding:1rem 1.25rem;margin:1rem 0;box-shadow:0 1px 3px #0002}\
.category{margin:0;color:#444}h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .75rem}\
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .25rem}\
.text{white-space:pre-line}.call,.outcome{font-weight:600}a{color:#00456b}\
ol{padding-left:1.25rem}li{margin:.5rem 0}time{color:#444}footer{color:#444;font-size:.9rem}";

/// No scripts, nothing loaded, no forms, not framed; only the style above.
static POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        STANDARD.encode(Sha256::digest(STYLE))
    )
});

/// The pages' icon: from here, as the policy allows pictures (a browser asks for one).
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">\
<circle cx=\"16\" cy=\"16\" r=\"16\" fill=\"#00456b\"/><text x=\"16\" y=\"22.5\" text-anchor=\"middle\" \
font-family=\"Arial,sans-serif\" font-size=\"19\" font-weight=\"700\" fill=\"#fff\">B</text></svg>";

/// The pages' icon, under a policy that runs and loads nothing should it be opened on its own.
pub fn icon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(ICON)
}

/// The page of `alert`, whose address is `url`.
pub fn alert_page(alert: &PublicAlert, url: &str) -> HttpResponse {
    let nl = &alert.texts.nl;
    let headline = alert.headline(Language::Dutch);
    let (title, description) = match &alert.closing {
        Some(closing) => (
            format!("Afgelopen: {}", nl.title),
            format!("{headline}. {}.", outcome_phrase(closing.outcome, Language::Dutch)),
        ),
        None => (nl.title.clone(), format!("{headline}. {}", nl.message)),
    };
    // Previews show one line of each.
    let (title, description) = (shortened(&title, 120), shortened(&description, 200));
    let mut head = format!(
        "<meta name=\"description\" content=\"{description}\">\
         <meta property=\"og:type\" content=\"website\">\
         <meta property=\"og:site_name\" content=\"Burgernet\">\
         <meta property=\"og:locale\" content=\"nl_NL\">\
         <meta property=\"og:title\" content=\"{title}\">\
         <meta property=\"og:description\" content=\"{description}\">\
         <meta property=\"og:url\" content=\"{url}\">\
         <link rel=\"canonical\" href=\"{url}\">",
        description = escape(&description),
        title = escape(&title),
        url = escape(url),
    );
    if alert.texts.en.is_some() {
        head.push_str("<meta property=\"og:locale:alternate\" content=\"en_GB\">");
    }
    // Findable while it runs; once it is over, the description of whom was sought need not stay
    // in search engines (the link and the feed still lead to it).
    if alert.closing.is_some() {
        head.push_str("<meta name=\"robots\" content=\"noindex\">");
    }
    let (status_class, status_text) = match &alert.closing {
        Some(_) => ("closed", "Afgelopen"),
        None => ("active", "Actief"),
    };
    let mut body = format!(
        "<header><p class=\"brand\">Burgernet</p><p class=\"status {status_class}\">{status_text}</p></header>"
    );
    body.push_str(&article(alert, Language::Dutch));
    if alert.texts.en.is_some() {
        body.push_str(&article(alert, Language::English));
    }
    body.push_str(
        "<footer><p>Burgernet: politie, gemeenten en inwoners samen voor een veilige buurt. \
         Deze pagina toont wat de meldkamer openbaar maakte.</p></footer>",
    );
    respond(StatusCode::OK, &format!("{} - Burgernet", title), &head, &body)
}

/// The alert in one language.
fn article(alert: &PublicAlert, language: Language) -> String {
    let words = Words::of(language);
    let text = alert.texts.in_language(language);
    let mut html = format!(
        "<article lang=\"{lang}\"><p class=\"category\">{headline}</p><h1>{title}</h1>\
         <p class=\"text\">{message}</p>",
        lang = language.as_str(),
        headline = escape(&alert.headline(language)),
        title = escape(&text.title),
        message = escape(&text.message),
    );
    if let Some(instruction) = &text.instruction {
        html.push_str(&format!("<p class=\"text\">{}</p>", escape(instruction)));
    }
    if let Some(number) = &alert.call_back_number {
        let number = escape(number);
        html.push_str(&format!(
            "<p class=\"call\">{} <a href=\"tel:{number}\">{number}</a>.</p>",
            words.call
        ));
    }
    html.push_str(&format!("<p>{} {}</p>", words.sent, time(alert.sent_at)));
    if !alert.updates.is_empty() {
        html.push_str(&format!("<section><h2>{}</h2><ol>", words.updates));
        for update in &alert.updates {
            html.push_str(&format!("<li>{} {}</li>", time(update.sent_at), message(&update.texts, language)));
        }
        html.push_str("</ol></section>");
    }
    if let Some(closing) = &alert.closing {
        html.push_str(&format!(
            "<section><h2>{}</h2><p class=\"outcome\">{}.</p>",
            words.ended,
            escape(outcome_phrase(closing.outcome, language))
        ));
        if let Some(texts) = &closing.message {
            html.push_str(&format!("<p>{}</p>", message(texts, language)));
        }
        html.push_str(&format!("<p>{} {}</p>", words.closed, time(closing.closed_at)));
        // The report is written in Dutch only.
        if let (Some(report), Language::Dutch) = (&closing.report, language) {
            html.push_str(&format!(
                "<h3>Verslag</h3><p class=\"text\" id=\"report\">{}</p>",
                escape(&report.text)
            ));
        }
        html.push_str("</section>");
    }
    html.push_str("</article>");
    html
}

struct Words {
    call: &'static str,
    sent: &'static str,
    updates: &'static str,
    ended: &'static str,
    closed: &'static str,
}

impl Words {
    fn of(language: Language) -> Self {
        match language {
            Language::Dutch => Self {
                call: "Ziet u iets? Bel",
                sent: "Verstuurd:",
                updates: "Updates",
                ended: "Afgelopen",
                closed: "Afgesloten:",
            },
            Language::English => Self {
                call: "Seen something? Call",
                sent: "Sent:",
                updates: "Updates",
                ended: "Ended",
                closed: "Closed:",
            },
        }
    }
}

/// An update's or closing message's text in `language`, marked Dutch where it has no English.
fn message(texts: &MessageTexts, language: Language) -> String {
    let (text, written_in) = match (language, &texts.en) {
        (Language::English, Some(en)) => (&en.message, Language::English),
        _ => (&texts.nl.message, Language::Dutch),
    };
    let lang =
        if written_in == language { String::new() } else { format!(" lang=\"{}\"", written_in.as_str()) };
    format!("<span class=\"text\"{lang}>{}</span>", escape(text))
}

/// `<time>` of a moment, shown on Dutch clocks.
fn time(at: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        at.to_rfc3339_opts(SecondsFormat::Secs, true),
        dutch_time(at).format("%d-%m-%Y %H:%M")
    )
}

/// At most `max` characters of `text` on one line, with an ellipsis where it was cut.
fn shortened(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The page for an address that leads to no public alert: unknown, a draft's, an exercise's.
pub fn no_such_alert() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        "Niet gevonden - Burgernet",
        "<meta name=\"robots\" content=\"noindex\">",
        "<header><p class=\"brand\">Burgernet</p></header><article><h1>Deze pagina bestaat niet</h1>\
         <p>Controleer de link die u kreeg.</p><p lang=\"en\">This page does not exist. Check the link you \
         were given.</p></article>",
    )
}

/// A page with the public pages' headers; `head` and `body` are HTML already.
fn respond(status: StatusCode, title: &str, head: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>{head}\
         <link rel=\"icon\" href=\"/public/icon.svg\" type=\"image/svg+xml\">\
         <style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, PAGE_CACHING))
        .body(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_pages_own_style_and_nothing_else() {
        let policy = POLICY.as_str();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
        assert!(!policy.contains("script") && !policy.contains("unsafe"), "{policy}");
    }

    #[test]
    fn a_description_is_one_shortened_line() {
        assert_eq!(shortened("a\n b", 10), "a b");
        assert_eq!(shortened(&"x ".repeat(20), 10), "x x x x x…");
    }
}
