//! Partners: systems outside the control room that take our alerts as CAP 1.2 (road-side
//! displays, AMBER Alert, a regional broadcaster). Each has a key of its own, made by an
//! administrator for some regions and categories; with it, the partner reads an Atom feed of the
//! CAP messages (see `alerts::cap`) of the sent alerts in that scope, and each message on its own.
//! A partner sees nothing but what CAP says: no tips, no participants, no counts.
//!
//! Keys are `bnp_` and 32 random bytes in base64url: shown once, when made, and stored only as
//! their SHA-256 (a hash of 256 random bits needs no salt or slow hashing), so a request finds its
//! key by the hash alone. Their first characters (`bnp_ab12cd`) are kept to tell them apart. A
//! revoked key opens nothing from the next request on.
//!
//! Exercises and tests are left out of a key's feed unless it includes them: a road sign must not
//! show an exercise.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use crate::alerts::cap::{self, CapSender, Xml};
use crate::auth::staff::{StaffMember, StaffRole};
use crate::db::alerts::{self as alert_queries, AlertRow, AreaRow, MessageRow};
use crate::db::partner_keys::{self as queries, FeedMessageRow, FeedScope, NewPartnerKey, PartnerKeyRow};
use crate::db::reference_data as region_queries;
use crate::ids::{AlertId, AlertMessageId, PartnerKeyId};
use crate::markup::ATOM_NAMESPACE;
use crate::secret::SecretTokenHash;
use crate::vocabulary::regions::RegionCode;
use crate::vocabulary::{Category, InvalidInput, Language, distinct, form_text};

/// The header a partner sends its key in.
pub const KEY_HEADER: &str = "X-Partner-Key";

/// The media type of the feed.
pub const ATOM_MEDIA_TYPE: &str = "application/atom+xml";

/// The most entries one read of the feed has; `since` reads on from the newest one had.
pub const FEED_LIMIT: i64 = 100;

/// What every key starts with, so one found in a file or a log is recognised for what it is.
const KEY_START: &str = "bnp_";

/// How much of a key is kept to show: its start and six random characters (`bnp_ab12cd`).
const SHOWN_LENGTH: usize = KEY_START.len() + 6;

/// A partner's key: handed out once, never stored, never logged.
pub struct PartnerKeySecret(String);

impl PartnerKeySecret {
    /// A new key from the thread's cryptographically secure generator.
    fn generate() -> Self {
        Self(format!("{KEY_START}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())))
    }

    /// A key as a request presented it (any text: it is only hashed and looked up).
    pub fn presented(raw: &str) -> Self {
        Self(raw.to_string())
    }

    fn hash(&self) -> SecretTokenHash {
        SecretTokenHash::of(&self.0)
    }

    /// What is kept to show: `bnp_ab12cd`.
    fn shown_prefix(&self) -> &str {
        &self.0[..SHOWN_LENGTH]
    }

    fn reveal(self) -> String {
        self.0
    }
}

impl fmt::Debug for PartnerKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PartnerKeySecret([redacted])")
    }
}

/// A new key as an administrator asks for it, checked.
#[derive(Debug, Clone)]
pub struct PartnerKeyDraft {
    name: String,
    regions: Vec<RegionCode>,
    categories: Vec<Category>,
    include_exercises: bool,
}

