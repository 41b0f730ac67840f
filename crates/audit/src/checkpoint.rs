//! Signed checkpoints: the municipality's Ed25519 key signs, for each tenant ledger, a
//! checkpoint in the C2SP `tlog-checkpoint` format (origin, tree size, base64 root hash, each on
//! its own line) as a C2SP `signed-note`. An auditor keeps the note; with the verifier key
//! (`<origin>+<key id>+<base64 public key>`) it proves what the ledger's size and root were.
//!
//! The key is kept like the master key: outside the database (`KOKUHO_CHECKPOINT_KEY`, 64 hex
//! digits of Ed25519 seed, or a key file created for development).

use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use rand::RngCore as _;
use signed_note::{Note, StandardVerifier, VerifierList};
use zeroize::Zeroizing;

use crate::tree::Hash;

/// The checkpoint origin of a tenant's ledger: `kokuho/<local government code>`.
pub fn origin_for(tenant: &str) -> String {
    format!("kokuho/{tenant}")
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointKeyError {
    #[error("the checkpoint key must be 64 hexadecimal digits (an Ed25519 seed)")]
    Malformed,
    #[error("checkpoint key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
}

/// The municipality's checkpoint signing key. Never stored in the database; `Debug` shows only
/// its public key's fingerprint.
pub struct CheckpointKey {
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey({})", hex::encode(&self.key.verifying_key().to_bytes()[..4]))
    }
}

impl CheckpointKey {
    /// From 64 hex digits (the Ed25519 seed).
    pub fn from_hex(text: &str) -> Result<CheckpointKey, CheckpointKeyError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| CheckpointKeyError::Malformed)?);
        let seed: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| CheckpointKeyError::Malformed)?;
        Ok(CheckpointKey { key: SigningKey::from_bytes(seed) })
    }

    /// A random key held only in memory (tests, benchmarks).
    pub fn ephemeral() -> CheckpointKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(seed.as_mut());
        CheckpointKey { key: SigningKey::from_bytes(&seed) }
    }

    /// Reads the key file at `path`; when it does not exist, creates it (0600) with a fresh key and
    /// answers `true`: a generated key is only fit for development.
    pub fn load_or_generate(path: &Path) -> Result<(CheckpointKey, bool), CheckpointKeyError> {
        let io_error = |source| CheckpointKeyError::KeyFile { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((CheckpointKey::from_hex(&text)?, false)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = CheckpointKey::ephemeral();
                let text = Zeroizing::new(hex::encode(key.key.to_bytes()));
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io_error)?;
                std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io_error)?;
                Ok((key, true))
            }
            Err(error) => Err(io_error(error)),
        }
    }

    /// The public key (32 bytes).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The signed-note verifier key of `origin`'s checkpoints: what an auditor is given, out of
    /// band, to check them.
    pub fn verifier_key(&self, origin: &str) -> String {
        signed_note::new_ed25519_verifier_key(origin, &self.key.verifying_key())
    }

    /// The signed checkpoint of `origin`'s tree of `size` records with root `root`.
    pub fn sign(&self, origin: &str, size: u64, root: &Hash) -> Result<String, crate::VerifyError> {
        let checkpoint = tlog_tiles::Checkpoint::new(origin, size, tlog_tiles::Hash(*root), "")
            .map_err(|_| crate::VerifyError::Malformed("origin"))?;
        let mut note = Note::new(&checkpoint.to_bytes(), &[]).map_err(|_| crate::VerifyError::Malformed("origin"))?;
        let signer = NoteSigner { name: origin, id: self.key_id(origin), key: &self.key };
        note.add_sigs(&[&signer]).map_err(|_| crate::VerifyError::Malformed("origin"))?;
        String::from_utf8(note.to_bytes()).map_err(|_| crate::VerifyError::Malformed("origin"))
    }

    fn key_id(&self, origin: &str) -> u32 {
        let encoded = [&[1u8][..], self.key.verifying_key().as_bytes()].concat();
        signed_note::key_id(origin, &encoded)
    }
}

struct NoteSigner<'a> {
    name: &'a str,
    id: u32,
    key: &'a SigningKey,
}

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// A checkpoint whose signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The signed note as received.
    pub note: String,
}

impl Checkpoint {
    /// Opens a signed note: it must parse as a C2SP signed note carrying a valid signature by
    /// `verifier_key` (`<origin>+<key id>+<base64 key>`), and its text must be a C2SP checkpoint
    /// whose origin is the key's name.
    pub fn open(note: &str, verifier_key: &str) -> Result<Checkpoint, crate::VerifyError> {
        use crate::VerifyError;
        let verifier = StandardVerifier::new(verifier_key.trim()).map_err(|_| VerifyError::Malformed("public key"))?;
        let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| VerifyError::Malformed("checkpoint"))?;
        let origin = signed_note::Verifier::name(&verifier).to_owned();
        parsed.verify(&VerifierList::new(vec![Box::new(verifier)])).map_err(|_| VerifyError::BadSignature)?;
        let text =
            tlog_tiles::Checkpoint::from_bytes(parsed.text()).map_err(|_| VerifyError::Malformed("checkpoint"))?;
        if text.origin() != origin {
            return Err(VerifyError::WrongOrigin);
        }
        Ok(Checkpoint { origin, size: text.size(), root: text.hash().0, note: note.to_owned() })
    }

    /// The base64 root hash, as the checkpoint's third line writes it.
    pub fn root_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_only() {
        let key = CheckpointKey::ephemeral();
        let origin = origin_for("112020");
        let note = key.sign(&origin, 7, &[7; 32]).unwrap();
        // C2SP tlog-checkpoint body, a blank line, then one signature line.
        let mut lines = note.lines();
        assert_eq!(lines.next(), Some("kokuho/112020"));
        assert_eq!(lines.next(), Some("7"));
        assert_eq!(lines.next(), Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]).as_str()));
        assert_eq!(lines.next(), Some(""));
        assert!(lines.next().unwrap().starts_with("— kokuho/112020 "));
        let opened = Checkpoint::open(&note, &key.verifier_key(&origin)).unwrap();
        assert_eq!((opened.size, opened.root), (7, [7; 32]));

        let other = CheckpointKey::ephemeral();
        assert!(Checkpoint::open(&note, &other.verifier_key(&origin)).is_err());
        let forged = note.replacen("\n7\n", "\n8\n", 1);
        assert!(Checkpoint::open(&forged, &key.verifier_key(&origin)).is_err());
        // Another tenant's key name is not this checkpoint's signer.
        assert!(Checkpoint::open(&note, &key.verifier_key(&origin_for("112062"))).is_err());
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("kokuho-checkpoint-key-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let (first, generated) = CheckpointKey::load_or_generate(&dir).unwrap();
        assert!(generated);
        let (second, generated) = CheckpointKey::load_or_generate(&dir).unwrap();
        assert!(!generated);
        assert_eq!(first.public_key(), second.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_file(&dir).unwrap();
        assert!(CheckpointKey::from_hex("zz").is_err());
    }
}
