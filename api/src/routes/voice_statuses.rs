//! Call statuses from the voice gateway (the protocol is in `burgernet_core::providers::voice`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use burgernet_core::alerts::call_statuses::{CallStatusOutcome, record_call_status};
use burgernet_core::providers::voice::{CallStatusBody, parse_call_status};
use burgernet_core::vocabulary::Channel;

use crate::auth::verify_webhook_signature;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// How long a gateway waits before sending again a status that came before its call was recorded.
const RECORDING_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Record how a call an alert placed went.
///
/// Who may call: the voice gateway, authenticated by the signature: `X-Signature` is
/// `sha256=<hex HMAC-SHA256(secret, X-Signature-Timestamp + "." + body)>` with the voice
/// gateway's webhook secret, and the timestamp (unix seconds) may be at most 5 minutes off.
/// Bearer tokens play no part. `answered` and `voicemail` deliver the message; after `no_answer`,
/// `busy` or a passing failure the participant is called once more, two minutes later; a failure
/// that says the number is dead (`invalid_number`, `unknown_subscriber`, ...) quarantines them.
/// The minutes are billed per started minute and count in the costs report.
#[utoipa::path(
    tag = "voice gateway",
    security(("voice_gateway_signature" = [])),
    request_body(content = CallStatusBody, content_type = "application/json"),
    params(
        ("X-Signature-Timestamp" = String, Header, description = "When the gateway signed the status, in seconds since 1970."),
        ("X-Signature" = String, Header, description = "`sha256=` and the HMAC-SHA256 of the timestamp, a dot and the body, in hex."),
    ),
    responses(
        (status = 204, description = "The status was recorded."),
        (status = 202, description = "No call of ours has this id, or the call was settled before; the status is acknowledged and changes nothing."),
        (status = 401, description = "`invalid_signature`: the signature or its timestamp is missing, stale or wrong.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`call_not_recorded_yet`: the call is ours but was placed a moment ago and is not recorded yet; send the status again after `Retry-After` seconds.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_call_status`: the body is not a call status.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/voice/status")]
pub async fn receive_call_status(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    verify_webhook_signature(&request, &body, &state.voice_webhook_secrets, "call status")?;
    let status = parse_call_status(&body)
        .map_err(|error| ApiError::unprocessable("invalid_call_status", error.to_string()))?;
    let mut conn = state.db().await?;
    Ok(match record_call_status(&mut conn, &status).await? {
        CallStatusOutcome::Unknown | CallStatusOutcome::AlreadySettled => HttpResponse::Accepted().finish(),
        CallStatusOutcome::NotYetRecorded => {
            return Err(ApiError::unavailable(
                "call_not_recorded_yet",
                "The call is ours but not recorded yet; send the status again shortly.",
            )
            .retry_after(RECORDING_WAIT));
        }
        CallStatusOutcome::Recorded { settled, .. } => {
            if let Some(result) = settled {
                state.metrics.deliveries.count(Channel::Voice, result, 1);
            }
            HttpResponse::NoContent().finish()
        }
    })
}
