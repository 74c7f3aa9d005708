//! Checksums and publisher signatures.
//!
//! A package is identified by the SHA-256 of its bytes, a [`Checksum`],
//! written as 64 lowercase hex digits. A publisher signs that checksum with
//! an ed25519 [`SigningKey`]; the registry stores the [`Signature`] and the
//! signer's [`PublicKey::key_id`] next to the checksum in the index, and the
//! client checks both before it unpacks anything (see
//! [`unpack_verified`](crate::unpack_verified)).
//!
//! # What is signed
//!
//! The signed message is the ASCII prefix [`SIGNATURE_CONTEXT`]
//! (`plugboard-package-v1:`) followed by the checksum's 32 raw bytes: 53
//! bytes in all. The prefix separates these signatures from anything else the
//! same key might ever sign, so a package signature cannot be replayed as,
//! say, an API login; and the version in it lets a later format change what
//! is signed without ambiguity. Verification uses ed25519's strict rules
//! (no small-order keys, canonical signatures only).
//!
//! # Proof of possession
//!
//! Registering a public key on a registry account takes a proof that the
//! registrant holds its secret half ([`SigningKey::prove_possession`]): a
//! signature over [`KEY_PROOF_CONTEXT`] (`plugboard-key-v1:`), the 32 bytes
//! of the SHA-256 of the API token making the request, and the 32 public key
//! bytes. Bound to the token, a proof seen once cannot register the key on
//! another account; with its own context, it cannot pass for a package
//! signature.
//!
//! # Text forms
//!
//! * [`Checksum`]: 64 hex digits, e.g. `9f86d081…`.
//! * [`PublicKey`]: the 32-byte ed25519 public key as 64 hex digits.
//! * [`Signature`]: the 64-byte ed25519 signature as 128 hex digits.
//! * Key id: the first 16 hex digits (8 bytes) of the SHA-256 of the 32-byte
//!   public key. It names a key in listings and error messages; it is not a
//!   substitute for the key when verifying.
//! * Key file ([`SigningKey::to_key_file`]): UTF-8 text; blank lines and
//!   lines starting with `#` are comments, and exactly one line reads
//!   `plugboard-signing-key-v1:` followed by the 32-byte ed25519 secret seed
//!   in 64 hex digits. The comments written by [`SigningKey::to_key_file`]
//!   show the public key and key id, for people; they are ignored when the
//!   file is read.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::Signer as _;
use sha2::{Digest as _, Sha256};

use crate::PackageError;

/// The prefix of every signed message; see the [module documentation](self).
pub const SIGNATURE_CONTEXT: &[u8] = b"plugboard-package-v1:";

/// The prefix of a key-possession proof; see the
/// [module documentation](self#proof-of-possession).
pub const KEY_PROOF_CONTEXT: &[u8] = b"plugboard-key-v1:";

/// What a key-possession proof signs: [`KEY_PROOF_CONTEXT`], the SHA-256 of
/// the API token (`token_hash`) and the public key's 32 bytes.
pub fn key_proof_message(token_hash: &Checksum, key: &PublicKey) -> Vec<u8> {
    let mut message = Vec::with_capacity(KEY_PROOF_CONTEXT.len() + 64);
    message.extend_from_slice(KEY_PROOF_CONTEXT);
    message.extend_from_slice(token_hash.as_bytes());
    message.extend_from_slice(key.as_bytes());
    message
}

/// The tag of the secret line in a key file.
pub const KEY_FILE_TAG: &str = "plugboard-signing-key-v1:";

/// The SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Checksum::of(bytes).to_string()
}

/// A package's SHA-256. Displays and parses as 64 hex digits (parsing
/// accepts either case; display is lowercase).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum([u8; 32]);

impl Checksum {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Wraps a raw 32-byte digest.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32-byte digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The message a publisher signs for this checksum:
    /// [`SIGNATURE_CONTEXT`] followed by the 32 raw digest bytes.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + 32);
        message.extend_from_slice(SIGNATURE_CONTEXT);
        message.extend_from_slice(&self.0);
        message
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({self})")
    }
}

