//! Cluster names: the hub serves each collected cluster under `/clusters/<name>/`, so a name is
//! a DNS-1123 label, like a namespace.

/// Checks that `name` is a DNS-1123 label, as cluster names on the hub must be.
pub fn validate_cluster_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "it has {} characters, at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{bad:?} is not allowed: a DNS-1123 label has lowercase letters, digits and '-'"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_dns_1123_labels() {
        for good in ["a", "prod", "eu-west-1", "0abc", &"x".repeat(63)] {
            assert_eq!(validate_cluster_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Prod",
            "prod_1",
            "-prod",
            "prod-",
            "a.b",
            "a/b",
            &"x".repeat(64),
        ] {
            assert!(validate_cluster_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
