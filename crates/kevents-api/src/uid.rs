//! UIDs of new events.

use rand::Rng;

/// A random (version 4) UID from the thread's generator: `Uuid::new_v4` asks the kernel for
/// every one, a system call per create.
pub(crate) fn new_uid() -> String {
    uuid::Builder::from_random_bytes(rand::rng().random())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uids_are_random_version_4_uuids() {
        let (a, b) = (super::new_uid(), super::new_uid());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
    }
}
