//! API tokens: read from a file only its owner can read, or from an environment variable;
//! never printed (`Debug` shows `Token(***)`), never put in an error message.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// An API token.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// The token, for an `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Reads the first line of `path`. Refused when the file can be read by anyone but its
    /// owner (any group or other permission bit): the message says which `chmod` fixes it.
    pub fn from_file(path: &Path) -> Result<Token, String> {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("token file {}: {e}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "token file {} has mode {mode:03o}: others can read it; run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("token file {}: {e}", path.display()))?;
        Self::clean(text.lines().next().unwrap_or(""))
            .ok_or_else(|| format!("token file {} is empty", path.display()))
    }

    /// Reads the environment variable `name`.
    pub fn from_env(name: &str) -> Result<Token, String> {
        let value = std::env::var(name)
            .map_err(|_| format!("environment variable {name} (the token) is not set"))?;
        Self::clean(&value).ok_or_else(|| format!("environment variable {name} is empty"))
    }

    fn clean(text: &str) -> Option<Token> {
        let t = text.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_others_can_read_is_refused_and_the_token_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t-value\nignored\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Token::from_file(&path).unwrap_err();
        assert!(e.contains("chmod 600") && !e.contains("s3cr3t"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let t = Token::from_file(&path).unwrap();
        assert_eq!(t.expose(), "s3cr3t-value");
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert!(Token::from_env("ATELIER_TEST_NO_SUCH_VARIABLE").is_err());
    }
}
