//! An entry as a store keeps it and sends it to the other replicas: one
//! JSON object, at most [`MAX_MESSAGE_BYTES`].
//!
//! ```text
//! {"v":1,"kind":"user","id":"<sub>","at_or_before":1795350000,"revoked_at_ms":1795350000123,"expires_at":1795436400}
//! ```

use serde::{Deserialize, Serialize};

use super::{RevocationEntry, Revoked};

/// The longest id accepted in an entry (Cognito's are 36 bytes).
pub const MAX_ID_BYTES: usize = 1024;
/// The longest encoded entry read from a store.
pub const MAX_MESSAGE_BYTES: usize = 2 * MAX_ID_BYTES;

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    v: u8,
    kind: &'a str,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_or_before: Option<i64>,
    revoked_at_ms: i64,
    expires_at: i64,
}

impl RevocationEntry {
    /// The entry as stores keep and send it.
    #[must_use]
    pub fn encode(&self) -> String {
        let (kind, id, at_or_before) = match &self.revoked {
            Revoked::Token { jti } => ("token", jti, None),
            Revoked::Session { origin_jti } => ("session", origin_jti, None),
            Revoked::User { sub, at_or_before } => ("user", sub, Some(*at_or_before)),
            Revoked::Client {
                client_id,
                at_or_before,
            } => ("client", client_id, Some(*at_or_before)),
        };
        serde_json::to_string(&Wire {
            v: 1,
            kind,
            id: id.as_str().into(),
            at_or_before,
            revoked_at_ms: self.revoked_at_ms,
            expires_at: self.expires_at,
        })
        .unwrap_or_default()
    }

    /// Reads an entry a store sent; the reason when it is not one (too
    /// long, not JSON, another version or kind, an empty or oversized id,
    /// a user or client entry without its cutoff).
    ///
    /// # Errors
    /// The reason, in words for a log line.
    pub fn decode(message: &[u8]) -> Result<RevocationEntry, String> {
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(format!(
                "{} bytes, more than the {MAX_MESSAGE_BYTES} an entry may have",
                message.len()
            ));
        }
        let wire: Wire<'_> =
            serde_json::from_slice(message).map_err(|e| format!("not an entry: {e}"))?;
        if wire.v != 1 {
            return Err(format!("version {} is not known here", wire.v));
        }
        check_id(&wire.id)?;
        let id = wire.id.into_owned();
        let cutoff = || {
            wire.at_or_before
                .ok_or_else(|| format!("a {} entry needs \"at_or_before\"", wire.kind))
        };
        let revoked = match wire.kind {
            "token" => Revoked::Token { jti: id },
            "session" => Revoked::Session { origin_jti: id },
            "user" => Revoked::User {
                sub: id,
                at_or_before: cutoff()?,
            },
            "client" => Revoked::Client {
                client_id: id,
                at_or_before: cutoff()?,
            },
            other => return Err(format!("the kind {other:?} is not known here")),
        };
        Ok(RevocationEntry {
            revoked,
            revoked_at_ms: wire.revoked_at_ms,
            expires_at: wire.expires_at,
        })
    }
}

/// A revoked id: not empty, at most [`MAX_ID_BYTES`].
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    match id.len() {
        0 => Err("an empty id".into()),
        n if n > MAX_ID_BYTES => Err(format!(
            "an id of {n} bytes, more than the {MAX_ID_BYTES} accepted"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for revoked in [
            Revoked::Token { jti: "j".into() },
            Revoked::Session {
                origin_jti: "o \"quoted\"".into(),
            },
            Revoked::User {
                sub: "u".into(),
                at_or_before: 5,
            },
            Revoked::Client {
                client_id: "c".into(),
                at_or_before: -5,
            },
        ] {
            let entry = RevocationEntry {
                revoked,
                revoked_at_ms: 7,
                expires_at: 9,
            };
            assert_eq!(
                RevocationEntry::decode(entry.encode().as_bytes()).unwrap(),
                entry
            );
        }
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        let long_id = format!(
            r#"{{"v":1,"kind":"token","id":"{}","revoked_at_ms":1,"expires_at":2}}"#,
            "x".repeat(MAX_ID_BYTES + 1)
        );
        for message in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"v":2,"kind":"token","id":"j","revoked_at_ms":1,"expires_at":2}"#,
            r#"{"v":1,"kind":"everyone","id":"j","revoked_at_ms":1,"expires_at":2}"#,
            r#"{"v":1,"kind":"token","id":"","revoked_at_ms":1,"expires_at":2}"#,
            r#"{"v":1,"kind":"user","id":"u","revoked_at_ms":1,"expires_at":2}"#,
            r#"{"v":1,"kind":"token","id":"j","revoked_at_ms":"1","expires_at":2}"#,
            r#"{"v":1,"kind":"token","id":"j","revoked_at_ms":1,"expires_at":1e400}"#,
            long_id.as_str(),
        ] {
            assert!(
                RevocationEntry::decode(message.as_bytes()).is_err(),
                "{message}"
            );
        }
        assert!(RevocationEntry::decode(&vec![b' '; MAX_MESSAGE_BYTES + 1]).is_err());
        assert!(RevocationEntry::decode(&[0xff, 0xfe]).is_err());
    }
}