impl FromStr for Checksum {
    type Err = PackageError;

    fn from_str(text: &str) -> Result<Self, PackageError> {
        parse_hex("sha256 checksum", text).map(Self)
    }
}

/// A publisher's ed25519 public key, used to verify package signatures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Parses a key from its 32 raw bytes, refusing bytes that are not a
    /// point on the curve.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, PackageError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|e| PackageError::InvalidText {
                what: "public key",
                problem: format!("the bytes are not an ed25519 public key ({e})"),
            })
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key's short name: the first 16 hex digits of the SHA-256 of its 32
    /// bytes.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex::encode(&digest[..8])
    }

    /// Checks that `signature` is this key's signature over `checksum`'s
    /// [signed message](Checksum::signed_message), by ed25519's strict rules.
    pub fn verify(&self, checksum: &Checksum, signature: &Signature) -> Result<(), PackageError> {
        self.0
            .verify_strict(&checksum.signed_message(), &signature.0)
            .map_err(|_| PackageError::BadSignature {
                checksum: checksum.to_string(),
                key_id: self.key_id(),
            })
    }

    /// Checks that `proof` is this key's
    /// [proof of possession](self#proof-of-possession) for the API token
    /// whose SHA-256 is `token_hash`.
    pub fn verify_possession(
        &self,
        token_hash: &Checksum,
        proof: &Signature,
    ) -> Result<(), PackageError> {
        self.0
            .verify_strict(&key_proof_message(token_hash, self), &proof.0)
            .map_err(|_| PackageError::BadKeyProof {
                key_id: self.key_id(),
            })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = PackageError;

    /// Parses 64 hex digits.
    fn from_str(text: &str) -> Result<Self, PackageError> {
        Self::from_bytes(&parse_hex("public key", text)?)
    }
}

/// An ed25519 signature over a package's checksum.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Wraps 64 raw signature bytes.
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// The 64 raw bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = PackageError;

    /// Parses 128 hex digits.
    fn from_str(text: &str) -> Result<Self, PackageError> {
        parse_hex("signature", text).map(|bytes| Self::from_bytes(&bytes))
    }
}

/// A publisher's ed25519 secret key. Its memory is wiped when dropped, and
/// its `Debug` output shows only the key id.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A new key from the operating system's secure random number generator.
    pub fn generate() -> Result<Self, PackageError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| PackageError::Randomness {
            problem: e.to_string(),
        })?;
        let key = Self::from_seed(&seed);
        seed.fill(0);
        Ok(key)
    }

    /// The key with the given 32-byte secret seed. Deterministic: use it to
    /// import a key or in tests, and [`generate`](Self::generate) otherwise.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The public half, which verifies this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `checksum`'s [signed message](Checksum::signed_message).
    pub fn sign(&self, checksum: &Checksum) -> Signature {
        Signature(self.0.sign(&checksum.signed_message()))
    }

    /// Proves possession of this key to a registry, for the API token
    /// whose SHA-256 is `token_hash` (see the
    /// [module documentation](self#proof-of-possession)).
    pub fn prove_possession(&self, token_hash: &Checksum) -> Signature {
        Signature(
            self.0
                .sign(&key_proof_message(token_hash, &self.public_key())),
        )
    }

    /// The key in the key-file format described in the
    /// [module documentation](self).
    pub fn to_key_file(&self) -> String {
        let public = self.public_key();
        format!(
            "# Plugboard publisher signing key. Keep it secret: whoever has it can publish as you.\n\
             # public key: {public}\n\
             # key id: {}\n\
             {KEY_FILE_TAG}{}\n",
            public.key_id(),
            hex::encode(self.0.to_bytes()),
        )
    }

    /// Reads a key from the key-file format described in the
    /// [module documentation](self).
    pub fn from_key_file(text: &str) -> Result<Self, PackageError> {
        let invalid = |problem: String| PackageError::InvalidText {
            what: "signing key file",
            problem,
        };
        let mut secret = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some(hex_seed) = line.strip_prefix(KEY_FILE_TAG) else {
                return Err(invalid(format!(
                    "expected a line `{KEY_FILE_TAG}<64 hex digits>` and `#` comments, found a line \
                     starting `{}`",
                    line.chars().take(24).collect::<String>()
                )));
            };
            if secret.is_some() {
                return Err(invalid(format!(
                    "it has more than one `{KEY_FILE_TAG}` line; keep exactly one"
                )));
            }
            secret = Some(parse_hex::<32>("signing key", hex_seed.trim())?);
        }
        let mut seed = secret.ok_or_else(|| {
            invalid(format!(
                "it has no `{KEY_FILE_TAG}` line; is it a Plugboard signing key?"
            ))
        })?;
        let key = Self::from_seed(&seed);
        seed.fill(0);
        Ok(key)
    }

    /// Writes the key to a new file at `path`, readable and writable by its
    /// owner only (mode 0600) on Unix. Refuses to overwrite an existing file,
    /// so that a key is never lost by accident.
    pub fn save(&self, path: &Path) -> Result<(), PackageError> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                PackageError::KeyFileExists {
                    path: path.to_owned(),
                }
            } else {
                PackageError::io("create", path, e)
            }
        })?;
        file.write_all(self.to_key_file().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| PackageError::io("write", path, e))
    }

    /// Reads a key file written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self, PackageError> {
        let text = fs::read_to_string(path).map_err(|e| PackageError::io("read", path, e))?;
        Self::from_key_file(&text)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(key id {})", self.public_key().key_id())
    }
}

