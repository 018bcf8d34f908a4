//! Sealing (ChaCha20-Poly1305, authenticated): what the database holds but must not be able to
//! read without a key kept elsewhere or destroyed on purpose. One home for the cipher, used by the
//! stored answers of retried requests and by the personal text in alert dossiers.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// A 256-bit key. Not `Debug`, so it cannot end up in a log line.
pub struct SealingKey([u8; 32]);

impl SealingKey {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &self.0).expect("a 32-byte key"))
    }

    /// Seals `plain` under a fresh random nonce, written before the ciphertext, so one key may
    /// seal many texts. `context` (e.g. what the text is and whose) is authenticated, not stored:
    /// the text opens only in the same context, so a sealed text cannot be moved to another place.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&self.seal_under(nonce, context, plain));
        sealed
    }

    /// Opens what [`Self::seal`] sealed in the same `context`; `None` if anything differs.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        self.open_under(nonce.try_into().ok()?, context, ciphertext)
    }

    /// Seals under a fixed nonce: only for a key that seals one text ever (one derived for that
    /// text alone), where a nonce can never repeat under it.
    pub fn seal_single_use(&self, plain: &[u8]) -> Vec<u8> {
        self.seal_under([0; NONCE_LEN], b"", plain)
    }

    pub fn open_single_use(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_under([0; NONCE_LEN], b"", sealed)
    }

    fn seal_under(&self, nonce: [u8; NONCE_LEN], context: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut sealed = plain.to_vec();
        self.aead()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut sealed)
            .expect("a text far below ChaCha20-Poly1305's limit");
        sealed
    }

    fn open_under(&self, nonce: [u8; NONCE_LEN], context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let mut sealed = sealed.to_vec();
        let plain = self
            .aead()
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut sealed)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_only_with_its_key_and_in_its_context() {
        let key = SealingKey::generate();
        let sealed = key.seal(b"tip 1 text", "Rode jas, fiets".as_bytes());
        assert!(!String::from_utf8_lossy(&sealed).contains("Rode jas"));
        assert_eq!(key.open(b"tip 1 text", &sealed).as_deref(), Some("Rode jas, fiets".as_bytes()));
        assert_eq!(key.open(b"tip 2 text", &sealed), None, "another context");
        assert_eq!(SealingKey::generate().open(b"tip 1 text", &sealed), None, "another key");
        assert_eq!(key.open(b"tip 1 text", &sealed[..5]), None, "cut short");
    }

    #[test]
    fn the_same_text_sealed_twice_under_one_key_differs() {
        let key = SealingKey::generate();
        assert_ne!(key.seal(b"", b"same"), key.seal(b"", b"same"));
    }

    #[test]
    fn a_single_use_seal_opens_with_its_key() {
        let key = SealingKey::from_bytes([7; 32]);
        let sealed = key.seal_single_use(b"answer");
        assert_eq!(key.open_single_use(&sealed).as_deref(), Some(&b"answer"[..]));
        assert_eq!(SealingKey::from_bytes([8; 32]).open_single_use(&sealed), None);
    }
}
