//! A wrapper for values that must never reach a log line or an error message.

use std::fmt;

use sha2::{Digest, Sha256};

/// Holds a secret (a password, a signing key, a database URL with credentials).
/// `Debug` and `Display` print a placeholder; read the value with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Call sites are easy to grep for.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Writes a file only its owner may read (keys, passwords, local secrets).
pub fn write_secret_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // The mode above applies only to new files; tighten an existing one too.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    std::io::Write::write_all(&mut file, contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("postgres://app:hunter2@db/burgernet".to_string());
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "postgres://app:hunter2@db/burgernet");
    }
}

/// The SHA-256 of a random secret token (a refresh token, a sign-in session's), as stored: the
/// token itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTokenHash(pub [u8; 32]);

impl SecretTokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}
