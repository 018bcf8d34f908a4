//! Scenarios (inzetscenario's): per region, the alerts its control room sends again and again (a
//! robbery of a jeweller, a missing child, a stolen car), prepared in calm: the category, urgency
//! and channels, the circle's default radius, and the texts per language as templates whose
//! placeholders name fields of the description (`{person.clothing}`, `{vehicle.licence_plate}`;
//! the list is [`Placeholder`]).
//!
//! The region's managers keep its scenarios, administrators those of every region; the region's
//! dispatchers list them and create alerts from them: they fill in the description and give the
//! center, and the texts are rendered with the values in place. Every placeholder the texts use
//! must be filled in (`missing_placeholder`). The alert is then a draft like any other, made by
//! the same code with the same checks; its dossier's `created` entry names the scenario, and it is
//! sent as every draft is. Staff of another region learn nothing of a scenario: it does not exist
//! for them.
//!
//! Templates are checked when they are saved, so a dispatcher under pressure never meets a broken
//! one (`invalid_template`): only known placeholders and balanced braces; with every placeholder
//! empty, and with the longest values the placeholders plausibly hold, the texts are valid alert
//! texts; and the fixed text alone, with the longest call-back number, fits the SMS an alert may
//! become ([`MAX_SMS_SEGMENTS`]), so what the dispatcher fills in is not always cut off the SMS.
//! Longer values are shortened in the SMS as in any alert, keeping the call-back line.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use crate::alerts::area::AreaLimits;
use crate::alerts::audience;
use crate::alerts::content::{
    AlertText, AlertTexts, Description, MAX_CALL_BACK_NUMBER_CHARS, Sex, VehicleKind,
};
use crate::alerts::delivery::plan::ChannelOrders;
use crate::alerts::delivery::render::{self, MAX_SMS_SEGMENTS};
use crate::alerts::lifecycle::{self, AlertError, NewAlertRequest};
use crate::auth::staff::{OutOfScope, StaffMember, StaffRole};
use crate::db::reference_data as region_queries;
pub use crate::db::scenarios::ScenarioRef;
use crate::db::scenarios::{self as queries, ScenarioFields, ScenarioRow, is_name_taken};
use crate::ids::{AlertId, RegionId, ScenarioId, TargetGroupId};
use crate::vocabulary::alerts::{AlertPurpose, MessageKind};
use crate::vocabulary::area::{AreaShape, Coordinates, check_radius};
use crate::vocabulary::regions::RegionCode;
use crate::vocabulary::{Category, Channel, InvalidInput, Language, form_text};

/// What a plain text field of a description (clothing, colour, make, ...) plausibly holds, in
/// characters: room a template must leave for it.
const PLAUSIBLE_FIELD_CHARS: usize = 60;
/// What the free text of a description plausibly holds, in characters.
const PLAUSIBLE_FREE_TEXT_CHARS: usize = 300;

/// A field of the [`Description`] a template may hold, written `{person.clothing}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placeholder {
    PersonSex,
    PersonAgeMin,
    PersonAgeMax,
    PersonHeightCm,
    PersonBuild,
    PersonSkinColour,
    PersonHair,
    PersonClothing,
    PersonParticulars,
    VehicleKind,
    VehicleMake,
    VehicleModel,
    VehicleColour,
    VehicleLicencePlate,
    VehicleDirection,
    FreeText,
}

