//! The id of a real alert's public page (see [`super::public_page`]): 16 random bytes in
//! base64url, never the alert's own id, so pages cannot be found by counting or guessing. Only
//! real alerts get one, when they are sent; drafts, exercises and tests have none. Kept apart from
//! the page, so that sending an alert does not depend on how pages are made.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel_async::AsyncPgConnection;

use crate::db::alerts::AlertRow;
use crate::db::public_pages as queries;

/// The id of an alert's public page: 22 characters of base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicId(String);

impl PublicId {
    /// A new id from the thread's cryptographically secure generator.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()))
    }

    /// An id as it appears in an address; `None` when it cannot be one (nothing to look up).
    pub fn parse(raw: &str) -> Option<Self> {
        let shape =
            raw.len() == 22 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shape.then(|| Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The address of the public page with `public_id`, under the API's public address
/// (`BURGERNET_PUBLIC_URL`).
pub fn page_url(public_url: &str, public_id: &str) -> String {
    format!("{}/public/alerts/{public_id}", public_url.trim_end_matches('/'))
}

/// Gives a real alert that is being sent its public id; exercises and tests get none.
pub(super) async fn assign_public_id(
    conn: &mut AsyncPgConnection,
    alert: &mut AlertRow,
) -> diesel::QueryResult<()> {
    if alert.purpose.is_actual() {
        let public_id = PublicId::generate();
        queries::set_public_id(conn, alert.id, public_id.as_str()).await?;
        alert.public_id = Some(public_id.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_id_is_22_random_base64url_characters() {
        let id = PublicId::generate();
        assert_eq!(id.as_str().len(), 22);
        assert_eq!(PublicId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(id, PublicId::generate());
        for wrong in ["", "short", &"a".repeat(23), "aaaaaaaaaaaaaaaaaaaa/=", "aaaaaaaaaaaaaaaaaaaaa<"] {
            assert_eq!(PublicId::parse(wrong), None, "{wrong}");
        }
    }
}
