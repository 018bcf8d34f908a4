//! Bounce reports from the mail provider (the protocol is in
//! `burgernet_core::messages::responses`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use burgernet_core::messages::responses::{self, BounceOutcome, BounceReportBody, parse_bounce};

use crate::auth::verify_webhook_signature;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Record that an e-mail (of a municipal message or an alert) could not be delivered.
///
/// Who may call: the mail provider, authenticated by the signature, as the SMS gateway's receipts
/// are: `X-Signature` is `sha256=<hex HMAC-SHA256(secret, X-Signature-Timestamp + "." + body)>`
/// with `BURGERNET_EMAIL_WEBHOOK_SECRET`, and the timestamp (unix seconds) may be at most 5
/// minutes off. A `permanent` bounce makes the address unverified and puts the participant in the
/// municipality's verification queue (`email_problem`: `email_bounced`); the next message skips
/// the address. A `complaint` about a municipal message unsubscribes the participant from that
/// kind of message. A `transient` one changes nothing.
#[utoipa::path(
    tag = "mail provider",
    security(("mail_provider_signature" = [])),
    request_body(content = BounceReportBody, content_type = "application/json"),
    params(
        ("X-Signature-Timestamp" = String, Header, description = "When the provider signed the report, in seconds since 1970."),
        ("X-Signature" = String, Header, description = "`sha256=` and the HMAC-SHA256 of the timestamp, a dot and the body, in hex."),
    ),
    responses(
        (status = 204, description = "The report was recorded."),
        (status = 202, description = "No e-mail of ours has this Message-ID; the report is acknowledged and ignored."),
        (status = 401, description = "`invalid_signature`: the signature or its timestamp is missing, stale or wrong.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_bounce`: the body is not a bounce report.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/email/bounces")]
pub async fn receive_bounce(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    verify_webhook_signature(&request, &body, &state.email_webhook_secrets, "bounce report")?;
    let report =
        parse_bounce(&body).map_err(|error| ApiError::unprocessable("invalid_bounce", error.to_string()))?;
    let mut conn = state.db().await?;
    Ok(match responses::record_bounce(&mut conn, &report).await? {
        BounceOutcome::Unknown => HttpResponse::Accepted().finish(),
        BounceOutcome::Recorded { address_marked } => {
            tracing::info!(bounce = ?report.bounce_type, address_marked, "bounce report recorded");
            HttpResponse::NoContent().finish()
        }
    })
}
