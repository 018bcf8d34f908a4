//! The control room's side of alerts: preview the reach of an area, create a draft, send it,
//! watch it (counters and a live event stream), expand the area, post updates, close it with an
//! outcome, and export the dossier. Dispatchers act within their own region; administrators may
//! read every alert but act on none.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use burgernet_core::alerts::content::MessageTexts;
use burgernet_core::alerts::dossier::{self, DossierEntry, DossierVerification};
use burgernet_core::alerts::lifecycle::{self, NewAlertRequest};
use burgernet_core::alerts::progress::{self, Alert, AlertSummary};
use burgernet_core::alerts::reach::{self, Reach, ReachRequest};
use burgernet_core::alerts::{access, cap, cap_import};
use burgernet_core::auth::TokenError;
use burgernet_core::ids::{AlertId, AlertMessageId};
use burgernet_core::vocabulary::alerts::{AlertAnswer, AlertPurpose, AlertStatus, Outcome};
use burgernet_core::vocabulary::area::{AreaShape, DrawnArea};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::alert_events::{self, AlertStreamEvent};
use crate::auth::{AlertViewer, Dispatcher};
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only alerts with this status.
    pub status: Option<AlertStatus>,
    /// Only real alerts (`actual`), or only exercises (`exercise`) or tests (`test`).
    pub purpose: Option<AlertPurpose>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// Alerts, newest first.
///
/// Who may call: dispatchers and region managers (their own region's alerts) and administrators
/// (every region's).
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The alerts.", body = [AlertSummary]),
        (status = 400, description = "A malformed query.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
    )
)]
#[get("/v1/alerts")]
pub async fn list_alerts(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Vec<AlertSummary>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit is 1 to 200."));
    }
    let mut conn = state.db().await?;
    Ok(web::Json(progress::list(&mut conn, &viewer.0, query.status, query.purpose, limit).await?))
}

/// How many participants and devices an area reaches now, per channel, before anything is sent.
/// Counts under 5 are shown as `{"fewer_than": 5}` (none included), others as `{"count": n}`.
/// Every preview is recorded in the audit log (`GET /v1/reach-previews`).
///
/// Who may call: dispatchers, for an area within their region (give or take the margin across its
/// border). The area is checked as an alert's would be.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    request_body = ReachRequest,
    responses(
        (status = 200, description = "The reach.", body = Reach),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 422, description = "`invalid_area`, `invalid_radius`, `too_many_vertices`, `area_too_small`, `area_too_large`, `area_outside_service_area`, `area_outside_region`, `invalid_channels` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/reach-preview")]
pub async fn preview_reach(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    body: JsonBody<ReachRequest>,
) -> Result<web::Json<Reach>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(
        reach::preview(
            &mut conn,
            &dispatcher.member,
            body.into_inner(),
            state.alert_areas,
            &state.channel_orders,
        )
        .await?,
    ))
}

/// Create an alert as a draft: nothing is sent until it is sent.
///
/// Who may call: dispatchers; the alert belongs to their region and its area must lie within it,
/// give or take the margin across its border (`BURGERNET_ALERT_REGION_MARGIN`).
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    request_body = NewAlertRequest,
    responses(
        (status = 201, description = "The draft.", body = Alert),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 422, description = "A field or the area is not valid: `invalid_area`, `invalid_radius`, `too_many_vertices`, `area_too_small`, `area_too_large`, `area_outside_service_area`, `area_outside_region`, `invalid_channels`, `invalid_text`, `invalid_description`, `invalid_call_back_number`, `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts")]
pub async fn create_alert(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    body: JsonBody<NewAlertRequest>,
) -> Result<HttpResponse, ApiError> {
    let draft = body.into_inner().parse(&state.channel_orders)?;
    let mut conn = state.db().await?;
    let id = lifecycle::create(&mut conn, &dispatcher.member, draft, state.alert_areas).await?;
    Ok(HttpResponse::Created().json(progress::view(&mut conn, &dispatcher.member, id).await?))
}

