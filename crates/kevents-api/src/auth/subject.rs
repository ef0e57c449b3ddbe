//! Reads the subject of an X.509 certificate (DER) just far enough to name a client: the user
//! is the common name (CN), the groups are the organizations (O), as the apiserver maps them.

use super::identity::Identity;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xa0;
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

/// One DER element: tag and contents; `None` on malformed input.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *bytes.first()?;
    let first = *bytes.get(1)?;
    let (len, header) = if first & 0x80 == 0 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*bytes.get(2 + i)?);
        }
        (len, 2 + count)
    };
    let end = header.checked_add(len)?;
    Some((tag, bytes.get(header..end)?, bytes.get(end..)?))
}

fn children(mut bytes: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (tag, contents, rest) = element(bytes)?;
        out.push((tag, contents));
        bytes = rest;
    }
    Some(out)
}

/// The identity named by a certificate's subject, if it has a common name.
pub fn identity(certificate: &[u8]) -> Option<Identity> {
    let (tag, certificate, _) = element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut fields = children(tbs)?;
    if fields.first().is_some_and(|(tag, _)| *tag == CONTEXT_0) {
        fields.remove(0);
    }
    // serialNumber, signature, issuer, validity, subject
    let (tag, subject) = *fields.get(4)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut user = None;
    let mut groups = Vec::new();
    for (tag, set) in children(subject)? {
        if tag != SET {
            return None;
        }
        for (tag, attribute) in children(set)? {
            if tag != SEQUENCE {
                return None;
            }
            let parts = children(attribute)?;
            let [(OID, oid), (_, value)] = parts.as_slice() else {
                continue;
            };
            let text = String::from_utf8(value.to_vec()).ok()?;
            if *oid == COMMON_NAME {
                user = Some(text);
            } else if *oid == ORGANIZATION {
                groups.push(text);
            }
        }
    }
    Some(Identity {
        user: user?,
        uid: String::new(),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if contents.len() < 128 {
            out.push(contents.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(contents.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(contents);
        out
    }

    fn attribute(oid: &[u8], value: &str) -> Vec<u8> {
        let mut inner = tlv(OID, oid);
        inner.extend(tlv(0x0c, value.as_bytes()));
        tlv(SET, &tlv(SEQUENCE, &inner))
    }

    #[test]
    fn common_name_and_organizations() {
        let mut subject = attribute(ORGANIZATION, "ops");
        subject.extend(attribute(ORGANIZATION, "dev"));
        subject.extend(attribute(COMMON_NAME, "alice"));
        let mut tbs = tlv(CONTEXT_0, &tlv(0x02, &[2]));
        for field in [
            tlv(0x02, &[1]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &subject),
        ] {
            tbs.extend(field);
        }
        let certificate = tlv(SEQUENCE, &tlv(SEQUENCE, &tbs));
        let who = identity(&certificate).unwrap();
        assert_eq!(who.user, "alice");
        assert_eq!(who.groups, vec!["ops", "dev"]);
    }

    #[test]
    fn garbage_is_no_identity() {
        for bytes in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x02, 0x30, 0x10],
        ] {
            assert!(identity(bytes).is_none());
        }
    }
}
