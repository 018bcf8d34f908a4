//! The places a participant wants alerts for (home, work, ...), and the weekly hours during which
//! each place counts. A position says where someone lives or works, so `Debug` never
//! prints coordinates or house numbers. Whether a position lies inside the service area needs the
//! municipality boundaries and is checked in the database, not here.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{InvalidInput, checked_text, text_enum};

pub const MAX_PLACES_PER_PARTICIPANT: usize = 5;
pub const MAX_TIME_WINDOWS_PER_PLACE: usize = 14;

const MAX_PLACE_NAME_CHARS: usize = 60;
const MINUTES_PER_DAY: u16 = 24 * 60;

text_enum!(
    /// What a place is to the participant.
    PlaceKind {
        Home => "home",
        Work => "work",
        Other => "other",
    }
);

checked_text!(
    /// The participant's own name for a place, like `Thuis` or `Sportclub`.
    #[derive(Debug)]
    #[serde(transparent)]
    #[schema(value_type = String, example = "Thuis")]
    PlaceName
);

impl PlaceName {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 || length > MAX_PLACE_NAME_CHARS {
            return Err(InvalidInput::new("invalid_place_name", "A place name has 1 to 60 characters."));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "invalid_place_name",
                "A place name cannot contain control characters such as line breaks or tabs.",
            ));
        }
        Ok(Self(name.to_string()))
    }
}

/// A WGS84 position in degrees.
#[derive(Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Position {
    #[schema(example = 51.9225)]
    latitude: f64,
    #[schema(example = 4.47917)]
    longitude: f64,
}

impl Position {
    pub fn parse(latitude: f64, longitude: f64) -> Result<Self, InvalidInput> {
        // Range checks on NaN are false, so NaN fails them; infinities are out of range.
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(InvalidInput::new(
                "invalid_coordinates",
                "Latitude must be a number of degrees from -90 to 90.",
            ));
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(InvalidInput::new(
                "invalid_coordinates",
                "Longitude must be a number of degrees from -180 to 180.",
            ));
        }
        Ok(Self { latitude, longitude })
    }

    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    pub fn longitude(&self) -> f64 {
        self.longitude
    }
}

impl fmt::Debug for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Position([redacted])")
    }
}

/// A Dutch postcode and house number, as typed by the participant and normalised.
// Read from a row's `postcode` and `house_number` columns (both set or both null), where only
// parsed addresses are stored.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema, diesel::QueryableByName)]
pub struct PostalAddress {
    /// Four digits and two capital letters, without a space.
    #[schema(example = "3011AD")]
    #[diesel(sql_type = diesel::sql_types::Text)]
    postcode: String,
    /// The number with an optional addition.
    #[schema(example = "12a")]
    #[diesel(sql_type = diesel::sql_types::Text)]
    house_number: String,
}

impl PostalAddress {
    pub fn parse(postcode: &str, house_number: &str) -> Result<Self, InvalidInput> {
        let Some(postcode) = normalise_postcode(postcode) else {
            return Err(InvalidInput::new(
                "invalid_postal_address",
                "A postcode has four digits and two letters, like 3011 AD.",
            ));
        };
        let house_number = house_number.trim();
        if !valid_house_number(house_number) {
            return Err(InvalidInput::new(
                "invalid_postal_address",
                "A house number has 1 to 5 digits, not starting with 0, optionally followed by an \
                 addition of up to 6 letters, digits, dashes or spaces, like 12, 12a or 12-3.",
            ));
        }
        Ok(Self { postcode, house_number: house_number.to_string() })
    }

    pub fn postcode(&self) -> &str {
        &self.postcode
    }

    pub fn house_number(&self) -> &str {
        &self.house_number
    }
}

impl fmt::Debug for PostalAddress {
    // A postcode covers a street or part of one; with the house number it points at one home.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostalAddress")
            .field("postcode", &self.postcode)
            .field("house_number", &format_args!("[redacted]"))
            .finish()
    }
}

/// `1234AB` for `1234 ab`, `1234AB` or `1234ab`; `None` when `raw` is not a Dutch postcode.
/// PostNL never issues the letter pairs SA, SD and SS, so those are rejected.
pub fn normalise_postcode(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (digits, letters) = (raw.get(..4)?, raw.get(4..)?);
    let letters = letters.strip_prefix(' ').unwrap_or(letters).to_ascii_uppercase();
    let valid = digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && letters.len() == 2
        && letters.bytes().all(|b| b.is_ascii_uppercase())
        && !matches!(letters.as_str(), "SA" | "SD" | "SS");
    valid.then(|| format!("{digits}{letters}"))
}

