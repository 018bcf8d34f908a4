//! Police regions (eenheden) and municipalities (gemeenten) as the program speaks of them: their
//! codes, checked on the way in, and what is known of each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::checked_text;
use crate::ids::RegionId;

checked_text!(
    /// A CBS municipality code: `GM` followed by four digits, like `GM0599` (Rotterdam).
    #[derive(Debug, PartialOrd, Ord, Deserialize)]
    #[serde(try_from = "String", into = "String")]
    #[schema(value_type = String, example = "GM0599")]
    CbsCode
);

impl CbsCode {
    pub fn parse(code: &str) -> Result<Self, InvalidCode> {
        let digits = code.strip_prefix("GM").unwrap_or("");
        if digits.len() == 4 && digits.bytes().all(|byte| byte.is_ascii_digit()) {
            Ok(Self(code.to_string()))
        } else {
            Err(InvalidCode(format!(
                "{code:?} is not a CBS municipality code: expected GM followed by 4 digits, \
                 like GM0599"
            )))
        }
    }
}

checked_text!(
    /// A region's code: 2 to 63 lowercase letters, digits and hyphens, not starting with a hyphen,
    /// like `rotterdam` or `midden-nederland`.
    #[derive(Debug, PartialOrd, Ord, Deserialize)]
    #[serde(try_from = "String", into = "String")]
    #[schema(value_type = String, example = "rotterdam")]
    RegionCode
);

impl RegionCode {
    pub fn parse(code: &str) -> Result<Self, InvalidCode> {
        let allowed = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
        let valid = (2..=63).contains(&code.len())
            && code.bytes().next().is_some_and(allowed)
            && code.bytes().all(|byte| allowed(byte) || byte == b'-');
        if valid {
            Ok(Self(code.to_string()))
        } else {
            Err(InvalidCode(format!(
                "{code:?} is not a region code: use 2 to 63 lowercase letters, digits and \
                 hyphens, starting with a letter or digit, like rotterdam or midden-nederland"
            )))
        }
    }
}

macro_rules! string_code_conversions {
    ($name:ident) => {
        impl FromStr for $name {
            type Err = InvalidCode;
            fn from_str(code: &str) -> Result<Self, InvalidCode> {
                Self::parse(code)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidCode;
            fn try_from(code: String) -> Result<Self, InvalidCode> {
                Self::parse(&code)
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_code_conversions!(CbsCode);
string_code_conversions!(RegionCode);

/// A code that breaks its format rule; the message says what the rule is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCode(String);

/// A police region with totals over its municipalities.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Region {
    pub id: RegionId,
    pub code: RegionCode,
    pub name: String,
    pub municipality_count: i64,
    /// Sum of the inhabitants of its municipalities.
    pub inhabitants: i64,
}

/// A municipality without its boundary (too large for most uses): where it is, not its shape.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Municipality {
    pub cbs_code: CbsCode,
    pub name: String,
    pub inhabitants: i32,
    /// The region it belongs to, if any.
    pub region: Option<RegionCode>,
    pub bounding_box: BoundingBox,
    pub centroid: LonLat,
}

/// WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BoundingBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// One municipality from a GeoJSON file, checked against every rule that does not need the
/// database (geometry validity does: see [`load_municipalities`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MunicipalityImport {
    /// Position in the file's `features` array, counted from 0.
    pub index: usize,
    pub cbs_code: CbsCode,
    pub name: String,
    pub inhabitants: i32,
    /// The feature's `region` property, or the region given for the whole file.
    pub region: Option<RegionCode>,
    /// The geometry as GeoJSON: a Polygon or MultiPolygon in WGS84 lon/lat.
    pub boundary_geojson: String,
}