impl Placeholder {
    /// Every placeholder with its name: the path of its field in [`Description`].
    pub const ALL: [(Self, &'static str); 16] = [
        (Self::PersonSex, "person.sex"),
        (Self::PersonAgeMin, "person.age_min"),
        (Self::PersonAgeMax, "person.age_max"),
        (Self::PersonHeightCm, "person.height_cm"),
        (Self::PersonBuild, "person.build"),
        (Self::PersonSkinColour, "person.skin_colour"),
        (Self::PersonHair, "person.hair"),
        (Self::PersonClothing, "person.clothing"),
        (Self::PersonParticulars, "person.particulars"),
        (Self::VehicleKind, "vehicle.kind"),
        (Self::VehicleMake, "vehicle.make"),
        (Self::VehicleModel, "vehicle.model"),
        (Self::VehicleColour, "vehicle.colour"),
        (Self::VehicleLicencePlate, "vehicle.licence_plate"),
        (Self::VehicleDirection, "vehicle.direction"),
        (Self::FreeText, "free_text"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(placeholder, _)| *placeholder == self).map_or("", |(_, name)| name)
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, known)| *known == name).map(|(placeholder, _)| *placeholder)
    }

    /// The field's value in `description` as participants read it in `language`; none when the
    /// description leaves it out.
    fn value(self, description: &Description, language: Language) -> Option<String> {
        let person = description.person.as_ref();
        let vehicle = description.vehicle.as_ref();
        match self {
            Self::PersonSex => person?.sex.map(|sex| sex_word(sex, language).to_string()),
            Self::PersonAgeMin => person?.age_min.map(|age| age.to_string()),
            Self::PersonAgeMax => person?.age_max.map(|age| age.to_string()),
            Self::PersonHeightCm => person?.height_cm.map(|height| height.to_string()),
            Self::PersonBuild => person?.build.clone(),
            Self::PersonSkinColour => person?.skin_colour.clone(),
            Self::PersonHair => person?.hair.clone(),
            Self::PersonClothing => person?.clothing.clone(),
            Self::PersonParticulars => person?.particulars.clone(),
            Self::VehicleKind => vehicle?.kind.map(|kind| vehicle_word(kind, language).to_string()),
            Self::VehicleMake => vehicle?.make.clone(),
            Self::VehicleModel => vehicle?.model.clone(),
            Self::VehicleColour => vehicle?.colour.clone(),
            Self::VehicleLicencePlate => vehicle?.licence_plate.clone(),
            Self::VehicleDirection => vehicle?.direction.clone(),
            Self::FreeText => description.free_text.clone(),
        }
    }

    /// The longest value the field plausibly holds in `language`: what a template makes room for.
    fn longest_plausible(self, language: Language) -> String {
        match self {
            Self::PersonSex => longest(Sex::ALL.iter().map(|sex| sex_word(*sex, language))),
            Self::VehicleKind => longest(VehicleKind::ALL.iter().map(|kind| vehicle_word(*kind, language))),
            // Ages up to 120, heights up to 250 cm.
            Self::PersonAgeMin | Self::PersonAgeMax | Self::PersonHeightCm => "999".into(),
            // A Dutch plate: six letters and digits in three groups.
            Self::VehicleLicencePlate => "XX-999-X".into(),
            Self::FreeText => "x".repeat(PLAUSIBLE_FREE_TEXT_CHARS),
            Self::PersonBuild
            | Self::PersonSkinColour
            | Self::PersonHair
            | Self::PersonClothing
            | Self::PersonParticulars
            | Self::VehicleMake
            | Self::VehicleModel
            | Self::VehicleColour
            | Self::VehicleDirection => "x".repeat(PLAUSIBLE_FIELD_CHARS),
        }
    }
}

fn longest(words: impl Iterator<Item = &'static str>) -> String {
    words.max_by_key(|word| word.chars().count()).unwrap_or_default().to_string()
}

/// Every placeholder as written, for messages: `{person.sex}, {person.age_min}, ...`.
fn written_placeholders() -> String {
    Placeholder::ALL.iter().map(|(_, name)| format!("{{{name}}}")).collect::<Vec<_>>().join(", ")
}

/// How a text names the sex of a description.
fn sex_word(sex: Sex, language: Language) -> &'static str {
    match (sex, language) {
        (Sex::Male, _) => "man",
        (Sex::Female, Language::Dutch) => "vrouw",
        (Sex::Female, Language::English) => "woman",
        (Sex::Unknown, Language::Dutch) => "persoon",
        (Sex::Unknown, Language::English) => "person",
    }
}

/// How a text names the kind of vehicle of a description.
fn vehicle_word(kind: VehicleKind, language: Language) -> &'static str {
    match (kind, language) {
        (VehicleKind::Car, Language::Dutch) => "auto",
        (VehicleKind::Car, Language::English) => "car",
        (VehicleKind::Van, Language::Dutch) => "bestelbus",
        (VehicleKind::Van, Language::English) => "van",
        (VehicleKind::Truck, Language::Dutch) => "vrachtwagen",
        (VehicleKind::Truck, Language::English) => "truck",
        (VehicleKind::Motorcycle, Language::Dutch) => "motor",
        (VehicleKind::Motorcycle, Language::English) => "motorcycle",
        (VehicleKind::Scooter, _) => "scooter",
        (VehicleKind::Bicycle, Language::Dutch) => "fiets",
        (VehicleKind::Bicycle, Language::English) => "bicycle",
        (VehicleKind::Other, Language::Dutch) => "voertuig",
        (VehicleKind::Other, Language::English) => "vehicle",
    }
}

fn invalid_template(detail: String) -> InvalidInput {
    InvalidInput::new("invalid_template", detail)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Placeholder),
}