fn valid_house_number(house_number: &str) -> bool {
    let digit_count = house_number.bytes().take_while(u8::is_ascii_digit).count();
    let addition = &house_number[digit_count..];
    (1..=5).contains(&digit_count)
        && !house_number.starts_with('0')
        && addition.len() <= 6
        && addition.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
}

text_enum!(
    /// A day of the week, in ISO order from Monday.
    Weekday {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
);

impl Weekday {
    /// 1 for Monday up to 7 for Sunday, as PostgreSQL's `EXTRACT(ISODOW FROM ...)` and the
    /// `place_time_windows.days` column.
    pub fn iso_number(self) -> u8 {
        self as u8 + 1
    }

    pub fn from_iso_number(number: u8) -> Option<Self> {
        Self::ALL.get(usize::from(number).checked_sub(1)?).copied()
    }

    /// `mon` to `sun`, in any case.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|day| day.as_str().eq_ignore_ascii_case(name))
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        // chrono numbers Monday as 1 too.
        Self::ALL[day.number_from_monday() as usize - 1]
    }
}

/// One weekly time window as the app sends it. A window that crosses midnight is sent as two.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "until": "18:00"}))]
pub struct RawTimeWindow {
    /// The days the window applies to: `mon` to `sun`, at least one.
    #[schema(value_type = Vec<Weekday>)]
    pub days: Vec<String>,
    /// Start time, Europe/Amsterdam local time, `HH:MM` from `00:00` to `23:59`.
    #[schema(example = "08:00")]
    pub from: String,
    /// End time (exclusive), Europe/Amsterdam local time, `HH:MM` from `00:01` to `24:00`, after
    /// `from`. `24:00` is the end of the day.
    #[schema(example = "18:00")]
    pub until: String,
}

/// A weekly window in Europe/Amsterdam local time during which a place counts, like Monday to
/// Friday from 08:00 until 18:00. It serialises in the shape the app sends ([`RawTimeWindow`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct TimeWindow {
    /// The days the window applies to, from Monday, without duplicates, at least one.
    days: Vec<Weekday>,
    /// Start time, `HH:MM` (kept as minutes since midnight).
    #[serde(rename = "from", serialize_with = "serialize_minute")]
    #[schema(value_type = String, example = "08:00")]
    from_minute: u16,
    /// End time, exclusive, `HH:MM` up to `24:00` (kept as minutes since midnight, up to 1440).
    #[serde(rename = "until", serialize_with = "serialize_minute")]
    #[schema(value_type = String, example = "18:00")]
    until_minute: u16,
}

impl TimeWindow {
    /// Parses the app's form: day names and `HH:MM` times.
    pub fn parse(days: &[String], from: &str, until: &str) -> Result<Self, InvalidInput> {
        let days = days
            .iter()
            .map(|name| Weekday::parse(name))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid_window("Days are written mon, tue, wed, thu, fri, sat or sun."))?;
        let from_minute = parse_time(from)
            .filter(|minute| *minute < MINUTES_PER_DAY)
            .ok_or_else(|| invalid_window("The start time is written HH:MM, from 00:00 to 23:59."))?;
        let until_minute = parse_time(until)
            .filter(|minute| *minute > 0)
            .ok_or_else(|| invalid_window("The end time is written HH:MM, from 00:01 to 24:00."))?;
        Self::new(&days, from_minute, until_minute)
    }

    /// A window from already typed parts, such as a row read back from the database.
    pub fn new(days: &[Weekday], from_minute: u16, until_minute: u16) -> Result<Self, InvalidInput> {
        let mut days = days.to_vec();
        days.sort_unstable();
        days.dedup();
        if days.is_empty() {
            return Err(invalid_window("A time window applies to at least one day."));
        }
        if until_minute > MINUTES_PER_DAY {
            return Err(invalid_window("A time window ends at 24:00 at the latest."));
        }
        if from_minute >= until_minute {
            return Err(invalid_window(
                "A time window must end after it starts. For a window that crosses midnight, \
                 use two windows: one until 24:00 and one from 00:00 on the next day.",
            ));
        }
        Ok(Self { days, from_minute, until_minute })
    }

    pub fn days(&self) -> &[Weekday] {
        &self.days
    }

    pub fn from_minute(&self) -> u16 {
        self.from_minute
    }

    pub fn until_minute(&self) -> u16 {
        self.until_minute
    }

    /// Whether the window covers `minute_of_day` (0 = 00:00, Europe/Amsterdam local time) on
    /// `weekday`: the start minute counts, the end minute does not.
    pub fn contains(&self, weekday: Weekday, minute_of_day: u16) -> bool {
        self.days.contains(&weekday) && (self.from_minute..self.until_minute).contains(&minute_of_day)
    }
}

