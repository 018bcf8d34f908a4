//! The participant's own account: profile and choices, export, erasure, and the e-mail
//! verification link.

use actix_web::{HttpResponse, delete, get, patch, web};
use burgernet_core::participants::account::{self, ParticipantExport, Profile, ProfileChanges};
use burgernet_core::vocabulary::email::EmailAddress;
use burgernet_core::vocabulary::{
    Category, Channel, InvalidInput, Language, MunicipalMessageKind, parse_display_name,
};
use serde::{Deserialize, Serialize};

use crate::auth::Participant;
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem};
use crate::html::{escape, notice_page};
use crate::json::JsonBody;
use crate::state::AppState;

/// Your profile and choices.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "The profile.", body = Profile), ParticipantAccessProblems)
)]
#[get("/v1/me")]
pub async fn get_profile(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Profile>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(account::profile(&mut conn, participant.id()).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// 1 to 100 characters; `null` removes it.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// A new address is verified through a link sent to it; until then it receives nothing
    /// else. `null` removes it.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub language: Option<Language>,
    /// At least one. `sms` and `voice` (a call that reads the alert aloud, for a phone without the
    /// app) need the phone number; push reaches the app. When push cannot reach the participant,
    /// an alert uses the first of SMS and call, in its category's order, that they chose.
    pub channels: Option<Vec<Channel>>,
    /// At least one.
    pub categories: Option<Vec<Category>>,
    /// "Alerts where I am". Switching it off deletes the stored position at once.
    pub alerts_where_i_am: Option<bool>,
    /// Take part in exercises and tests: alerts marked `OEFENING` in your area, to practise.
    pub exercises: Option<bool>,
    /// The kinds of message from your municipality you want (`newsletter`, `prevention`), by
    /// e-mail and in the app; empty: none.
    pub municipal_messages: Option<Vec<MunicipalMessageKind>>,
}

impl ProfilePatch {
    fn into_changes(self) -> Result<ProfileChanges, InvalidInput> {
        let display_name = match self.display_name {
            Some(Some(name)) => Some(Some(parse_display_name(&name)?)),
            other => other.map(|_| None),
        };
        let email = match self.email {
            Some(Some(email)) => Some(Some(EmailAddress::parse(&email)?)),
            other => other.map(|_| None),
        };
        if self.channels.as_ref().is_some_and(Vec::is_empty) {
            return Err(InvalidInput::new(
                "no_channels",
                "Choose at least one channel: push, sms, voice or email.",
            ));
        }
        if self.categories.as_ref().is_some_and(Vec::is_empty) {
            return Err(InvalidInput::new("no_categories", "Choose at least one category of alerts."));
        }
        Ok(ProfileChanges {
            display_name,
            email,
            language: self.language,
            channels: self.channels,
            categories: self.categories,
            alerts_where_i_am: self.alerts_where_i_am,
            exercises: self.exercises,
            municipal_messages: self.municipal_messages,
        })
    }
}

/// Change your profile and choices; fields left out stay as they are (an empty body changes
/// nothing). A new e-mail address is sent a verification link: at most 5 an hour per account and
/// per address; beyond that the whole change is refused.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The changed profile.", body = Profile),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 422, description = "`invalid_body`, `invalid_display_name`, `invalid_email`, `no_channels` or `no_categories`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_verification_emails`: a new address would get a verification e-mail, but this account or that address had 5 this hour; nothing was changed. See Retry-After.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/me")]
pub async fn update_profile(
    state: web::Data<AppState>,
    participant: Participant,
    body: JsonBody<ProfilePatch>,
) -> Result<web::Json<Profile>, ApiError> {
    let changes = body.into_inner().into_changes()?;
    let mut conn = state.db().await?;
    Ok(web::Json(
        account::update_profile(
            &mut conn,
            state.participant_tokens.key().counter_key(),
            participant.id(),
            changes,
        )
        .await?,
    ))
}

/// Everything held about you, as one JSON document.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "The export.", body = ParticipantExport), ParticipantAccessProblems)
)]
#[get("/v1/me/export")]
pub async fn export(state: web::Data<AppState>, participant: Participant) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let export = account::export(&mut conn, participant.id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Disposition", "attachment; filename=\"burgernet-export.json\""))
        .json(export))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Erased {
    /// Whether the confirmation that you left reached you (SMS or verified e-mail). The account
    /// is erased either way.
    pub confirmation_sent: bool,
}

/// Erase your account.
///
/// Who may call: a participant, for their own account. Places, devices, live location, contact
/// details and sessions are deleted for real; what must stay for alerts already sent is kept
/// without anything that identifies you. A confirmation goes out first by SMS or verified e-mail.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "Erased.", body = Erased), ParticipantAccessProblems)
)]
#[delete("/v1/me")]
pub async fn erase(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Erased>, ApiError> {
    let mut conn = state.db().await?;
    let confirmation_sent = account::erase(&mut conn, participant.id(), &state.messaging).await?;
    Ok(web::Json(Erased { confirmation_sent }))
}

/// The link in the verification e-mail: confirms the address and shows a short page.
///
/// Who may call: anyone holding the link (it was sent only to the address it confirms).
#[utoipa::path(
    tag = "my account",
    params(("token" = String, Path, description = "The token from the e-mail.")),
    responses(
        (status = 200, description = "Confirmed; an HTML page says so.", body = String, content_type = "text/html"),
        (status = 404, description = "Unknown, used or expired link, or the address was changed since; an HTML page says so.", body = String, content_type = "text/html"),
    )
)]
#[get("/v1/email-verifications/{token}")]
pub async fn confirm_email(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let page = |status, title: &str, text: &str| {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(notice_page(title, &format!("<p>{}</p>", escape(text))))
    };
    let confirmed = if token.len() <= 128 { account::confirm_email(&mut conn, &token).await? } else { None };
    Ok(match confirmed {
        Some(Language::Dutch) => page(
            actix_web::http::StatusCode::OK,
            "E-mailadres bevestigd",
            "Je e-mailadres is bevestigd. Je kunt dit venster sluiten.",
        ),
        Some(Language::English) => page(
            actix_web::http::StatusCode::OK,
            "E-mail address confirmed",
            "Your e-mail address is confirmed. You can close this window.",
        ),
        None => page(
            actix_web::http::StatusCode::NOT_FOUND,
            "Link werkt niet / Link does not work",
            "Deze link is onbekend, al gebruikt of verlopen. Vraag in de app een nieuwe aan. / \
             This link is unknown, used or expired. Ask for a new one in the app.",
        ),
    })
}