impl PartnerKeyDraft {
    /// A name of 1 to 100 characters without control characters; at least one region code (whether
    /// each exists is checked when the key is made) and at least one category.
    pub fn parse(
        name: &str,
        regions: &[String],
        categories: &[String],
        include_exercises: bool,
    ) -> Result<Self, InvalidInput> {
        let name = form_text(name, 100, false).ok().flatten().ok_or_else(|| {
            InvalidInput::new(
                "invalid_partner_name",
                "A name has 1 to 100 characters and no control characters.",
            )
        })?;
        let invalid_regions = |detail: String| InvalidInput::new("invalid_regions", detail);
        if regions.is_empty() {
            return Err(invalid_regions("Name at least one region, by its code (like rotterdam).".into()));
        }
        let mut regions = regions
            .iter()
            .map(|code| RegionCode::parse(code).map_err(|error| invalid_regions(error.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        regions.sort();
        regions.dedup();
        let invalid_categories = || {
            InvalidInput::new(
                "invalid_categories",
                "Name at least one category of inform, engage, alarm and search.",
            )
        };
        let categories = categories
            .iter()
            .map(|name| Category::from_name(name).ok_or_else(invalid_categories))
            .collect::<Result<Vec<_>, _>>()?;
        if categories.is_empty() {
            return Err(invalid_categories());
        }
        Ok(Self { name, regions, categories: distinct(&categories), include_exercises })
    }
}

/// A key as administrators see it: never the key itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartnerKey {
    #[schema(value_type = uuid::Uuid)]
    pub id: PartnerKeyId,
    /// Whose key it is, like `Rijkswaterstaat matrixborden`.
    pub name: String,
    /// The key's first characters (`bnp_ab12cd`), to tell keys apart.
    pub key_prefix: String,
    /// The codes of the regions whose alerts it reads.
    pub regions: Vec<RegionCode>,
    /// The categories it reads.
    pub categories: Vec<Category>,
    /// Whether it reads exercises and tests too.
    pub include_exercises: bool,
    /// The `sub` of the administrator who made it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When it was revoked: it opens nothing since.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<PartnerKeyRow> for PartnerKey {
    fn from(row: PartnerKeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            key_prefix: row.key_prefix,
            regions: row.regions,
            categories: row.categories,
            include_exercises: row.include_exercises,
            created_by: row.created_by_subject,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A new key, with the key itself: the only time anyone sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedPartnerKey {
    /// The key (`bnp_...`), for the partner's `X-Partner-Key` header. Shown this once: only its
    /// hash is kept.
    pub key: String,
    #[serde(flatten)]
    pub partner_key: PartnerKey,
}

/// A partner whose key was accepted, with what the key lets it read.
#[derive(Debug, Clone)]
pub struct AuthenticatedPartner {
    pub key_id: PartnerKeyId,
    regions: Vec<RegionCode>,
    categories: Vec<Category>,
    include_exercises: bool,
}

impl AuthenticatedPartner {
    fn scope(&self) -> FeedScope<'_> {
        FeedScope {
            regions: &self.regions,
            categories: &self.categories,
            include_exercises: self.include_exercises,
        }
    }
}

/// Why a key could not be made, revoked or used. Each has a stable code ([`Self::code`]).
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("Only administrators may do this.")]
    AdminsOnly,
    #[error("There is no region {0}.")]
    UnknownRegion(String),
    #[error("There is no such partner key.")]
    KeyNotFound,
    /// No key, or one that is unknown or revoked: the same answer.
    #[error("This endpoint needs a valid partner key in the X-Partner-Key header.")]
    InvalidKey,
    /// No such message, or one outside the key's scope: the same answer.
    #[error("There is no such CAP message.")]
    MessageNotFound,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl PartnerError {
    /// The problem `code` it is reported with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AdminsOnly => "role_required",
            Self::UnknownRegion(_) => "unknown_region",
            Self::KeyNotFound => "partner_key_not_found",
            Self::InvalidKey => "invalid_partner_key",
            Self::MessageNotFound => "message_not_found",
            Self::Invalid(invalid) => invalid.code,
            Self::Database(_) => "internal_error",
        }
    }
}

fn ensure_admin(staff: &StaffMember) -> Result<(), PartnerError> {
    if staff.role == StaffRole::Admin { Ok(()) } else { Err(PartnerError::AdminsOnly) }
}

/// Makes a key for a partner; the answer is the only place the key itself appears. Who:
/// administrators.
pub async fn create(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    draft: PartnerKeyDraft,
) -> Result<IssuedPartnerKey, PartnerError> {
    ensure_admin(staff)?;
    let codes: Vec<&str> = draft.regions.iter().map(RegionCode::as_str).collect();
    let existing = region_queries::region_ids(conn, &codes).await?;
    if let Some(unknown) = draft.regions.iter().find(|code| !existing.iter().any(|(known, _)| known == *code))
    {
        return Err(PartnerError::UnknownRegion(unknown.as_str().to_string()));
    }
    let key = PartnerKeySecret::generate();
    let row = queries::insert(
        conn,
        &NewPartnerKey {
            id: PartnerKeyId::new(),
            name: &draft.name,
            key_hash: &key.hash().0,
            key_prefix: key.shown_prefix(),
            regions: &draft.regions,
            categories: &draft.categories,
            include_exercises: draft.include_exercises,
            created_by_subject: &staff.subject,
        },
    )
    .await?;
    Ok(IssuedPartnerKey { key: key.reveal(), partner_key: row.into() })
}

