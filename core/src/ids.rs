//! Identifier newtypes, so a participant id can never be passed where a region id belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        #[serde(transparent)]
        #[schema(value_type = uuid::Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(value).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A participant (deelnemer).
    ParticipantId
);
uuid_id!(
    /// A police region (eenheid).
    RegionId
);
uuid_id!(
    /// A signed-in session of a participant: one family of rotating refresh tokens.
    SessionId
);
uuid_id!(
    /// A participant's named place (home, work, other).
    PlaceId
);
uuid_id!(
    /// A participant's push device.
    DeviceId
);
uuid_id!(
    /// A message a municipality sends its own participants (Burgernetmail).
    MunicipalMessageId
);
uuid_id!(
    /// An alert (Burgernetactie).
    AlertId
);
uuid_id!(
    /// One message of an alert: the alert itself (per wave), an update or the closing message.
    AlertMessageId
);
uuid_id!(
    /// A participant's tip about an alert.
    TipId
);
uuid_id!(
    /// A photo or video attached to a tip.
    MediaId
);
uuid_id!(
    /// A region's target group: participants reached wherever they are when an alert names it.
    TargetGroupId
);
uuid_id!(
    /// A region's scenario: the template of an alert its control room sends again and again.
    ScenarioId
);
uuid_id!(
    /// A partner's key to the CAP feed (signage, AMBER Alert, a broadcaster).
    PartnerKeyId
);

/// The id of a row in `background_jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub i64);

impl From<i64> for JobId {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
