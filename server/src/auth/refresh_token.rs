//! Opaque refresh tokens: 256 random bits, base64url. Only their SHA-256 is stored.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

pub struct RefreshToken {
    pub value: String,
    pub hash: String,
}

impl RefreshToken {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        let value = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash(&value);
        Self { value, hash }
    }
}

pub fn hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.value).expect("base64").len(), 32);
        assert_ne!(a.value, b.value);
        assert_eq!(a.hash, hash(&a.value));
        assert_ne!(a.hash, a.value);
    }
}