/// One alert with its areas, messages and counters. The view is recorded in the dossier (once per
/// quarter of an hour per staff member).
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The alert.", body = Alert),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}")]
pub async fn get_alert(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<web::Json<Alert>, ApiError> {
    let alert = AlertId(*alert_id);
    let mut conn = state.db().await?;
    Ok(web::Json(progress::look_up(&mut conn, &viewer.0, alert).await?))
}

/// How many participants and devices the alert's current area reaches now, shown as the reach
/// preview shows them (under 5: `{"fewer_than": 5}`) and recorded in the same audit log. Whom a
/// sent alert reached is counted exactly in its counters and dossier.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The reach.", body = Reach),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/reach")]
pub async fn alert_reach(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<web::Json<Reach>, ApiError> {
    let alert = AlertId(*alert_id);
    let mut conn = state.db().await?;
    Ok(web::Json(reach::of_alert(&mut conn, &viewer.0, alert).await?))
}

/// Send a draft: it becomes active and goes out to everyone its area reaches, within seconds.
///
/// Who may call: dispatchers of the alert's region.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 202, description = "Sent: the fan-out is under way; follow it on the alert's counters or event stream.", body = Alert),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_already_sent` or `alert_closed`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/send")]
pub async fn send_alert(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    alert_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let alert = AlertId(*alert_id);
    let mut conn = state.db().await?;
    let sent = lifecycle::send(&mut conn, &dispatcher.member, alert, state.recruiting_window).await?;
    Ok(HttpResponse::Accepted().json(progress::view_of(&mut conn, sent).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Expansion {
    /// The area to add; the alert then covers both.
    pub area: AreaShape,
}

/// Expand the area of an active alert; only participants not reached yet are notified.
///
/// Who may call: dispatchers of the alert's region.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = Expansion,
    responses(
        (status = 202, description = "Expanded: the new recipients are being alerted.", body = Alert),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_sent` or `alert_closed`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The area is not valid (codes as for creating an alert), or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/expansions")]
pub async fn expand_area(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    alert_id: web::Path<Uuid>,
    body: JsonBody<Expansion>,
) -> Result<HttpResponse, ApiError> {
    let alert = AlertId(*alert_id);
    let area = DrawnArea::parse(body.into_inner().area)?;
    let mut conn = state.db().await?;
    lifecycle::expand(&mut conn, &dispatcher.member, alert, area, state.alert_areas).await?;
    Ok(HttpResponse::Accepted().json(progress::view(&mut conn, &dispatcher.member, alert).await?))
}

/// What expanding an active alert by an area would add: the reach (as `POST
/// /v1/alerts/reach-preview` shows it) of everyone the expanded area reaches now who is not a
/// recipient of the alert yet, whom the expansion would alert. Nothing is expanded. Recorded in
/// the audit log of reach previews (`GET /v1/reach-previews`) with the alert's id.
///
/// Who may call: dispatchers of the alert's region. The area is checked as for an expansion.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = Expansion,
    responses(
        (status = 200, description = "The reach the expansion would add.", body = Reach),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_sent` or `alert_closed`: only an active alert can be expanded.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The area is not valid (codes as for creating an alert), or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/expansion-preview")]
pub async fn preview_expansion(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    alert_id: web::Path<Uuid>,
    body: JsonBody<Expansion>,
) -> Result<web::Json<Reach>, ApiError> {
    let alert = AlertId(*alert_id);
    let area = DrawnArea::parse(body.into_inner().area)?;
    let mut conn = state.db().await?;
    Ok(web::Json(reach::of_expansion(&mut conn, &dispatcher.member, alert, area, state.alert_areas).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    pub texts: MessageTexts,
    /// Only to the recipients whose answer, when the update reaches their batch, is one of these
    /// (e.g. `["searching"]`); leave it out for everyone reached.
    pub to_answers: Option<Vec<AlertAnswer>>,
}

/// Send an update to everyone the alert reached, e.g. "last seen heading north", or only to those
/// who gave certain answers.
///
/// Who may call: dispatchers of the alert's region.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = Update,
    responses(
        (status = 202, description = "The update is on its way.", body = Alert),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_sent` or `alert_closed`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_text`, `invalid_answers` (an empty `to_answers`) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/updates")]
pub async fn post_update(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    alert_id: web::Path<Uuid>,
    body: JsonBody<Update>,
) -> Result<HttpResponse, ApiError> {
    let alert = AlertId(*alert_id);
    let update = body.into_inner();
    let texts = MessageTexts::parse(update.texts)?;
    let mut conn = state.db().await?;
    lifecycle::post_update(&mut conn, &dispatcher.member, alert, texts, update.to_answers).await?;
    Ok(HttpResponse::Accepted().json(progress::view(&mut conn, &dispatcher.member, alert).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    pub outcome: Outcome,
    /// The closing message to everyone reached, e.g. "The boy has been found. Thank you!"
    pub texts: MessageTexts,
}

/// Close an active alert with its outcome and a closing message to everyone reached, by the
/// channels that reached them. A closed alert accepts no updates or tips.
///
/// Who may call: dispatchers of the alert's region.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = Closing,
    responses(
        (status = 200, description = "Closed; the closing message is on its way.", body = Alert),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_sent` or `alert_closed`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_text` or `invalid_body` (e.g. an unknown outcome).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/close")]
pub async fn close_alert(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    alert_id: web::Path<Uuid>,
    body: JsonBody<Closing>,
) -> Result<web::Json<Alert>, ApiError> {
    let alert = AlertId(*alert_id);
    let Closing { outcome, texts } = body.into_inner();
    let texts = MessageTexts::parse(texts)?;
    let mut conn = state.db().await?;
    lifecycle::close(&mut conn, &dispatcher.member, alert, outcome, texts).await?;
    Ok(web::Json(progress::view(&mut conn, &dispatcher.member, alert).await?))
}

/// The alert dossier as exported.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DossierExport {
    #[schema(value_type = Uuid)]
    pub alert_id: AlertId,
    /// Every entry, oldest first; the export itself is the last.
    pub entries: Vec<DossierEntry>,
}

/// Export the alert dossier: every event of the alert, each entry carrying the hash of the one
/// before. The export is recorded in the dossier first.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The dossier.", body = DossierExport),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/dossier")]
pub async fn export_dossier(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<web::Json<DossierExport>, ApiError> {
    let alert = AlertId(*alert_id);
    let mut conn = state.db().await?;
    Ok(web::Json(DossierExport {
        alert_id: alert,
        entries: dossier::export_for(&mut conn, &viewer.0, alert).await?,
    }))
}

/// Check the alert dossier's chain: every entry numbered without gaps, carrying the hash of the
/// one before, its contents matching its own hash. Names the first entry that does not check
/// out, and the latest checkpoint that anchors the dossier outside the database. The check is not
/// recorded in the dossier and changes nothing.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators (as
/// for the export).
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "What the check found.", body = DossierVerification),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/dossier/verification")]
pub async fn verify_dossier(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<web::Json<DossierVerification>, ApiError> {
    let alert = AlertId(*alert_id);
    let mut conn = state.db().await?;
    Ok(web::Json(dossier::verification_for(&mut conn, &viewer.0, alert).await?))
}

/// A live stream of the alert's progress (Server-Sent Events): `counters` whenever they change
/// (at most once a second), a `dossier` event for every new dossier entry (its `id` is the entry's
/// number, so a reconnect with `Last-Event-ID` resumes after it), comments as keep-alives, and
/// `end` once the alert is closed and every message handed over.
///
/// The stream also ends when the token it was opened with expires (`token_expired`: reconnect
/// with a fresh token) and when the server stops (a comment says so: reconnect). A staff member
/// may have a few streams open at once.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(
        ("alert_id" = Uuid, Path, description = "The alert."),
        ("Last-Event-ID" = Option<i32>, Header, description = "Resume after this dossier entry."),
    ),
    responses(
        (status = 200, description = "The event stream: a sequence of events, each as the schema describes (`event`, `id`, and `data` as one line of JSON).", content_type = "text/event-stream", body = AlertStreamEvent),
        (status = 400, description = "The id is not a UUID, or Last-Event-ID is not a number.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_event_streams`: the caller has as many event streams open as one staff member may (`BURGERNET_EVENT_STREAMS_PER_STAFF`), or this server as many as it takes (`BURGERNET_EVENT_STREAMS_PER_PROCESS`); see Retry-After. A stream's place is freed when its client disconnects.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/events")]
pub async fn alert_event_stream(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let alert = AlertId(*alert_id);
    let resume_after = match request.headers().get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<i32>().ok())
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_last_event_id",
                        "Last-Event-ID must be a dossier entry number.",
                    )
                })?,
        ),
    };
    // Accepted within the allowance for clock skew, but a stream would end at once.
    if viewer.0.token_expires_at <= chrono::Utc::now() {
        return Err(TokenError::Expired.into());
    }
    let mut conn = state.db().await?;
    access::region_seen_by(&mut conn, &viewer.0, alert).await?;
    // Without Last-Event-ID the stream sends what happens from this request on: an entry recorded
    // before the poller's first look, but after the client got its answer, is not skipped.
    let resume_after = match resume_after {
        Some(seq) => seq,
        None => dossier::last_seq(&mut conn, alert).await?,
    };
    drop(conn);
    alert_events::stream(&state.event_streams, state.stopping.clone(), &viewer.0, alert, resume_after)
}

/// The alert's latest message as CAP 1.2 (OASIS Common Alerting Protocol): the alert, an
/// expansion, an update or the closing, with `references` to every earlier one. Recorded in the
/// dossier as an export (once per quarter of an hour per staff member).
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The CAP 1.2 message.", body = String, content_type = "application/cap+xml"),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_sent`: a draft has no CAP message yet.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/cap")]
pub async fn latest_cap(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let xml = cap::for_staff(&mut conn, &viewer.0, AlertId(*alert_id), None, &state.cap_sender).await?;
    Ok(HttpResponse::Ok().content_type(cap::MEDIA_TYPE).body(xml))
}

