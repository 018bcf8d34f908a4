//! Delivery receipts from the SMS gateway (the protocol is in `burgernet_core::providers::sms`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use burgernet_core::alerts::sms_receipts::{ReceiptOutcome, record_sms_receipt};
use burgernet_core::providers::sms::{SmsReceiptBody, parse_receipt};
use burgernet_core::vocabulary::Channel;

use crate::auth::verify_webhook_signature;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Record what became of an SMS the gateway accepted.
///
/// Who may call: the SMS gateway, authenticated by the signature: `X-Signature` is
/// `sha256=<hex HMAC-SHA256(secret, X-Signature-Timestamp + "." + body)>` with the shared webhook
/// secret, and the timestamp (unix seconds) may be at most 5 minutes off. Bearer tokens play no
/// part. A permanent failure (`unknown_subscriber`, `invalid_number`,
/// `absent_subscriber_permanent`) quarantines the participant.
#[utoipa::path(
    tag = "sms gateway",
    security(("sms_gateway_signature" = [])),
    request_body(content = SmsReceiptBody, content_type = "application/json"),
    params(
        ("X-Signature-Timestamp" = String, Header, description = "When the gateway signed the receipt, in seconds since 1970."),
        ("X-Signature" = String, Header, description = "`sha256=` and the HMAC-SHA256 of the timestamp, a dot and the body, in hex."),
    ),
    responses(
        (status = 204, description = "The receipt was recorded."),
        (status = 202, description = "No SMS of ours has this id; the receipt is acknowledged and ignored."),
        (status = 401, description = "`invalid_signature`: the signature or its timestamp is missing, stale or wrong.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: the body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_receipt`: the body is not a delivery receipt.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/sms/receipts")]
pub async fn receive_sms_receipt(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    verify_webhook_signature(&request, &body, &state.sms_webhook_secrets, "delivery receipt")?;
    let receipt = parse_receipt(&body)
        .map_err(|error| ApiError::unprocessable("invalid_receipt", error.to_string()))?;
    let mut conn = state.db().await?;
    Ok(match record_sms_receipt(&mut conn, &receipt).await? {
        ReceiptOutcome::Unknown => HttpResponse::Accepted().finish(),
        ReceiptOutcome::Recorded { settled, .. } => {
            if let Some(result) = settled {
                state.metrics.deliveries.count(Channel::Sms, result, 1);
            }
            HttpResponse::NoContent().finish()
        }
    })
}