/// Parses a place's time windows, at most [`MAX_TIME_WINDOWS_PER_PLACE`]; none at all means the
/// place always counts. An error names the window by its position (counting from 1) so the app
/// can point at it.
pub fn parse_time_windows(raw: &[RawTimeWindow]) -> Result<Vec<TimeWindow>, InvalidInput> {
    if raw.len() > MAX_TIME_WINDOWS_PER_PLACE {
        return Err(InvalidInput::new(
            "too_many_time_windows",
            format!("A place has at most {MAX_TIME_WINDOWS_PER_PLACE} time windows."),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(index, window)| {
            TimeWindow::parse(&window.days, &window.from, &window.until).map_err(|error| {
                InvalidInput::new(error.code, format!("Time window {}: {}", index + 1, error.detail))
            })
        })
        .collect()
}

fn invalid_window(detail: &str) -> InvalidInput {
    InvalidInput::new("invalid_time_window", detail)
}

/// Minutes since midnight for `HH:MM` from `00:00` to `24:00`.
fn parse_time(raw: &str) -> Option<u16> {
    let (hours, minutes) = raw.split_once(':')?;
    let two_digits = |part: &str| {
        let digits = part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if digits { part.parse::<u16>().ok() } else { None }
    };
    let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
    let minute = hours * 60 + minutes;
    (minutes < 60 && minute <= MINUTES_PER_DAY).then_some(minute)
}

fn serialize_minute<S: Serializer>(minute: &u16, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{:02}:{:02}", minute / 60, minute % 60))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    fn window(days: &[&str], from: &str, until: &str) -> Result<TimeWindow, InvalidInput> {
        TimeWindow::parse(&strings(days), from, until)
    }

    #[test]
    fn place_kind_round_trips_through_serde_and_database() {
        for kind in PlaceKind::ALL {
            assert_eq!(PlaceKind::from_name(kind.as_str()), Some(*kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert_eq!(serde_json::from_value::<PlaceKind>(json!("work")).unwrap(), PlaceKind::Work);
        assert!(serde_json::from_value::<PlaceKind>(json!("Work")).is_err());
    }

    #[test]
    fn place_names_are_trimmed_and_limited() {
        assert_eq!(PlaceName::parse("  Thuis ").unwrap().as_str(), "Thuis");
        assert_eq!(PlaceName::parse("Oma's huis (Zoetermeer)").unwrap().as_str(), "Oma's huis (Zoetermeer)");
        // Characters, not bytes: 60 accented letters is fine.
        assert!(PlaceName::parse(&"é".repeat(60)).is_ok());
        for raw in ["", "   ", "Thuis\nWerk", "Werk\u{7}"] {
            assert_eq!(PlaceName::parse(raw).unwrap_err().code, "invalid_place_name", "{raw:?}");
        }
        assert_eq!(PlaceName::parse(&"a".repeat(61)).unwrap_err().code, "invalid_place_name");
        assert_eq!(serde_json::to_value(PlaceName::parse("Werk").unwrap()).unwrap(), json!("Werk"));
    }

    #[test]
    fn positions_must_be_finite_and_in_range() {
        let position = Position::parse(51.9225, 4.47917).unwrap();
        assert_eq!((position.latitude(), position.longitude()), (51.9225, 4.47917));
        assert!(Position::parse(-90.0, 180.0).is_ok());
        assert!(Position::parse(90.0, -180.0).is_ok());
        for (latitude, longitude) in [
            (90.000001, 4.0),
            (-91.0, 4.0),
            (52.0, 180.5),
            (52.0, -181.0),
            (f64::NAN, 4.0),
            (52.0, f64::NAN),
            (f64::INFINITY, 4.0),
            (52.0, f64::NEG_INFINITY),
        ] {
            let error = Position::parse(latitude, longitude).unwrap_err();
            assert_eq!(error.code, "invalid_coordinates");
            assert!(!error.detail.contains(&latitude.to_string()), "{}", error.detail);
        }
    }

    #[test]
    fn positions_serialise_but_never_debug_print() {
        let position = Position::parse(51.9225, 4.47917).unwrap();
        assert_eq!(
            serde_json::to_value(position).unwrap(),
            json!({"latitude": 51.9225, "longitude": 4.47917})
        );
        assert_eq!(format!("{position:?}"), "Position([redacted])");
        assert_eq!(format!("{:?}", Some(position)), "Some(Position([redacted]))");
    }

    #[test]
    fn postcodes_are_normalised() {
        assert_eq!(normalise_postcode("3011AD").as_deref(), Some("3011AD"));
        assert_eq!(normalise_postcode("3011 ad").as_deref(), Some("3011AD"));
        assert_eq!(normalise_postcode("  1000 aA ").as_deref(), Some("1000AA"));
        assert_eq!(normalise_postcode("9999ZZ").as_deref(), Some("9999ZZ"));
        for raw in [
            "",
            "3011",
            "3011A",
            "0123AB",
            "3011  AD",
            "3011-AD",
            "301 1AD",
            "3011ADX",
            "30111AD",
            "3011A1",
            "3011SA",
            "3011 sd",
            "3011ss",
            "３０１１AD",
            "3011ÄD",
        ] {
            assert_eq!(normalise_postcode(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn postal_addresses_accept_house_number_additions() {
        let address = PostalAddress::parse("3011 ad", " 12a ").unwrap();
        assert_eq!((address.postcode(), address.house_number()), ("3011AD", "12a"));
        for house_number in ["1", "99999", "12-3", "12 bis", "12 A", "12huis", "7-1234"] {
            let address = PostalAddress::parse("3011AD", house_number).unwrap();
            assert_eq!(address.house_number(), house_number);
        }
        for house_number in ["", "0", "012", "123456", "a12", "12/3", "12 abcdef", "12.3", "12_a", "-12"] {
            let error = PostalAddress::parse("3011AD", house_number).unwrap_err();
            assert_eq!(error.code, "invalid_postal_address", "{house_number:?}");
        }
        assert_eq!(PostalAddress::parse("3011SS", "12").unwrap_err().code, "invalid_postal_address");
    }

    #[test]
    fn postal_address_debug_hides_the_house_number() {
        let address = PostalAddress::parse("3011AD", "12a").unwrap();
        let debug = format!("{address:?}");
        assert_eq!(debug, "PostalAddress { postcode: \"3011AD\", house_number: [redacted] }");
        assert_eq!(
            serde_json::to_value(&address).unwrap(),
            json!({"postcode": "3011AD", "house_number": "12a"})
        );
    }

    #[test]
    fn weekdays_use_iso_numbers_and_short_names() {
        assert_eq!(Weekday::Mon.iso_number(), 1);
        assert_eq!(Weekday::Sun.iso_number(), 7);
        for number in 1..=7 {
            assert_eq!(Weekday::from_iso_number(number).unwrap().iso_number(), number);
        }
        assert_eq!(Weekday::from_iso_number(0), None);
        assert_eq!(Weekday::from_iso_number(8), None);
        assert_eq!(Weekday::from(chrono::Weekday::Mon), Weekday::Mon);
        assert_eq!(Weekday::from(chrono::Weekday::Sun), Weekday::Sun);
        assert_eq!(serde_json::to_value(Weekday::Wed).unwrap(), json!("wed"));
        assert_eq!(serde_json::from_value::<Weekday>(json!("sat")).unwrap(), Weekday::Sat);
    }

    #[test]
    fn time_windows_parse_and_normalise_days() {
        let parsed = window(&["FRI", "mon", "Wed", "mon"], "08:00", "18:30").unwrap();
        assert_eq!(parsed.days(), [Weekday::Mon, Weekday::Wed, Weekday::Fri]);
        assert_eq!((parsed.from_minute(), parsed.until_minute()), (480, 1110));

        let whole_day = window(&["sun"], "00:00", "24:00").unwrap();
        assert_eq!((whole_day.from_minute(), whole_day.until_minute()), (0, 1440));
        assert!(window(&["sat"], "23:59", "24:00").is_ok());
        assert!(window(&["sat"], "00:00", "00:01").is_ok());
    }

    #[test]
    fn time_windows_reject_bad_days_and_times() {
        let cases: &[(&[&str], &str, &str)] = &[
            (&[], "08:00", "18:00"),
            (&["monday"], "08:00", "18:00"),
            (&["ma"], "08:00", "18:00"),
            (&[" mon"], "08:00", "18:00"),
            (&["mon"], "8:00", "18:00"),
            (&["mon"], "08:00", "18:0"),
            (&["mon"], "08.00", "18:00"),
            (&["mon"], "08:60", "18:00"),
            (&["mon"], "24:00", "24:00"),
            (&["mon"], "08:00", "24:01"),
            (&["mon"], "08:00", "25:00"),
            (&["mon"], "00:00", "00:00"),
            (&["mon"], "+8:00", "18:00"),
            (&["mon"], "18:00", "18:00"),
        ];
        for (days, from, until) in cases {
            let error = window(days, from, until).unwrap_err();
            assert_eq!(error.code, "invalid_time_window", "{days:?} {from} {until}");
        }
    }

    #[test]
    fn windows_crossing_midnight_are_refused_with_advice() {
        let error = window(&["fri"], "22:00", "06:00").unwrap_err();
        assert_eq!(error.code, "invalid_time_window");
        assert!(error.detail.contains("two windows"), "{}", error.detail);
    }

    #[test]
    fn contains_includes_the_start_and_excludes_the_end() {
        let office = window(&["mon", "tue", "wed", "thu", "fri"], "08:00", "18:00").unwrap();
        assert!(office.contains(Weekday::Mon, 8 * 60));
        assert!(office.contains(Weekday::Fri, 18 * 60 - 1));
        assert!(!office.contains(Weekday::Fri, 18 * 60));
        assert!(!office.contains(Weekday::Wed, 8 * 60 - 1));
        assert!(!office.contains(Weekday::Sat, 12 * 60));

        let evening = window(&["sun"], "22:00", "24:00").unwrap();
        assert!(evening.contains(Weekday::Sun, 1439));
        assert!(!evening.contains(Weekday::Mon, 0));
    }

    #[test]
    fn time_windows_serialise_to_the_request_shape() {
        let raw: RawTimeWindow =
            serde_json::from_value(json!({"days": ["Fri", "mon"], "from": "08:05", "until": "24:00"}))
                .unwrap();
        let parsed = parse_time_windows(&[raw]).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!([{"days": ["mon", "fri"], "from": "08:05", "until": "24:00"}])
        );
    }

    #[test]
    fn raw_time_windows_reject_unknown_fields() {
        let result = serde_json::from_value::<RawTimeWindow>(
            json!({"days": ["mon"], "from": "08:00", "until": "18:00", "timezone": "UTC"}),
        );
        assert!(result.is_err());
    }

    #[test]
    fn parse_time_windows_limits_the_count_and_names_the_bad_window() {
        let raw =
            |from: &str| RawTimeWindow { days: strings(&["mon"]), from: from.into(), until: "18:00".into() };
        assert!(parse_time_windows(&[]).unwrap().is_empty());
        assert_eq!(parse_time_windows(&vec![raw("08:00"); 14]).unwrap().len(), 14);
        assert_eq!(parse_time_windows(&vec![raw("08:00"); 15]).unwrap_err().code, "too_many_time_windows");

        let error = parse_time_windows(&[raw("08:00"), raw("19:00")]).unwrap_err();
        assert_eq!(error.code, "invalid_time_window");
        assert!(error.detail.starts_with("Time window 2: "), "{}", error.detail);
    }

    #[test]
    fn time_window_new_checks_typed_parts() {
        let window = TimeWindow::new(&[Weekday::Sun, Weekday::Sat, Weekday::Sun], 0, 1440).unwrap();
        assert_eq!(window.days(), [Weekday::Sat, Weekday::Sun]);
        assert!(TimeWindow::new(&[], 0, 60).is_err());
        assert!(TimeWindow::new(&[Weekday::Mon], 0, 1441).is_err());
        assert!(TimeWindow::new(&[Weekday::Mon], 60, 60).is_err());
    }
}
