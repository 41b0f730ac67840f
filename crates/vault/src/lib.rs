//! Encryption of personal data (invariant 7): one data key per person, wrapped by a master key.
//!
//! The master key never enters the database: it comes from `KOKUHO_MASTER_KEY` (64 hex digits)
//! or a key file. Data keys are random 256-bit keys, stored only wrapped (XChaCha20-Poly1305
//! under the master key, bound to tenant and person as associated data, so a wrapped key copied
//! to another row does not open). Personal parts of events are sealed with the person's data key
//! and bound to the event id, so ciphertext moved between events does not open either.
//!
//! Destroying a person's wrapped key (end of retention) makes every sealed part of theirs
//! unreadable, in the database and in every backup taken afterwards.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the master key must be 64 hexadecimal digits (32 bytes)")]
    MalformedMasterKey,
    #[error("cannot read the master key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("a sealed value failed authentication: wrong key, or the bytes were altered")]
    Unauthentic,
    #[error("a sealed value is too short to hold a nonce")]
    Truncated,
}

/// The key that wraps every data key. Not `Clone`, not `Debug`-printable.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// Derived from the master key; keys the blind index (see [`MasterKey::blind_index`]).
    index_key: Zeroizing<[u8; KEY_BYTES]>,
    /// A short, non-secret fingerprint so operators can tell which key a deployment uses.
    fingerprint: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint)
    }
}

impl MasterKey {
    pub fn from_hex(text: &str) -> Result<MasterKey, VaultError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| VaultError::MalformedMasterKey)?);
        if bytes.len() != KEY_BYTES {
            return Err(VaultError::MalformedMasterKey);
        }
        Ok(MasterKey::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> MasterKey {
        use sha2::Digest;
        let digest = sha2::Sha256::digest([b"kokuho master key fingerprint:".as_slice(), bytes].concat());
        let mut index_key = Zeroizing::new([0u8; KEY_BYTES]);
        index_key.copy_from_slice(&hmac_sha256(bytes, b"kokuho blind index key v1"));
        MasterKey {
            cipher: XChaCha20Poly1305::new_from_slice(bytes).expect("32-byte key"),
            index_key,
            fingerprint: hex::encode(&digest[..4]),
        }
    }

    /// Reads the key file at `path`; when it does not exist, creates it with a fresh random key
    /// (permissions 0600) and says so, because a generated key is only fit for development.
    pub fn load_or_generate(path: &Path) -> Result<(MasterKey, bool), VaultError> {
        let io_error = |source| VaultError::KeyFile { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((MasterKey::from_hex(&text)?, false)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
                OsRng.fill_bytes(bytes.as_mut());
                write_private(path, hex::encode(bytes.as_ref()).as_bytes()).map_err(io_error)?;
                Ok((MasterKey::from_bytes(bytes.as_ref()), true))
            }
            Err(error) => Err(io_error(error)),
        }
    }

    /// A random key held only in memory (tests, benchmarks).
    pub fn ephemeral() -> MasterKey {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        OsRng.fill_bytes(bytes.as_mut());
        MasterKey::from_bytes(bytes.as_ref())
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Wraps a data key for storage; `context` names its owner (tenant and person).
    pub fn wrap(&self, key: &DataKey, context: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher, key.bytes.as_ref(), context)
    }

    /// A keyed blind index token of a personal value, for searching without storing the value:
    /// HMAC-SHA256 under a key derived from the master key, over the tenant, the kind of value
    /// and the value normalised (NFKC, white space removed), so "熊谷　花子" and "熊谷 花子" meet.
    /// Without the master key a token reveals nothing and cannot be tested against guesses.
    pub fn blind_index(&self, tenant: &str, kind: &str, value: &str) -> [u8; 32] {
        use unicode_normalization::UnicodeNormalization;
        let normalised: String = value.nfkc().filter(|c| !c.is_whitespace()).collect();
        let message = [tenant.as_bytes(), b"\0", kind.as_bytes(), b"\0", normalised.as_bytes()].concat();
        hmac_sha256(self.index_key.as_ref(), &message)
    }

    /// A keyed hash of a value that must be recognised again but never kept (a login typed at a
    /// failed sign-in, a client's address): HMAC-SHA256 of `value` as it is, under a key derived
    /// for `tenant` and `purpose` from the blind-index key (itself derived from the master key).
    /// The same value gives the same hash in one tenant and purpose, another in any other; without
    /// the master key a hash cannot be tested against guesses.
    pub fn tenant_hmac(&self, tenant: &str, purpose: &str, value: &[u8]) -> [u8; 32] {
        let derivation =
            [b"kokuho tenant hmac key v1\0".as_slice(), tenant.as_bytes(), b"\0", purpose.as_bytes()].concat();
        let tenant_key = Zeroizing::new(hmac_sha256(self.index_key.as_ref(), &derivation));
        hmac_sha256(tenant_key.as_ref(), value)
    }

    /// Seals a small secret that belongs to no person (a staff member's TOTP secret) directly
    /// under the master key; `context` names its owner.
    pub fn seal_secret(&self, secret: &[u8], context: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher, secret, context)
    }

    pub fn open_secret(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open_with(&self.cipher, sealed, context).map(Zeroizing::new)
    }

    pub fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<DataKey, VaultError> {
        let bytes = Zeroizing::new(open_with(&self.cipher, wrapped, context)?);
        if bytes.len() != KEY_BYTES {
            return Err(VaultError::Unauthentic);
        }
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        key.copy_from_slice(&bytes);
        Ok(DataKey { bytes: key })
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// One person's data key. Zeroed when dropped.
#[derive(Clone)]
pub struct DataKey {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    pub fn generate() -> DataKey {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        OsRng.fill_bytes(bytes.as_mut());
        DataKey { bytes }
    }

    /// Encrypts `plaintext`; the output is `nonce || ciphertext+tag`, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher(), plaintext, context)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, VaultError> {
        open_with(&self.cipher(), sealed, context)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(self.bytes.as_ref()).expect("32-byte key")
    }
}

