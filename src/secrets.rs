//! Fresh secrets for the generated `.env`: 256 bits from the operating system's random source,
//! base64url without padding, behind a prefix per kind so secret scanners can find a leaked one.

use base64::Engine;

/// Bytes of randomness in every generated secret.
pub const SECRET_BYTES: usize = 32;

/// A new secret such as `pss_3q2-…` (the prefix plus 43 characters).
pub fn generate(prefix: &str) -> Result<String, crate::error::Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| crate::error::Error::Internal(format!("the OS random source failed: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_long_and_different() {
        let a = generate("pss_").unwrap();
        let b = generate("pss_").unwrap();
        assert!(a.starts_with("pss_"));
        assert_eq!(a.len(), 4 + 43);
        assert_ne!(a, b);
        assert!(a[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