/// Every key, revoked ones too, oldest first. Who: administrators.
pub async fn list(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
) -> Result<Vec<PartnerKey>, PartnerError> {
    ensure_admin(staff)?;
    Ok(queries::list(conn).await?.into_iter().map(PartnerKey::from).collect())
}

/// Revokes a key: it opens nothing from the next request on. Revoking it again changes nothing.
/// Who: administrators.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: PartnerKeyId,
) -> Result<(), PartnerError> {
    ensure_admin(staff)?;
    if queries::revoke(conn, id).await? { Ok(()) } else { Err(PartnerError::KeyNotFound) }
}

/// The partner whose key `presented` is (none presented: [`PartnerError::InvalidKey`]), noting
/// that the key was used.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    presented: Option<&PartnerKeySecret>,
) -> Result<AuthenticatedPartner, PartnerError> {
    let presented = presented.ok_or(PartnerError::InvalidKey)?;
    let row = queries::find_in_use(conn, &presented.hash().0).await?.ok_or(PartnerError::InvalidKey)?;
    Ok(AuthenticatedPartner {
        key_id: row.id,
        regions: row.regions,
        categories: row.categories,
        include_exercises: row.include_exercises,
    })
}

/// Where the feed's links point and who signs its CAP messages.
#[derive(Debug, Clone, Copy)]
pub struct FeedSource<'a> {
    pub sender: &'a CapSender,
    /// The API's public address (`BURGERNET_PUBLIC_URL`).
    pub public_url: &'a str,
}

/// The partner's Atom 1.0 feed: the CAP messages of the sent alerts in its key's scope, newest
/// first, at most [`FEED_LIMIT`], only those sent after `since` when given. Each entry carries its
/// CAP message inline.
pub async fn feed(
    conn: &mut AsyncPgConnection,
    partner: &AuthenticatedPartner,
    since: Option<DateTime<Utc>>,
    source: FeedSource<'_>,
) -> Result<String, PartnerError> {
    let found = queries::feed_messages(conn, partner.scope(), since, None, FEED_LIMIT).await?;
    let documents = CapDocuments::load(conn, &found).await?;
    let public_url = source.public_url.trim_end_matches('/');
    let mut xml = Xml::default();
    xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.raw(&format!("<feed xmlns=\"{ATOM_NAMESPACE}\">\n"));
    // One feed per key: its scope is the key's.
    xml.element(1, "id", &format!("urn:uuid:{}", partner.key_id));
    xml.element(1, "title", "Burgernet: CAP 1.2");
    let updated = found.first().map_or_else(Utc::now, |newest| newest.sent_at);
    xml.element(1, "updated", &atom_time(updated));
    let self_link = format!("{public_url}/v1/cap/feed");
    xml.empty(1, "link", &[("rel", "self"), ("type", ATOM_MEDIA_TYPE), ("href", &self_link)]);
    xml.open(1, "author");
    xml.element(2, "name", "Burgernet");
    xml.close(1, "author");
    for entry in &found {
        let Some((alert, areas, messages, index)) = documents.find(entry) else { continue };
        let message = &messages[index];
        xml.open(1, "entry");
        xml.element(2, "id", &format!("urn:uuid:{}", message.id));
        xml.element(2, "title", &cap::headline(alert, message, Language::Dutch));
        xml.element(2, "updated", &atom_time(entry.sent_at));
        let link = format!("{public_url}/v1/cap/messages/{}", message.id);
        xml.empty(2, "link", &[("rel", "alternate"), ("type", cap::MEDIA_TYPE), ("href", &link)]);
        let content = cap::alert_element(source.sender, alert, areas, messages, index);
        xml.wrap(2, "content", &[("type", cap::MEDIA_TYPE)], content.trim_end());
        xml.close(1, "entry");
    }
    xml.raw("</feed>\n");
    Ok(xml.finish())
}

/// One CAP message, if its alert is in the key's scope; to the partner, any other does not exist.
pub async fn cap_message(
    conn: &mut AsyncPgConnection,
    partner: &AuthenticatedPartner,
    id: AlertMessageId,
    sender: &CapSender,
) -> Result<String, PartnerError> {
    let found = queries::feed_messages(conn, partner.scope(), None, Some(id), 1).await?;
    let documents = CapDocuments::load(conn, &found).await?;
    let (alert, areas, messages, index) =
        found.first().and_then(|entry| documents.find(entry)).ok_or(PartnerError::MessageNotFound)?;
    Ok(cap::message(sender, alert, areas, messages, index))
}

