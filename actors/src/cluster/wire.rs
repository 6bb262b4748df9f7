//! [`Wire`]: a cross-node message payload as ractor_cluster carries it. Decoding never panics:
//! a payload from a peer on another version, or a corrupt one, arrives as an error the
//! receiving actor answers or logs, instead of being dropped by the transport.

use codebegen_schema::cluster::{decode, encode, Versioned, WireError};
use ractor::BytesConvertable;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A payload of a cluster message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire<T>(pub Result<T, WireError>);

impl<T> Wire<T> {
    /// Wraps a message to send.
    pub fn new(message: T) -> Self {
        Wire(Ok(message))
    }

    /// The message, or why it could not be read.
    pub fn into_inner(self) -> Result<T, WireError> {
        self.0
    }
}

impl<T: Serialize + DeserializeOwned + Versioned> BytesConvertable for Wire<T> {
    fn into_bytes(self) -> Vec<u8> {
        match self.0 {
            Ok(message) => encode(&message),
            // A decode error is never sent on; an empty payload decodes as an error again.
            Err(_) => Vec::new(),
        }
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        Wire(decode(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::cluster::{Heartbeat, WIRE_VERSION};

    #[test]
    fn bytes_round_trip_and_garbage_is_an_error_not_a_panic() {
        let beat = Heartbeat {
            version: WIRE_VERSION,
            from: "api-1".into(),
            seq: 3,
        };
        let bytes = Wire::new(beat.clone()).into_bytes();
        assert_eq!(Wire::<Heartbeat>::from_bytes(bytes).into_inner(), Ok(beat));
        assert!(Wire::<Heartbeat>::from_bytes(vec![0xff; 3])
            .into_inner()
            .is_err());
    }
}