/// Parses exactly `N` bytes written as `2 * N` hex digits.
fn parse_hex<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N], PackageError> {
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text, &mut bytes).map_err(|e| PackageError::InvalidText {
        what,
        problem: format!(
            "expected {} hex digits, found {} characters ({e})",
            2 * N,
            text.len()
        ),
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn possession_proofs_sign_the_documented_layout() {
        let key = SigningKey::from_seed(&[7; 32]).public_key();
        let token = Checksum::of(b"pbr_token");
        let message = key_proof_message(&token, &key);
        assert_eq!(message.len(), KEY_PROOF_CONTEXT.len() + 64);
        assert_eq!(&message[..17], b"plugboard-key-v1:");
        assert_eq!(&message[17..49], token.as_bytes());
        assert_eq!(&message[49..], key.as_bytes());
    }

    #[test]
    fn possession_proofs_are_bound_to_the_token_and_their_context() -> TestResult {
        let key = SigningKey::generate()?;
        let public = key.public_key();
        let token = Checksum::of(b"pbr_token_of_alice");
        let proof = key.prove_possession(&token);
        public.verify_possession(&token, &proof)?;
        let other = Checksum::of(b"pbr_token_of_bob");
        assert!(matches!(
            public.verify_possession(&other, &proof),
            Err(PackageError::BadKeyProof { .. })
        ));
        // A package signature over the same 32 bytes is no proof, nor the reverse.
        assert!(public.verify_possession(&token, &key.sign(&token)).is_err());
        assert!(public.verify(&token, &proof).is_err());
        let stranger = SigningKey::generate()?;
        assert!(
            public
                .verify_possession(&token, &stranger.prove_possession(&token))
                .is_err()
        );
        Ok(())
    }

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(&[n; 32])
    }

    #[test]
    fn checksums_are_sha256_in_hex() -> TestResult {
        // The well-known SHA-256 of "abc".
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), abc);
        let parsed: Checksum = abc.to_uppercase().parse()?;
        assert_eq!(parsed, Checksum::of(b"abc"));
        assert_eq!(parsed.to_string(), abc);
        for bad in [
            "",
            "abc",
            &abc[1..],
            &format!("{abc}00"),
            &abc.replace('a', "g"),
        ] {
            assert!(bad.parse::<Checksum>().is_err(), "{bad:?} parsed");
        }
        Ok(())
    }

    #[test]
    fn signed_message_is_domain_separated() {
        let sum = Checksum::of(b"package");
        let message = sum.signed_message();
        assert_eq!(message.len(), 21 + 32);
        assert!(message.starts_with(b"plugboard-package-v1:"));
        assert_eq!(&message[21..], sum.as_bytes());
        // A signature over the bare digest is not a package signature.
        let bare = Signature(key(1).0.sign(sum.as_bytes()));
        assert!(key(1).public_key().verify(&sum, &bare).is_err());
    }

    #[test]
    fn sign_and_verify() -> TestResult {
        let signer = SigningKey::generate()?;
        let public = signer.public_key();
        let sum = Checksum::of(b"a package");
        let signature = signer.sign(&sum);
        public.verify(&sum, &signature)?;

        // Through the text forms, as the index carries them.
        let public2: PublicKey = public.to_string().parse()?;
        let signature2: Signature = signature.to_string().parse()?;
        assert_eq!(signature.to_string().len(), 128);
        public2.verify(&sum, &signature2)?;
        Ok(())
    }

    #[test]
    fn verify_refuses_tampering_and_other_keys() {
        let signer = key(7);
        let sum = Checksum::of(b"a package");
        let signature = signer.sign(&sum);

        let mut bytes = *sum.as_bytes();
        bytes[31] ^= 1;
        let err = signer
            .public_key()
            .verify(&Checksum::from_bytes(bytes), &signature)
            .expect_err("flipped checksum bit");
        assert!(matches!(err, PackageError::BadSignature { .. }), "{err:?}");

        let mut sig = signature.to_bytes();
        sig[0] ^= 0x80;
        let err = signer
            .public_key()
            .verify(&sum, &Signature::from_bytes(&sig))
            .expect_err("flipped signature bit");
        assert!(matches!(err, PackageError::BadSignature { .. }), "{err:?}");

        let other = key(8).public_key();
        let err = other.verify(&sum, &signature).expect_err("wrong key");
        let text = err.to_string();
        assert!(text.contains(&other.key_id()), "{text}");
        assert!(text.contains(&sum.to_string()), "{text}");
    }

    #[test]
    fn generated_keys_differ() -> TestResult {
        let a = SigningKey::generate()?.public_key();
        let b = SigningKey::generate()?.public_key();
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn key_ids_are_short_hashes_of_the_public_key() {
        let public = key(3).public_key();
        let id = public.key_id();
        assert_eq!(id.len(), 16);
        assert_eq!(id, sha256_hex(public.as_bytes())[..16]);
        assert_ne!(id, key(4).public_key().key_id());
    }

    #[test]
    fn key_files_round_trip() -> TestResult {
        let signer = key(9);
        let text = signer.to_key_file();
        assert!(text.contains(&signer.public_key().to_string()), "{text}");
        assert!(text.contains(&signer.public_key().key_id()), "{text}");
        let again = SigningKey::from_key_file(&text)?;
        assert_eq!(again.public_key(), signer.public_key());
        assert!(!format!("{signer:?}").contains(&hex::encode([9u8; 32])));

        let dir = tempfile::tempdir()?;
        let path = dir.path().join("publisher.key");
        signer.save(&path)?;
        assert_eq!(SigningKey::load(&path)?.public_key(), signer.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path)?.permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        let err = key(10).save(&path).expect_err("must not overwrite");
        assert!(matches!(err, PackageError::KeyFileExists { .. }), "{err:?}");
        assert_eq!(SigningKey::load(&path)?.public_key(), signer.public_key());
        Ok(())
    }

    #[test]
    fn bad_key_files_are_explained() {
        let line = format!("{KEY_FILE_TAG}{}", hex::encode([1u8; 32]));
        let cases = [
            (
                "# only a comment\n".to_owned(),
                "no `plugboard-signing-key-v1:` line",
            ),
            (format!("{line}\n{line}\n"), "more than one"),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\n".to_owned(),
                "expected a line",
            ),
            (format!("{KEY_FILE_TAG}abcd\n"), "expected 64 hex digits"),
        ];
        for (text, expected) in cases {
            let err = SigningKey::from_key_file(&text).expect_err(expected);
            assert!(err.to_string().contains(expected), "{text:?}: {err}");
        }
    }
}
