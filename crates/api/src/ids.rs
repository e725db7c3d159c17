//! Ids that sort by creation time: 48 bits of milliseconds then 80 random bits,
//! in Crockford base32 (the ULID layout), 26 characters.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Makes an id from a time and random bytes (pure, for tests and replay).
pub fn id_from(millis: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(millis & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (8 * (9 - i));
    }
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A fresh id for now, or a 503 when the platform's random source fails: ids that
/// share a millisecond would then differ only by chance, and nonces (webhook dedupe
/// claims) would stop being unguessable, so nothing is created without one.
pub fn new_id() -> Result<String, crate::Problem> {
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default();
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|e| {
        crate::Problem::unavailable(format!("the random source failed ({e}); retry later"))
    })?;
    Ok(id_from(millis, random))
}

/// Whether `s` looks like an id this module made (guards keys built from input).
pub fn is_id(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a = id_from(1_000, [255; 10]);
        let b = id_from(1_001, [0; 10]);
        assert!(a < b);
        assert!(is_id(&a) && is_id(&b));
        assert!(!is_id("../../etc"));
    }

    #[test]
    fn fresh_ids_differ() {
        assert_ne!(new_id().expect("random"), new_id().expect("random"));
    }
}