/// One text with placeholders, as written and in pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    written: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// `field` names the text in errors (`texts.nl.title`). Braces are for placeholders only.
    fn parse(field: &str, written: &str) -> Result<Self, InvalidInput> {
        let unbalanced = |brace: &str| {
            invalid_template(format!(
                "{field} has a {brace} without its pair; braces are for placeholders only, \
                 written like {{person.clothing}}."
            ))
        };
        let mut pieces = Vec::new();
        let mut rest = written;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(unbalanced("}"));
            }
            let inside = &rest[open + 1..];
            let close = inside.find(['{', '}']).filter(|&at| inside[at..].starts_with('}'));
            let Some(close) = close else { return Err(unbalanced("{")) };
            let name = &inside[..close];
            let placeholder = Placeholder::from_name(name).ok_or_else(|| {
                invalid_template(format!(
                    "{field} has the unknown placeholder {{{name}}}; the placeholders are {}.",
                    written_placeholders()
                ))
            })?;
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            pieces.push(Piece::Field(placeholder));
            rest = &inside[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Self { written: written.to_string(), pieces })
    }

    fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Field(placeholder) => Some(*placeholder),
            Piece::Text(_) => None,
        })
    }

    fn render(&self, value: &impl Fn(Placeholder) -> String) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Field(placeholder) => value(*placeholder),
            })
            .collect()
    }
}

/// One language's templates: an alert's title, message and instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LanguageTemplates {
    title: Template,
    message: Template,
    instruction: Option<Template>,
}

impl LanguageTemplates {
    fn parse(language: Language, written: &AlertText) -> Result<Self, InvalidInput> {
        let field = |name: &str| format!("texts.{}.{name}", language.as_str());
        Ok(Self {
            title: Template::parse(&field("title"), &written.title)?,
            message: Template::parse(&field("message"), &written.message)?,
            instruction: written
                .instruction
                .as_deref()
                .map(|instruction| Template::parse(&field("instruction"), instruction))
                .transpose()?,
        })
    }

    fn templates(&self) -> impl Iterator<Item = &Template> {
        [Some(&self.title), Some(&self.message), self.instruction.as_ref()].into_iter().flatten()
    }

    fn render(&self, value: impl Fn(Placeholder) -> String) -> AlertText {
        AlertText {
            title: self.title.render(&value),
            message: self.message.render(&value),
            instruction: self.instruction.as_ref().map(|instruction| instruction.render(&value)),
        }
    }

    fn written(&self) -> AlertText {
        AlertText {
            title: self.title.written.clone(),
            message: self.message.written.clone(),
            instruction: self.instruction.as_ref().map(|instruction| instruction.written.clone()),
        }
    }
}

/// A scenario's texts: an alert's texts (`nl` required, `en` optional) as templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTemplates {
    nl: LanguageTemplates,
    en: Option<LanguageTemplates>,
}

impl TextTemplates {
    /// Templates as a region manager wrote them, checked as the module's documentation says.
    pub fn parse(written: &AlertTexts) -> Result<Self, InvalidInput> {
        let templates = Self::read(written)?;
        templates.check_room()?;
        Ok(templates)
    }

    /// The templates in pieces; only their syntax checked.
    fn read(written: &AlertTexts) -> Result<Self, InvalidInput> {
        Ok(Self {
            nl: LanguageTemplates::parse(Language::Dutch, &written.nl)?,
            en: written.en.as_ref().map(|en| LanguageTemplates::parse(Language::English, en)).transpose()?,
        })
    }

    fn languages(&self) -> impl Iterator<Item = (Language, &LanguageTemplates)> {
        [Some((Language::Dutch, &self.nl)), self.en.as_ref().map(|en| (Language::English, en))]
            .into_iter()
            .flatten()
    }

    /// The placeholders the texts use, in any language: a dispatcher fills in every one.
    pub fn placeholders(&self) -> BTreeSet<Placeholder> {
        self.languages().flat_map(|(_, texts)| texts.templates().flat_map(Template::placeholders)).collect()
    }

    /// The texts with every placeholder replaced by `value` of it in the text's language.
    fn render(&self, value: impl Fn(Placeholder, Language) -> String) -> AlertTexts {
        AlertTexts {
            nl: self.nl.render(|placeholder| value(placeholder, Language::Dutch)),
            en: self.en.as_ref().map(|en| en.render(|placeholder| value(placeholder, Language::English))),
        }
    }

    /// The texts as written, placeholders and all.
    pub fn written(&self) -> AlertTexts {
        AlertTexts { nl: self.nl.written(), en: self.en.as_ref().map(LanguageTemplates::written) }
    }

