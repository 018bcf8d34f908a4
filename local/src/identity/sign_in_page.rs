//! The pages of the local identity provider: the sign-in page, where anyone picks a role and a
//! region or municipality, and the pages that say why a sign-in cannot go on or that one signed
//! out. Dutch with English alongside; no script and no inline style (the provider's
//! Content-Security-Policy allows neither); everything from outside is escaped.

use burgernet_core::vocabulary::regions::{Municipality, Region};

use super::openid::{AuthorizationRequest, ROLES, SessionLength, SignInForm, role_in_words};

/// The pages' stylesheet, served at `/dev/identity/style.css`.
pub const STYLESHEET: &str = "\
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1a1a1a; }
main { max-width: 34rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 0.5rem;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.15); }
h1 { font-size: 1.5rem; margin-top: 0; }
.subtitle, .en { color: #4a4a4a; font-weight: normal; }
.notice { background: #fff4ce; border-left: 4px solid #b58900; padding: 0.5rem 0.75rem; }
.error { background: #fde7e9; border-left: 4px solid #a4262c; padding: 0.5rem 0.75rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input[type=text], select { display: block; width: 100%; box-sizing: border-box; margin-top: 0.25rem;
  padding: 0.5rem; font-size: 1rem; border: 1px solid #6b6b6b; border-radius: 0.25rem; }
button { margin-top: 1.5rem; padding: 0.6rem 1.5rem; font-size: 1rem; color: #fff; background: #154273;
  border: none; border-radius: 0.25rem; cursor: pointer; }
button:hover { background: #0f2f52; }
:focus-visible { outline: 3px solid #ffb612; outline-offset: 2px; }
";

pub use burgernet_core::markup::escape;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"style.css\">\n</head>\n\
         <body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

fn option(value: &str, label: &str, selected: bool) -> String {
    let selected = if selected { " selected" } else { "" };
    format!("<option value=\"{}\"{selected}>{}</option>\n", escape(value), escape(label))
}

/// What the sign-in page shows.
pub struct SignInPage<'a> {
    pub request: &'a AuthorizationRequest,
    pub form: &'a SignInForm,
    pub regions: &'a [Region],
    pub municipalities: &'a [Municipality],
    /// Why the last choice did not hold.
    pub error: Option<&'a str>,
}

impl SignInPage<'_> {
    pub fn render(&self) -> String {
        let form = self.form;
        let mut body = String::from(
            "<h1>Aanmelden bij Burgernet <span class=\"subtitle\" lang=\"en\">Sign in</span></h1>\n\
             <p class=\"notice\">Lokale identiteitsprovider: alleen voor ontwikkelen en testen. \
             <span lang=\"en\">Local identity provider, for development and tests only.</span></p>\n",
        );
        if let Some(error) = self.error {
            body.push_str(&format!("<p class=\"error\" role=\"alert\" id=\"error\">{}</p>\n", escape(error)));
        }
        body.push_str("<form method=\"post\" action=\"authorize\">\n");
        for (name, value) in self.request.parameters() {
            body.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            ));
        }
        body.push_str(&format!(
            "<label for=\"name\">Naam <span class=\"en\" lang=\"en\">Name</span></label>\n\
             <input type=\"text\" id=\"name\" name=\"name\" value=\"{}\" required maxlength=\"100\" \
             autocomplete=\"name\">\n",
            escape(&form.name)
        ));

        body.push_str("<label for=\"role\">Rol <span class=\"en\" lang=\"en\">Role</span></label>\n<select id=\"role\" name=\"role\">\n");
        for role in ROLES {
            let (dutch, english) = role_in_words(role).expect("every role has words");
            body.push_str(&option(role, &format!("{dutch} ({english})"), form.role == role));
        }
        body.push_str("</select>\n");

        body.push_str(
            "<label for=\"region\">Regio (meldkamer of manager) <span class=\"en\" lang=\"en\">Police region, \
             for dispatchers and region managers</span></label>\n<select id=\"region\" name=\"region\">\n",
        );
        body.push_str(&option("", "Geen regio (no region)", form.region.is_empty()));
        for region in self.regions {
            let code = region.code.as_str();
            body.push_str(&option(code, &region.name, form.region == code));
        }
        body.push_str("</select>\n");

        body.push_str(
            "<label for=\"municipality\">Gemeente (voor relatiebeheer) <span class=\"en\" lang=\"en\">\
             Municipality, for relations officers</span></label>\n<select id=\"municipality\" name=\"municipality\">\n",
        );
        body.push_str(&option("", "Geen gemeente (no municipality)", form.municipality.is_empty()));
        for municipality in self.municipalities {
            let code = municipality.cbs_code.as_str();
            body.push_str(&option(
                code,
                &format!("{} ({code})", municipality.name),
                form.municipality == code,
            ));
        }
        body.push_str("</select>\n");

        body.push_str(
            "<label for=\"session\">Sessieduur <span class=\"en\" lang=\"en\">Session length</span></label>\n\
             <select id=\"session\" name=\"session\">\n",
        );
        for length in SessionLength::ALL {
            let (dutch, english) = length.label();
            body.push_str(&option(
                length.value(),
                &format!("{dutch} ({english})"),
                form.session == length.value(),
            ));
        }
        body.push_str("</select>\n<button type=\"submit\">Aanmelden</button>\n</form>\n");
        page("Aanmelden - Burgernet (lokaal)", &body)
    }
}

/// Why a sign-in cannot go on, for the person at the browser (the client cannot be told).
pub fn refusal_page(reason: &str) -> String {
    let body = format!(
        "<h1>Aanmelden niet mogelijk <span class=\"subtitle\" lang=\"en\">Sign-in not possible</span></h1>\n\
         <p class=\"error\" role=\"alert\">{}</p>\n",
        escape(reason)
    );
    page("Aanmelden niet mogelijk - Burgernet (lokaal)", &body)
}

/// After signing out, when there is nowhere to return to.
pub fn signed_out_page() -> String {
    page(
        "Afgemeld - Burgernet (lokaal)",
        "<h1>Afgemeld <span class=\"subtitle\" lang=\"en\">Signed out</span></h1>\n\
         <p>U bent afgemeld. <span lang=\"en\">You are signed out.</span></p>\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_from_outside_is_escaped() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let request = AuthorizationRequest {
            client_id: "burgernet-console".into(),
            redirect_uri: "http://127.0.0.1:8080/console/".into(),
            state: Some("\"><script>alert(1)</script>".into()),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            scope: "openid".into(),
            nonce: None,
        };
        let form = SignInForm {
            name: "<img src=x onerror=alert(1)>".into(),
            role: "dispatcher".into(),
            region: String::new(),
            municipality: String::new(),
            session: "8h".into(),
        };
        let html = SignInPage {
            request: &request,
            form: &form,
            regions: &[],
            municipalities: &[],
            error: Some("<b>"),
        }
        .render();
        assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"), "{html}");
        assert!(html.contains("value=\"&lt;img src=x onerror=alert(1)&gt;\""), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
        assert!(!html.contains("style="), "no inline style");
    }
}
