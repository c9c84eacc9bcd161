//! Identifiers: payloadIDs and unguessable tokens from the operating system's random source.

use time::OffsetDateTime;

/// Random bytes from the OS. Only fails if the kernel cannot supply entropy, which on
/// Lambda and Linux in general does not happen after boot; the caller gets an error anyway.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// `N` random bytes as lower-case hex (2N characters).
pub fn random_hex<const N: usize>() -> Result<String, getrandom::Error> {
    Ok(hex(&random_bytes::<N>()?))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// A unique payloadID in the form cXML recommends: `<epoch millis>.<random>@<host>`.
pub fn new_payload_id(host: &str) -> String {
    let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    // 64 random bits make a collision between two documents of the same millisecond
    // vanishingly unlikely; should the OS refuse, the process id and a counter still differ.
    let random = random_hex::<8>().unwrap_or_else(|_| fallback_suffix());
    format!("{millis}.{random}@{host}")
}

fn fallback_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:x}{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn payload_ids_are_unique_and_well_formed() {
        let ids: HashSet<String> = (0..1000)
            .map(|_| new_payload_id("market.example"))
            .collect();
        assert_eq!(ids.len(), 1000);
        let id = ids.iter().next().unwrap();
        let (stamp, host) = id.split_once('@').unwrap();
        assert_eq!(host, "market.example");
        let (millis, random) = stamp.split_once('.').unwrap();
        assert!(millis.parse::<u64>().unwrap() > 1_700_000_000_000);
        assert_eq!(random.len(), 16);
    }
}
