//! The signed links of held mail and the page's form tokens: HMAC-SHA256
//! with a secret of the installation, kept in `[hold] secret_file`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::io::Read;
use std::path::Path;

/// Signs and checks tokens with the installation's secret.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

/// Why a sender's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token maillint made (altered, or for another message).
    Forged,
    /// Past its time.
    Expired,
}

impl Signer {
    pub fn new(key: Vec<u8>) -> Signer {
        Signer { key }
    }

    /// The secret in `path`, created when missing: 32 random bytes,
    /// readable by its owner and group only (the milter and `maillint
    /// web` run as different users in one group).
    pub fn load_or_create(path: &Path) -> Result<Signer, String> {
        let shown = path.display();
        match std::fs::read(path) {
            Ok(key) if key.len() >= 32 => return Ok(Signer::new(key)),
            Ok(_) => return Err(format!("the secret {shown} is shorter than 32 bytes")),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot read the secret {shown}: {e}"));
            }
            Err(_) => {}
        }
        let key = random_bytes(32)?;
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(path);
        if let Err(e) = &file
            && e.kind() == std::io::ErrorKind::AlreadyExists
        {
            // Another process (the milter or the page) made it first.
            return Signer::load_or_create(path);
        }
        file.as_mut()
            .map_err(|e| e.to_string())
            .and_then(|f| f.write_all(&key).map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot create the secret {shown}: {e}"))?;
        Ok(Signer::new(key))
    }

    /// HMAC-SHA256 of `text`, in hex.
    pub fn mac(&self, text: &str) -> String {
        hex(&self.raw_mac(text))
    }

    fn raw_mac(&self, text: &str) -> Vec<u8> {
        // Any key length is accepted.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => return Vec::new(),
        };
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `mac` is `text`'s, compared in constant time.
    pub fn check(&self, text: &str, mac: &str) -> bool {
        self.check_same(&self.mac(text), mac)
    }

    /// Whether two form tokens are the same, compared in constant time.
    pub fn check_same(&self, expected: &str, given: &str) -> bool {
        expected.len() == given.len()
            && expected
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The sender's token for held message `id`, valid until `expires`
    /// (seconds since the epoch).
    pub fn sender_token(&self, id: i64, expires: u64) -> String {
        format!(
            "{id}.{expires}.{}",
            self.mac(&format!("sender:{id}:{expires}"))
        )
    }

    /// The held message a sender's token is for, if it is maillint's and
    /// still valid at `now`. That it works once is the store's part: the
    /// message is no longer held after it has.
    pub fn verify_sender_token(&self, token: &str, now: u64) -> Result<i64, TokenError> {
        let mut parts = token.splitn(3, '.');
        let (Some(id), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Forged);
        };
        let (Ok(id), Ok(expires)) = (id.parse::<i64>(), expires.parse::<u64>()) else {
            return Err(TokenError::Forged);
        };
        if !self.check(&format!("sender:{id}:{expires}"), mac) {
            return Err(TokenError::Forged);
        }
        if now >= expires {
            return Err(TokenError::Expired);
        }
        Ok(id)
    }
}

/// `n` bytes from the kernel's random source.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_work_for_their_message_until_they_expire() {
        let signer = Signer::new(vec![7; 32]);
        let token = signer.sender_token(42, 1000);
        assert_eq!(signer.verify_sender_token(&token, 999), Ok(42));
        assert_eq!(
            signer.verify_sender_token(&token, 1000),
            Err(TokenError::Expired)
        );
        // Another message's id, a later expiry, another secret: forged.
        let other = token.replacen("42.", "43.", 1);
        assert_eq!(
            signer.verify_sender_token(&other, 0),
            Err(TokenError::Forged)
        );
        let later = token.replacen(".1000.", ".2000.", 1);
        assert_eq!(
            signer.verify_sender_token(&later, 0),
            Err(TokenError::Forged)
        );
        let stranger = Signer::new(vec![8; 32]);
        assert_eq!(
            stranger.verify_sender_token(&token, 0),
            Err(TokenError::Forged)
        );
        for junk in ["", "1", "1.2", "x.y.z", "1.2.3.4"] {
            assert_eq!(signer.verify_sender_token(junk, 0), Err(TokenError::Forged));
        }
    }

    #[test]
    fn a_missing_secret_is_created_for_its_group_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let first = Signer::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        let again = Signer::load_or_create(&path).unwrap();
        assert_eq!(first.mac("x"), again.mac("x"));
        std::fs::write(&path, b"short").unwrap();
        assert!(Signer::load_or_create(&path).is_err());
    }
}