/// One message of the alert as CAP 1.2 (see `GET /v1/alerts/{alert_id}/cap`); its id is that of
/// the alert's `messages`. The waves of those who came into the area have none of their own.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(
        ("alert_id" = Uuid, Path, description = "The alert."),
        ("message_id" = Uuid, Path, description = "The message."),
    ),
    responses(
        (status = 200, description = "The CAP 1.2 message.", body = String, content_type = "application/cap+xml"),
        (status = 400, description = "An id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert, or no such message of it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_sent`: a draft has no CAP message yet.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/messages/{message_id}/cap")]
pub async fn message_cap(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (alert, message) = path.into_inner();
    let mut conn = state.db().await?;
    let message = Some(AlertMessageId(message));
    let xml = cap::for_staff(&mut conn, &viewer.0, AlertId(alert), message, &state.cap_sender).await?;
    Ok(HttpResponse::Ok().content_type(cap::MEDIA_TYPE).body(xml))
}

/// A draft alert from a CAP 1.2 `Alert` message, as the control room's incident system (GMS)
/// sends it: status, incident reference, the Dutch (and English) texts, the call-back number, the
/// category (ours when the message carries `burgernet:category`, else CAP's mapped), urgency and
/// the area (one circle, or polygons) become the draft, which a dispatcher checks and sends; it is
/// never sent by this call. Whatever cannot be mapped is refused with the element named.
///
/// Who may call: dispatchers; the area must lie within their region, as for `POST /v1/alerts`.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    request_body(content = String, content_type = "application/cap+xml", description = "A CAP 1.2 alert message (`application/cap+xml`, `application/xml` or `text/xml`)."),
    responses(
        (status = 201, description = "The draft.", body = Alert),
        (status = 413, description = "`payload_too_large`: the body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not XML.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 422, description = "`invalid_cap`: not CAP 1.2, or an element that cannot be mapped (the detail names it); or any code of `POST /v1/alerts` (`area_outside_region`, `invalid_text`, ...).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/cap")]
pub async fn create_alert_from_cap(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let content_type =
        request.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !matches!(media_type.as_str(), "application/cap+xml" | "application/xml" | "text/xml") {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the CAP message as application/cap+xml.",
        ));
    }
    let xml = std::str::from_utf8(&body)
        .map_err(|_| ApiError::unprocessable("invalid_cap", "alert: the message is not UTF-8"))?;
    let draft = cap_import::draft_request(xml, &state.channel_orders)?.parse(&state.channel_orders)?;
    let mut conn = state.db().await?;
    let id = lifecycle::create(&mut conn, &dispatcher.member, draft, state.alert_areas).await?;
    Ok(HttpResponse::Created().json(progress::view(&mut conn, &dispatcher.member, id).await?))
}
