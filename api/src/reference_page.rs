//! A human-readable API reference rendered on the server from the OpenAPI document: plain HTML
//! and CSS, no scripts and nothing fetched from elsewhere, so it works on a closed network.

use std::fmt::Write;

use serde_json::Value;

use crate::html::escape;

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `#/components/schemas/Problem` -> `Problem`, as a link to its section.
fn schema_link(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        return format!("array of {}", schema_link(&schema["items"]));
    }
    format!("<code>{}</code>", escape(&serde_json::to_string(schema).unwrap_or_default()))
}

fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim())))
        .collect()
}

fn render_operation(html: &mut String, method: &str, path: &str, operation: &Value) {
    let _ = write!(
        html,
        "<section class=\"op\"><h3><span class=\"method {m}\">{M}</span> <code>{p}</code></h3><p class=\"summary\">{s}</p>{d}",
        m = escape(method),
        M = escape(&method.to_uppercase()),
        p = escape(path),
        s = escape(text(operation, "summary")),
        d = paragraphs(text(operation, "description")),
    );
    let security: Vec<String> = operation
        .get("security")
        .and_then(Value::as_array)
        .map(|requirements| {
            requirements.iter().filter_map(Value::as_object).flat_map(|r| r.keys().cloned()).collect()
        })
        .unwrap_or_default();
    let _ = write!(
        html,
        "<p><strong>Authentication:</strong> {}</p>",
        if security.is_empty() { "none".to_string() } else { escape(&security.join(" or ")) }
    );
    if let Some(parameters) = operation.get("parameters").and_then(Value::as_array) {
        html.push_str("<table><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>");
        for parameter in parameters {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(parameter, "name")),
                escape(text(parameter, "in")),
                parameter.get("required").and_then(Value::as_bool).unwrap_or(false),
                escape(text(parameter, "description")),
            );
        }
        html.push_str("</table>");
    }
    if let Some(content) = operation.pointer("/requestBody/content").and_then(Value::as_object) {
        for (media_type, body) in content {
            let _ = write!(
                html,
                "<p><strong>Request body</strong> ({}): {}</p>",
                escape(media_type),
                schema_link(&body["schema"])
            );
        }
    }
    if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
        html.push_str("<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>");
        for (status, response) in responses {
            let body = response
                .get("content")
                .and_then(Value::as_object)
                .map(|content| {
                    content
                        .iter()
                        .map(|(media, body)| format!("{} {}", escape(media), schema_link(&body["schema"])))
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(status),
                escape(text(response, "description")),
                body
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</section>");
}

pub fn render(document: &Value) -> String {
    let mut html = String::new();
    let title = document.pointer("/info/title").and_then(Value::as_str).unwrap_or("API");
    let version = document.pointer("/info/version").and_then(Value::as_str).unwrap_or("");
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} reference</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>{t} <small>{v}</small></h1>{d}<p>Machine-readable contract: <a href=\"/openapi.json\">/openapi.json</a></p>",
        t = escape(title),
        v = escape(version),
        d = paragraphs(document.pointer("/info/description").and_then(Value::as_str).unwrap_or("")),
    );

    let mut operations: Vec<(String, String, String, &Value)> = Vec::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let tag = operation
                    .get("tags")
                    .and_then(|tags| tags.get(0))
                    .and_then(Value::as_str)
                    .unwrap_or("other")
                    .to_string();
                operations.push((tag, path.clone(), method.clone(), operation));
            }
        }
    }
    operations.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    let mut current_tag = None;
    for (tag, path, method, operation) in &operations {
        if current_tag != Some(tag) {
            let _ = write!(html, "<h2>{}</h2>", escape(tag));
            current_tag = Some(tag);
        }
        render_operation(&mut html, method, path, operation);
    }

    if let Some(schemes) = document.pointer("/components/securitySchemes").and_then(Value::as_object) {
        html.push_str("<h2>Authentication</h2><dl>");
        for (name, scheme) in schemes {
            let _ = write!(
                html,
                "<dt><code>{}</code></dt><dd>{}</dd>",
                escape(name),
                escape(text(scheme, "description"))
            );
        }
        html.push_str("</dl>");
    }
    if let Some(schemas) = document.pointer("/components/schemas").and_then(Value::as_object) {
        html.push_str("<h2>Schemas</h2>");
        for (name, schema) in schemas {
            let _ = write!(
                html,
                "<section class=\"schema\" id=\"schema-{n}\"><h3>{n}</h3><pre>{s}</pre></section>",
                n = escape(name),
                s = escape(&serde_json::to_string_pretty(schema).unwrap_or_default()),
            );
        }
    }
    html.push_str("</body></html>");
    html
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}\
h1 small{font-weight:normal;color:#666;font-size:.6em}h2{border-bottom:2px solid #154273;margin-top:2.5rem}\
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}.summary{font-weight:600}\
.method{display:inline-block;min-width:4.5em;text-align:center;border-radius:4px;color:#fff;padding:0 .4em;font-size:.85em}\
.get{background:#2e7d32}.post{background:#1565c0}.put,.patch{background:#ef6c00}.delete{background:#c62828}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .6rem;text-align:left;vertical-align:top}\
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto}code{background:#f6f8fa;padding:0 .2em}";