/// What the CAP messages of some alerts are made of: each alert with its drawn areas and its CAP
/// messages in order, read in three queries however many alerts there are.
struct CapDocuments(HashMap<AlertId, (AlertRow, Vec<AreaRow>, Vec<MessageRow>)>);

impl CapDocuments {
    async fn load(conn: &mut AsyncPgConnection, found: &[FeedMessageRow]) -> Result<Self, PartnerError> {
        let mut ids: Vec<AlertId> = found.iter().map(|entry| entry.alert_id).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Self(HashMap::new()));
        }
        let mut areas: HashMap<AlertId, Vec<AreaRow>> = HashMap::new();
        for (alert, area) in alert_queries::areas_of(conn, &ids).await? {
            areas.entry(alert).or_default().push(area);
        }
        let mut messages: HashMap<AlertId, Vec<MessageRow>> = HashMap::new();
        for message in alert_queries::messages_of(conn, &ids).await? {
            messages.entry(message.alert_id).or_default().push(message);
        }
        let documents = alert_queries::find_alerts(conn, &ids)
            .await?
            .into_iter()
            .map(|alert| {
                let areas = areas.remove(&alert.id).unwrap_or_default();
                let messages = cap::cap_messages(messages.remove(&alert.id).unwrap_or_default(), &areas);
                (alert.id, (alert, areas, messages))
            })
            .collect();
        Ok(Self(documents))
    }

    /// The alert, areas and messages of `entry`, and where its message is among them.
    fn find(&self, entry: &FeedMessageRow) -> Option<(&AlertRow, &[AreaRow], &[MessageRow], usize)> {
        let (alert, areas, messages) = self.0.get(&entry.alert_id)?;
        let index = messages.iter().position(|message| message.id == entry.message_id)?;
        Some((alert, areas, messages, index))
    }
}

/// RFC 3339 in UTC to the microsecond, as stored: a partner that passes an entry's `updated` as
/// `since` gets exactly what came after it.
fn atom_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_recognisable_random_and_never_printed() {
        let key = PartnerKeySecret::generate();
        assert!(key.0.starts_with("bnp_"));
        assert_eq!(key.0.len(), 4 + 43, "32 bytes in base64url without padding");
        assert_eq!(key.shown_prefix(), &key.0[..10]);
        assert!(!format!("{key:?}").contains(&key.0[4..]));
        assert_ne!(key.0, PartnerKeySecret::generate().0);
        assert_eq!(key.hash(), SecretTokenHash::of(&key.0));
    }

    #[test]
    fn a_draft_needs_a_name_regions_and_known_categories() {
        let strings = |values: &[&str]| values.iter().map(|value| value.to_string()).collect::<Vec<_>>();
        let draft = PartnerKeyDraft::parse(
            " Matrixborden ",
            &strings(&["rotterdam", "amsterdam", "rotterdam"]),
            &strings(&["search", "alarm", "search"]),
            false,
        )
        .unwrap();
        assert_eq!(draft.name, "Matrixborden");
        assert_eq!(
            draft.regions.iter().map(RegionCode::as_str).collect::<Vec<_>>(),
            ["amsterdam", "rotterdam"]
        );
        assert_eq!(draft.categories, [Category::Alarm, Category::Search]);
        let code = |name: &str, regions: &[&str], categories: &[&str]| {
            PartnerKeyDraft::parse(name, &strings(regions), &strings(categories), false).unwrap_err().code
        };
        assert_eq!(code("", &["rotterdam"], &["search"]), "invalid_partner_name");
        assert_eq!(code(&"x".repeat(101), &["rotterdam"], &["search"]), "invalid_partner_name");
        assert_eq!(code("A", &[], &["search"]), "invalid_regions");
        assert_eq!(code("A", &["Rotterdam!"], &["search"]), "invalid_regions");
        assert_eq!(code("A", &["rotterdam"], &[]), "invalid_categories");
        assert_eq!(code("A", &["rotterdam"], &["exercise"]), "invalid_categories");
    }

    #[test]
    fn feed_times_keep_the_microseconds() {
        let at = DateTime::parse_from_rfc3339("2026-12-13T08:00:01.123456Z").unwrap().with_timezone(&Utc);
        assert_eq!(atom_time(at), "2026-12-13T08:00:01.123456Z");
    }
}