    /// The alert's texts with the values of `description` (parsed) in place. Every placeholder the
    /// texts use needs a value: `missing_placeholder` names those without one.
    pub fn fill(&self, description: &Description) -> Result<AlertTexts, InvalidInput> {
        let missing: Vec<&str> = self
            .placeholders()
            .into_iter()
            .filter(|placeholder| placeholder.value(description, Language::Dutch).is_none())
            .map(Placeholder::name)
            .collect();
        if !missing.is_empty() {
            return Err(InvalidInput::new(
                "missing_placeholder",
                format!(
                    "The scenario's texts need the description's {}; fill in every field they use.",
                    missing.join(", ")
                ),
            ));
        }
        Ok(self.render(|placeholder, language| placeholder.value(description, language).unwrap_or_default()))
    }

    /// Refuses templates that would make invalid alert texts with their placeholders empty or at
    /// their longest plausible values, or whose fixed text alone already overflows the SMS.
    fn check_room(&self) -> Result<(), InvalidInput> {
        let empty = AlertTexts::parse(self.render(|_, _| String::new()))
            .map_err(|error| invalid_template(format!("With every placeholder empty: {}", error.detail)))?;
        AlertTexts::parse(self.render(Placeholder::longest_plausible)).map_err(|error| {
            invalid_template(format!(
                "With the longest values its placeholders plausibly hold ({PLAUSIBLE_FIELD_CHARS} \
                 characters for a text field, {PLAUSIBLE_FREE_TEXT_CHARS} for the free text): {}",
                error.detail
            ))
        })?;
        let longest_call_back_number = "0".repeat(MAX_CALL_BACK_NUMBER_CHARS);
        for (language, _) in self.languages() {
            let segments = render::render(
                MessageKind::Alert,
                AlertPurpose::Actual,
                &empty,
                None,
                Some(&longest_call_back_number),
                language,
            )
            .sms_segments_unshortened;
            if segments > MAX_SMS_SEGMENTS {
                return Err(invalid_template(format!(
                    "texts.{}: without its placeholders the text already needs {segments} SMS segments \
                     with the call-back line; an alert's SMS has at most {MAX_SMS_SEGMENTS}, so what \
                     the dispatcher fills in would be cut off. Shorten the message or the instruction.",
                    language.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// A new scenario, or one that replaces a scenario, as a region manager writes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRequest {
    /// 1 to 100 characters, unique among the region's scenarios that are not archived.
    pub name: String,
    pub category: Category,
    /// As an alert's: time-critical.
    pub urgent: bool,
    /// As an alert's, with the same rules for the category and urgency.
    pub channels: Vec<Channel>,
    /// The circle's radius when the dispatcher gives none: 100 m to 50 km.
    pub radius_meters: f64,
    /// The alert's texts (`nl` required, `en` optional; title, message and instruction) as
    /// templates: `{person.clothing}`, `{vehicle.licence_plate}`, ... stand for the fields of the
    /// description the dispatcher fills in (see the scenario's `placeholders`). Braces are for
    /// placeholders only. With every placeholder empty, and with the longest values they plausibly
    /// hold, they must make valid alert texts; without the placeholders they must fit an alert's
    /// SMS (three segments with the call-back line).
    pub texts: AlertTexts,
}

/// A checked [`ScenarioRequest`].
#[derive(Debug, Clone)]
pub struct ScenarioDraft {
    name: String,
    category: Category,
    urgent: bool,
    channels: Vec<Channel>,
    radius_meters: f64,
    texts: TextTemplates,
}

impl ScenarioRequest {
    /// Checks the scenario as an alert of it would be checked; `orders` says where each category
    /// puts SMS and calls.
    pub fn parse(self, orders: &ChannelOrders) -> Result<ScenarioDraft, InvalidInput> {
        let name = form_text(&self.name, 100, false).ok().flatten().ok_or_else(|| {
            InvalidInput::new(
                "invalid_scenario_name",
                "A name has 1 to 100 characters and no control characters.",
            )
        })?;
        check_radius(self.radius_meters)?;
        Ok(ScenarioDraft {
            name,
            category: self.category,
            urgent: self.urgent,
            channels: orders.alert_channels(self.category, self.urgent, &self.channels)?,
            radius_meters: self.radius_meters,
            texts: TextTemplates::parse(&self.texts)?,
        })
    }
}

/// A scenario as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Scenario {
    #[schema(value_type = uuid::Uuid)]
    pub id: ScenarioId,
    /// The code of the region it belongs to.
    pub region: RegionCode,
    pub name: String,
    pub category: Category,
    pub urgent: bool,
    /// In the category's order, as an alert keeps them.
    pub channels: Vec<Channel>,
    /// The circle's radius when the dispatcher gives none.
    pub radius_meters: f64,
    /// The templates, as written.
    pub texts: AlertTexts,
    /// The fields of the description the texts use (`person.clothing`, ...): an alert from the
    /// scenario needs every one.
    pub placeholders: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An alert from a scenario, as the dispatcher completes it; the rest comes from the scenario.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioAlertRequest {
    /// The description; every field the scenario's texts use (its `placeholders`) is required.
    #[serde(default)]
    pub description: Description,
    /// The center of the alert's circle: where it happened.
    pub center: Coordinates,
    /// The circle's radius, 100 m to 50 km; left out: the scenario's.
    pub radius_meters: Option<f64>,
    /// As an alert's: the number participants call with what they saw.
    pub call_back_number: Option<String>,
    /// As an alert's: `actual` unless `exercise` or `test`.
    #[serde(default)]
    pub purpose: AlertPurpose,
    /// As an alert's: target groups of your region whose approved members are alerted too.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub target_groups: Vec<TargetGroupId>,
    /// As an alert's: false alerts the target groups only. Default true.
    #[serde(default = "audience::reaches_area")]
    pub reach_area: bool,
    /// As an alert's: the control room's reference for the incident.
    #[serde(default)]
    pub incident_reference: Option<String>,
}

/// Why a scenario could not be shown, kept or used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No such scenario, or one of another region than the staff member's: the same answer.
    #[error("There is no such scenario.")]
    NotFound,
    #[error("There is no region {0}.")]
    NoSuchRegion(String),
    /// The staff member's role may not do this anywhere; names who may.
    #[error("Only {0} may do this.")]
    RoleRequired(&'static str),
    #[error(transparent)]
    OutOfScope(#[from] OutOfScope),
    #[error("Another scenario of the region has this name.")]
    NameTaken,
    #[error("The scenario is archived: it changes no more and makes no alerts.")]
    Archived,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Creating the alert failed as creating any alert may.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// What was stored does not read back (a scenario is only stored once checked).
    #[error("The stored texts of scenario {0} do not read: {1}")]
    Unreadable(ScenarioId, String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Who keeps scenarios.
const KEEPERS: &str = "region managers and administrators";

/// Region managers and administrators keep scenarios; no other role does, in any region.
fn ensure_keeper(staff: &StaffMember) -> Result<(), ScenarioError> {
    match staff.role {
        StaffRole::RegionManager { .. } | StaffRole::Admin => Ok(()),
        _ => Err(ScenarioError::RoleRequired(KEEPERS)),
    }
}

async fn region_id(conn: &mut AsyncPgConnection, region: &RegionCode) -> Result<RegionId, ScenarioError> {
    let found = region_queries::find_region(conn, region).await?;
    found.map(|region| region.id).ok_or_else(|| ScenarioError::NoSuchRegion(region.as_str().to_string()))
}

/// A stored scenario with its templates read back.
fn loaded(row: ScenarioRow) -> Result<(ScenarioRow, TextTemplates), ScenarioError> {
    let unreadable = |detail: String| ScenarioError::Unreadable(row.id, detail);
    let written: AlertTexts =
        serde_json::from_value(row.texts.clone()).map_err(|error| unreadable(error.to_string()))?;
    let templates = TextTemplates::read(&written).map_err(|error| unreadable(error.detail))?;
    Ok((row, templates))
}

fn shown(row: ScenarioRow) -> Result<Scenario, ScenarioError> {
    let (row, templates) = loaded(row)?;
    Ok(Scenario {
        id: row.id,
        region: row.region_code,
        name: row.name,
        category: row.category,
        urgent: row.urgent,
        channels: row.channels,
        radius_meters: row.radius_meters,
        texts: templates.written(),
        placeholders: templates.placeholders().into_iter().map(|p| p.name().to_string()).collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The scenario for a staff member who keeps it: a manager of its region, or an administrator.
/// To managers of another region it does not exist.
async fn kept_scenario(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: ScenarioId,
) -> Result<ScenarioRow, ScenarioError> {
    ensure_keeper(staff)?;
    queries::find(conn, id)
        .await?
        .filter(|row| staff.may_access_region(row.region_code.as_str()))
        .ok_or(ScenarioError::NotFound)
}

/// The scenario after a write, as it now is.
async fn current(conn: &mut AsyncPgConnection, id: ScenarioId) -> Result<Scenario, ScenarioError> {
    shown(queries::find(conn, id).await?.ok_or(ScenarioError::NotFound)?)
}

fn name_taken(error: diesel::result::Error) -> ScenarioError {
    if is_name_taken(&error) { ScenarioError::NameTaken } else { error.into() }
}

/// Stores `texts` and the rest of `draft` as written.
fn fields<'a>(draft: &'a ScenarioDraft, texts: &'a serde_json::Value) -> ScenarioFields<'a> {
    ScenarioFields {
        name: &draft.name,
        category: draft.category,
        urgent: draft.urgent,
        channels: &draft.channels,
        radius_meters: draft.radius_meters,
        texts,
    }
}

fn written_json(draft: &ScenarioDraft) -> serde_json::Value {
    serde_json::to_value(draft.texts.written()).expect("texts serialize")
}

/// The region's scenarios that are not archived, by name. Who: its dispatchers and region
/// managers, and administrators.
pub async fn list(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    region: &RegionCode,
) -> Result<Vec<Scenario>, ScenarioError> {
    if matches!(staff.role, StaffRole::RelationsOfficer { .. }) {
        return Err(ScenarioError::RoleRequired("dispatchers, region managers and administrators"));
    }
    staff.ensure_region(region.as_str())?;
    let region = region_id(conn, region).await?;
    queries::list(conn, region).await?.into_iter().map(shown).collect()
}

/// Creates a scenario in the region. Who: its region managers, and administrators.
pub async fn create(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    region: &RegionCode,
    draft: ScenarioDraft,
) -> Result<Scenario, ScenarioError> {
    ensure_keeper(staff)?;
    staff.ensure_region(region.as_str())?;
    let region = region_id(conn, region).await?;
    let id = ScenarioId::new();
    let texts = written_json(&draft);
    queries::insert(conn, id, region, &fields(&draft, &texts), &staff.subject).await.map_err(name_taken)?;
    current(conn, id).await
}

/// Replaces everything a scenario says; alerts made from it stay as they are. Who: the region
/// managers of its region, and administrators.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: ScenarioId,
    draft: ScenarioDraft,
) -> Result<Scenario, ScenarioError> {
    kept_scenario(conn, staff, id).await?;
    let texts = written_json(&draft);
    if !queries::replace(conn, id, &fields(&draft, &texts)).await.map_err(name_taken)? {
        return Err(ScenarioError::Archived);
    }
    current(conn, id).await
}

/// Archives a scenario: it is listed no more and makes no alerts; archiving it again changes
/// nothing. Who: the region managers of its region, and administrators.
pub async fn archive(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: ScenarioId,
) -> Result<(), ScenarioError> {
    kept_scenario(conn, staff, id).await?;
    Ok(queries::archive(conn, id).await?)
}

/// Creates a draft alert from the scenario with what the dispatcher filled in, by the same path
/// as every draft ([`lifecycle::create`]); its dossier names the scenario. Who: the dispatchers of
/// the scenario's region; to others it does not exist.
pub async fn create_alert(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: ScenarioId,
    request: ScenarioAlertRequest,
    orders: &ChannelOrders,
    limits: AreaLimits,
) -> Result<AlertId, ScenarioError> {
    if !matches!(staff.role, StaffRole::Dispatcher { .. }) {
        return Err(ScenarioError::RoleRequired("dispatchers"));
    }
    let row = queries::find(conn, id)
        .await?
        .filter(|row| staff.ensure_dispatcher_of(row.region_code.as_str()).is_ok())
        .ok_or(ScenarioError::NotFound)?;
    if row.archived_at.is_some() {
        return Err(ScenarioError::Archived);
    }
    let (row, templates) = loaded(row)?;
    let description = Description::parse(request.description)?;
    let texts = templates.fill(&description)?;
    let radius_meters = request.radius_meters.unwrap_or(row.radius_meters);
    let mut draft = NewAlertRequest {
        category: row.category,
        purpose: request.purpose,
        urgent: row.urgent,
        channels: row.channels,
        description,
        texts,
        call_back_number: request.call_back_number,
        area: AreaShape::Circle { center: request.center, radius_meters },
        target_groups: request.target_groups,
        reach_area: request.reach_area,
        incident_reference: request.incident_reference,
    }
    .parse(orders)?;
    draft.scenario = Some(ScenarioRef { id, name: row.name });
    Ok(lifecycle::create(conn, staff, draft, limits).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::content::{PersonDescription, VehicleDescription};
    use crate::providers::sms_text;

    fn text(title: &str, message: &str, instruction: Option<&str>) -> AlertText {
        AlertText { title: title.into(), message: message.into(), instruction: instruction.map(Into::into) }
    }

    fn dutch(title: &str, message: &str) -> AlertTexts {
        AlertTexts { nl: text(title, message, None), en: None }
    }

    fn jeweller() -> AlertTexts {
        AlertTexts {
            nl: text(
                "Overval juwelier",
                "Gezocht na een overval: man in {person.clothing}, gevlucht in een {vehicle.colour} \
                 {vehicle.kind} met kenteken {vehicle.licence_plate}.",
                Some("Benader hem niet; bel 112."),
            ),
            en: Some(text(
                "Jeweller robbed",
                "Wanted after a robbery: man in {person.clothing}, fled in a {vehicle.colour} \
                 {vehicle.kind}, plate {vehicle.licence_plate}.",
                None,
            )),
        }
    }

    fn description() -> Description {
        Description::parse(Description {
            person: Some(PersonDescription { clothing: Some("zwarte jas".into()), ..Default::default() }),
            vehicle: Some(VehicleDescription {
                kind: Some(VehicleKind::Car),
                colour: Some("grijze".into()),
                licence_plate: Some("xx-123-b".into()),
                ..Default::default()
            }),
            free_text: None,
        })
        .unwrap()
    }

    #[test]
    fn the_placeholders_are_exactly_the_fields_of_a_description() {
        let filled = Description {
            person: Some(PersonDescription {
                sex: Some(Sex::Female),
                age_min: Some(1),
                age_max: Some(2),
                height_cm: Some(150),
                build: Some("x".into()),
                skin_colour: Some("x".into()),
                hair: Some("x".into()),
                clothing: Some("x".into()),
                particulars: Some("x".into()),
            }),
            vehicle: Some(VehicleDescription {
                kind: Some(VehicleKind::Van),
                make: Some("x".into()),
                model: Some("x".into()),
                colour: Some("x".into()),
                licence_plate: Some("x".into()),
                direction: Some("x".into()),
            }),
            free_text: Some("x".into()),
        };
        let mut fields = BTreeSet::new();
        for (key, value) in serde_json::to_value(&filled).unwrap().as_object().unwrap() {
            match value.as_object() {
                Some(inner) => fields.extend(inner.keys().map(|field| format!("{key}.{field}"))),
                None => {
                    fields.insert(key.clone());
                }
            }
        }
        let names: BTreeSet<String> = Placeholder::ALL.iter().map(|(_, name)| name.to_string()).collect();
        assert_eq!(names, fields, "one placeholder per field of the description");
        for (placeholder, name) in Placeholder::ALL {
            assert_eq!(Placeholder::from_name(name), Some(placeholder));
            assert!(placeholder.value(&filled, Language::Dutch).is_some(), "{name} reads its field");
        }
    }

    #[test]
    fn templates_are_filled_in_with_the_description_in_each_language() {
        let templates = TextTemplates::parse(&jeweller()).unwrap();
        let names: Vec<&str> = templates.placeholders().into_iter().map(Placeholder::name).collect();
        assert_eq!(names, ["person.clothing", "vehicle.kind", "vehicle.colour", "vehicle.licence_plate"]);
        let texts = templates.fill(&description()).unwrap();
        assert_eq!(
            texts.nl.message,
            "Gezocht na een overval: man in zwarte jas, gevlucht in een grijze auto met kenteken XX-123-B."
        );
        assert_eq!(
            texts.en.unwrap().message,
            "Wanted after a robbery: man in zwarte jas, fled in a grijze car, plate XX-123-B."
        );
        assert_eq!(texts.nl.instruction.as_deref(), Some("Benader hem niet; bel 112."));
        assert_eq!(templates.written(), jeweller(), "kept as written");
    }

    #[test]
    fn every_placeholder_used_must_be_filled_in() {
        let templates = TextTemplates::parse(&jeweller()).unwrap();
        let mut without = description();
        without.vehicle.as_mut().unwrap().licence_plate = None;
        without.person = None;
        let error = templates.fill(&without).unwrap_err();
        assert_eq!(error.code, "missing_placeholder");
        assert!(error.detail.contains("person.clothing, vehicle.licence_plate"), "{}", error.detail);
        // A placeholder used in the English text only is just as required.
        let mut texts = dutch("Vermist", "Kind vermist.");
        texts.en = Some(text("Missing", "Child missing, wearing {person.clothing}.", None));
        let error = TextTemplates::parse(&texts).unwrap().fill(&Description::default()).unwrap_err();
        assert!(error.detail.contains("person.clothing"), "{}", error.detail);
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_refused_by_name() {
        for (message, named) in [
            ("Man met {person.shoe_size}.", "{person.shoe_size}"),
            ("Man met {vehicle.plate}.", "{vehicle.plate}"),
            ("Man met { person.clothing }.", "{ person.clothing }"),
            ("Man met {}.", "{}"),
        ] {
            let error = TextTemplates::parse(&dutch("Gezocht", message)).unwrap_err();
            assert_eq!(error.code, "invalid_template", "{message}");
            assert!(error.detail.contains(named), "{message}: {}", error.detail);
            assert!(error.detail.contains("texts.nl.message"), "{}", error.detail);
            assert!(
                error.detail.contains("{vehicle.licence_plate}"),
                "lists the placeholders: {}",
                error.detail
            );
        }
        for (title, brace) in [
            ("Gezocht {person.clothing", "{"),
            ("Gezocht person.clothing}", "}"),
            ("Gezocht {{person.clothing}}", "{"),
            ("Gezocht {person.{clothing}", "{"),
        ] {
            let error = TextTemplates::parse(&dutch(title, "Kijk uit.")).unwrap_err();
            assert_eq!(error.code, "invalid_template", "{title}");
            assert!(
                error.detail.contains(&format!("texts.nl.title has a {brace} without")),
                "{}",
                error.detail
            );
        }
    }

    #[test]
    fn a_template_must_make_valid_texts_empty_and_with_plausible_values() {
        // Empty, the title would be nothing.
        let error = TextTemplates::parse(&dutch("{vehicle.licence_plate}", "Kijk uit.")).unwrap_err();
        assert_eq!(error.code, "invalid_template");
        assert!(error.detail.starts_with("With every placeholder empty: texts.nl.title"), "{}", error.detail);
        // Two plausible descriptions make a title longer than 100 characters.
        let error =
            TextTemplates::parse(&dutch("Gezocht: {person.clothing}, {person.particulars}", "Kijk uit."))
                .unwrap_err();
        assert!(error.detail.starts_with("With the longest values"), "{}", error.detail);
        assert!(error.detail.contains("texts.nl.title"), "{}", error.detail);
        assert!(TextTemplates::parse(&dutch("Gezocht: {person.clothing}", "Kijk uit.")).is_ok());
    }

    #[test]
    fn the_fixed_text_alone_must_fit_the_sms_with_the_call_back_line() {
        // 3 segments are 459 GSM-7 characters; "Burgernet: ", the title and the call-back line
        // take about 60 of them.
        let fits = format!("{} {{free_text}}", "a".repeat(380));
        assert!(TextTemplates::parse(&dutch("Gezocht", &fits)).is_ok());
        let too_long = format!("{} {{free_text}}", "a".repeat(420));
        let error = TextTemplates::parse(&dutch("Gezocht", &too_long)).unwrap_err();
        assert_eq!(error.code, "invalid_template");
        assert!(error.detail.contains("already needs 4 SMS segments"), "{}", error.detail);

        // Filled in with a long free text, the alert's SMS is shortened to fit, as every alert's.
        let description = Description { free_text: Some("b".repeat(600)), ..Default::default() };
        let texts = TextTemplates::parse(&dutch("Gezocht", &fits)).unwrap().fill(&description).unwrap();
        let texts = AlertTexts::parse(texts).unwrap();
        let rendered = render::render(
            MessageKind::Alert,
            AlertPurpose::Actual,
            &texts,
            None,
            Some("0900-8844"),
            Language::Dutch,
        );
        assert!(sms_text::prepare(&rendered.sms).segments <= MAX_SMS_SEGMENTS);
        assert!(rendered.sms.ends_with("... Gezien? Bel 0900-8844."), "{}", rendered.sms);
    }

    #[test]
    fn enumerated_fields_read_in_the_texts_language() {
        let description = Description {
            person: Some(PersonDescription { sex: Some(Sex::Female), ..Default::default() }),
            vehicle: Some(VehicleDescription { kind: Some(VehicleKind::Bicycle), ..Default::default() }),
            free_text: None,
        };
        let texts = AlertTexts {
            nl: text("Gezocht", "Een {person.sex} op een {vehicle.kind}.", None),
            en: Some(text("Wanted", "A {person.sex} on a {vehicle.kind}.", None)),
        };
        let filled = TextTemplates::parse(&texts).unwrap().fill(&description).unwrap();
        assert_eq!(filled.nl.message, "Een vrouw op een fiets.");
        assert_eq!(filled.en.unwrap().message, "A woman on a bicycle.");
    }
}
