//! The participant's places and live location ("alerts where I am").

use actix_web::{HttpResponse, delete, get, post, put, web};
use burgernet_core::ids::PlaceId;
use burgernet_core::participants::account::{self, LiveLocation, Place, PlaceInput};
use burgernet_core::vocabulary::InvalidInput;
use burgernet_core::vocabulary::places::{
    PlaceKind, PlaceName, Position, PostalAddress, RawTimeWindow, parse_time_windows,
};
use serde::{Deserialize, Serialize};

use crate::auth::{Participant, ParticipantSessionCheckedInStatement};
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// Dutch postcode, e.g. `3011 AD`.
    pub postcode: String,
    /// House number with an optional addition, e.g. `12a`.
    pub house_number: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceBody {
    pub kind: PlaceKind,
    /// 1 to 60 characters, e.g. `Thuis`.
    pub name: String,
    /// WGS84 degrees.
    pub latitude: f64,
    /// WGS84 degrees.
    pub longitude: f64,
    /// The postcode and house number as the participant typed them; optional.
    #[serde(default)]
    pub address: Option<AddressBody>,
    /// When the place counts (Europe/Amsterdam time); none or empty means always. At most 14.
    #[serde(default)]
    pub time_windows: Vec<RawTimeWindow>,
}

impl PlaceBody {
    fn parse(self) -> Result<PlaceInput, InvalidInput> {
        Ok(PlaceInput {
            kind: self.kind,
            name: PlaceName::parse(&self.name)?,
            position: Position::parse(self.latitude, self.longitude)?,
            address: self
                .address
                .map(|address| PostalAddress::parse(&address.postcode, &address.house_number))
                .transpose()?,
            time_windows: parse_time_windows(&self.time_windows)?,
        })
    }
}

/// Your places.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "The places, oldest first.", body = [Place]), ParticipantAccessProblems)
)]
#[get("/v1/me/places")]
pub async fn list_places(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Vec<Place>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(account::places(&mut conn, participant.id()).await?))
}

/// Add a place (at most 5).
///
/// Who may call: a participant, for their own account. The place is assigned to the municipality
/// whose boundary contains it; a point outside every municipality Burgernet serves is refused.
/// The first place, or a home in another municipality, may need the municipality's approval:
/// the profile's status then becomes `pending`.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    request_body = PlaceBody,
    responses(
        (status = 201, description = "The place.", body = Place),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 409, description = "`too_many_places`: there are 5 already.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_place_name`, `invalid_coordinates`, `outside_service_area`, `invalid_postal_address`, `invalid_time_window` or `too_many_time_windows`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/places")]
pub async fn add_place(
    state: web::Data<AppState>,
    participant: Participant,
    body: JsonBody<PlaceBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().parse()?;
    let mut conn = state.db().await?;
    let place = account::save_place(&mut conn, participant.id(), None, input).await?;
    Ok(HttpResponse::Created().json(place))
}

/// Replace one of your places.
///
/// Who may call: a participant, for their own places.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    params(("place_id" = uuid::Uuid, Path, description = "The place.")),
    request_body = PlaceBody,
    responses(
        (status = 200, description = "The place.", body = Place),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "You have no such place.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "As for adding a place: `invalid_body`, `invalid_place_name`, `invalid_coordinates`, `outside_service_area`, `invalid_postal_address`, `invalid_time_window` or `too_many_time_windows`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/me/places/{place_id}")]
pub async fn replace_place(
    state: web::Data<AppState>,
    participant: Participant,
    place_id: web::Path<uuid::Uuid>,
    body: JsonBody<PlaceBody>,
) -> Result<web::Json<Place>, ApiError> {
    let input = body.into_inner().parse()?;
    let mut conn = state.db().await?;
    Ok(web::Json(account::save_place(&mut conn, participant.id(), Some(PlaceId(*place_id)), input).await?))
}

/// Remove one of your places.
///
/// Who may call: a participant, for their own places.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    params(("place_id" = uuid::Uuid, Path, description = "The place.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "You have no such place.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/places/{place_id}")]
pub async fn remove_place(
    state: web::Data<AppState>,
    participant: Participant,
    place_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    account::remove_place(&mut conn, participant.id(), PlaceId(*place_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionUpdate {
    /// WGS84 degrees.
    pub latitude: f64,
    /// WGS84 degrees.
    pub longitude: f64,
    /// The radius of the fix in metres, as the phone reports it (0 to 100000).
    pub accuracy_meters: f32,
}

impl PositionUpdate {
    fn parse(&self) -> Result<(Position, f32), InvalidInput> {
        let position = Position::parse(self.latitude, self.longitude)?;
        if !(0.0..=100_000.0).contains(&self.accuracy_meters) {
            return Err(InvalidInput::new("invalid_accuracy", "The accuracy is 0 to 100000 metres."));
        }
        Ok((position, self.accuracy_meters))
    }
}

/// Report your current position for "alerts where I am".
///
/// Who may call: a participant who switched "alerts where I am" on, in a session that has not
/// ended. Phones report often, so the session is checked by the same statement that stores the
/// position (one statement per report), not before it. Only this latest position is kept, never
/// a history; it is deleted when it expires (2 hours by default) or when the participant switches
/// the feature off. A position inside the area of an active alert that the participant has not
/// received yet, of a category they want, brings them that alert (and its updates so far) within
/// seconds.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    request_body = PositionUpdate,
    responses(
        (status = 200, description = "Stored, with when it expires.", body = LiveLocation),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 409, description = "`live_location_off`: switch alerts where I am on first.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_coordinates` or `invalid_accuracy`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/me/location")]
pub async fn update_location(
    state: web::Data<AppState>,
    caller: ParticipantSessionCheckedInStatement,
    body: JsonBody<PositionUpdate>,
) -> Result<web::Json<LiveLocation>, ApiError> {
    let (position, accuracy_meters) = match body.parse() {
        Ok(parsed) => parsed,
        Err(invalid) => {
            // An ended session hears so before anything about its body.
            caller.ensure_session_active(&state).await?;
            return Err(invalid.into());
        }
    };
    let mut conn = state.db().await?;
    let claims = caller.claims_for_session_check();
    let stored =
        account::update_live_location(&mut conn, claims, position, accuracy_meters, state.live_location_ttl)
            .await?;
    Ok(web::Json(stored))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentLocation {
    /// The stored position; none when there is none or it has expired.
    pub location: Option<LiveLocation>,
}

/// Your stored position, if any.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "The stored position.", body = CurrentLocation), ParticipantAccessProblems)
)]
#[get("/v1/me/location")]
pub async fn get_location(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<CurrentLocation>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(CurrentLocation { location: account::live_location(&mut conn, participant.id()).await? }))
}

/// Delete your stored position now.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 204, description = "Deleted (or there was none)."), ParticipantAccessProblems)
)]
#[delete("/v1/me/location")]
pub async fn forget_location(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    account::forget_live_location(&mut conn, participant.id()).await?;
    Ok(HttpResponse::NoContent().finish())
}