fn seal_with(cipher: &XChaCha20Poly1305, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
    // 192-bit random nonces: collisions are negligible without any counter state.
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(&nonce, Payload { msg: plaintext, aad: context })
        .expect("XChaCha20-Poly1305 encryption does not fail for in-memory buffers");
    let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

fn open_with(cipher: &XChaCha20Poly1305, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < NONCE_BYTES {
        return Err(VaultError::Truncated);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context })
        .map_err(|_| VaultError::Unauthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_part_opens_only_with_its_key_and_context() {
        let key = DataKey::generate();
        let sealed = key.seal(b"{\"name\":\"hanako\"}", b"event-1");
        assert_eq!(key.open(&sealed, b"event-1").unwrap(), b"{\"name\":\"hanako\"}");
        assert!(matches!(key.open(&sealed, b"event-2"), Err(VaultError::Unauthentic)));
        assert!(matches!(DataKey::generate().open(&sealed, b"event-1"), Err(VaultError::Unauthentic)));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(matches!(key.open(&altered, b"event-1"), Err(VaultError::Unauthentic)));
    }

    #[test]
    fn a_tenant_hmac_is_stable_per_key_tenant_and_purpose() {
        let master = MasterKey::from_hex(&"11".repeat(32)).unwrap();
        let hash = master.tenant_hmac("112020", "staff login", b"sato");
        assert_eq!(hash, MasterKey::from_hex(&"11".repeat(32)).unwrap().tenant_hmac("112020", "staff login", b"sato"));
        assert_ne!(hash, master.tenant_hmac("112097", "staff login", b"sato"), "another tenant");
        assert_ne!(hash, master.tenant_hmac("112020", "client", b"sato"), "another purpose");
        assert_ne!(hash, master.tenant_hmac("112020", "staff login", b"sato "), "bytes as they are");
        assert_ne!(hash, MasterKey::ephemeral().tenant_hmac("112020", "staff login", b"sato"), "another master key");
        // The derivation's parts are separated: tenant "1120" + purpose "20x" is not "112020" + "x".
        assert_ne!(master.tenant_hmac("1120", "20x", b"v"), master.tenant_hmac("112020", "x", b"v"));
    }

    #[test]
    fn a_wrapped_key_is_bound_to_its_owner() {
        let master = MasterKey::ephemeral();
        let key = DataKey::generate();
        let wrapped = master.wrap(&key, b"112020/person-a");
        let unwrapped = master.unwrap(&wrapped, b"112020/person-a").unwrap();
        assert_eq!(unwrapped.open(&key.seal(b"x", b"c"), b"c").unwrap(), b"x");
        assert!(master.unwrap(&wrapped, b"112020/person-b").is_err());
        assert!(MasterKey::ephemeral().unwrap(&wrapped, b"112020/person-a").is_err());
    }

    #[test]
    fn a_generated_key_file_is_read_back_as_the_same_key() {
        let dir = std::env::temp_dir().join(format!("kokuho-vault-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let (first, generated) = MasterKey::load_or_generate(&path).unwrap();
        assert!(generated);
        let (second, generated) = MasterKey::load_or_generate(&path).unwrap();
        assert!(!generated);
        assert_eq!(first.fingerprint(), second.fingerprint());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn blind_index_tokens_match_spelling_variants_and_differ_across_keys_tenants_and_kinds() {
        let master = MasterKey::ephemeral();
        let token = master.blind_index("112020", "name", "熊谷 花子");
        assert_eq!(token, master.blind_index("112020", "name", "熊谷　花子"), "full-width space");
        assert_eq!(token, master.blind_index("112020", "name", "熊谷花子"));
        assert_ne!(token, master.blind_index("112062", "name", "熊谷 花子"), "another municipality");
        assert_ne!(token, master.blind_index("112020", "address", "熊谷 花子"), "another kind");
        assert_ne!(token, MasterKey::ephemeral().blind_index("112020", "name", "熊谷 花子"), "another master key");
        assert_eq!(
            master.blind_index("112020", "name", "ｸﾏｶﾞﾔ"),
            master.blind_index("112020", "name", "クマガヤ"),
            "half-width kana"
        );
    }

    #[test]
    fn a_malformed_master_key_is_refused() {
        assert!(matches!(MasterKey::from_hex("abcd"), Err(VaultError::MalformedMasterKey)));
        assert!(matches!(MasterKey::from_hex(&"zz".repeat(32)), Err(VaultError::MalformedMasterKey)));
    }
}
