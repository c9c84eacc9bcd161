//! cXML timestamps: written as ISO 8601 with the offset spelled out, read leniently.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Reads a timestamp as real senders write it:
/// - ISO 8601 with an offset, with or without fractional seconds (`2023-01-23T16:00:06-01:00`,
///   `2010-12-22T19:03:37Z`, `2023-01-23T16:00:06.123+02:00`);
/// - ISO 8601 without an offset (taken as UTC), with or without seconds or milliseconds;
/// - a bare date (`2023-01-23`, midnight UTC);
/// - Coupa's Ruby-style `Mon May 19 18:29:48 +0000 2008`.
///
/// The result is in UTC; an instant that has no UTC form (a year past 9999 once the offset
/// is applied) is refused like any other unreadable timestamp.
pub fn parse_timestamp(raw: &str) -> Option<OffsetDateTime> {
    parse_any_offset(raw)?.checked_to_offset(UtcOffset::UTC)
}

fn parse_any_offset(raw: &str) -> Option<OffsetDateTime> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // Offsets without a colon (`+0000`) or with a space before them.
    let with_offset = [
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory]:[offset_minute]"
        ),
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][offset_minute]"
        ),
        format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]] [offset_hour sign:mandatory][offset_minute]"
        ),
        format_description!(
            "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute] [year]"
        ),
        format_description!(
            "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute] [year]"
        ),
    ];
    // Ruby/C `ctime` pads single-digit days with a space: `Tue Jun  3`.
    let collapsed;
    let s = if s.contains("  ") {
        collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
        collapsed.as_str()
    } else {
        s
    };
    for fmt in with_offset {
        if let Ok(t) = OffsetDateTime::parse(s, fmt) {
            return Some(t);
        }
    }
    let naive = [
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        ),
        format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
        ),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    for fmt in naive {
        if let Ok(t) = PrimitiveDateTime::parse(s, fmt) {
            return Some(t.assume_utc());
        }
    }
    if let Ok(d) = time::Date::parse(s, format_description!("[year]-[month]-[day]")) {
        return Some(d.midnight().assume_utc());
    }
    None
}

/// Writes a timestamp in UTC as `2026-11-24T09:30:00+00:00`: cXML wants the offset written out,
/// and some receivers refuse `Z`. Sub-second precision is dropped, as the DTD examples do.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    // Values built in code may sit at the edge of the calendar; clamp instead of panicking.
    let utc = t
        .checked_to_offset(UtcOffset::UTC)
        .unwrap_or(if t.year() > 0 {
            time::PrimitiveDateTime::MAX.assume_utc()
        } else {
            time::PrimitiveDateTime::MIN.assume_utc()
        });
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    utc.format(fmt)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00+00:00"))
}

/// Serde helpers writing [`OffsetDateTime`] the way [`format_timestamp`] does.
pub mod serde_utc {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_timestamp(&raw)
            .ok_or_else(|| D::Error::custom(format!("not a timestamp: {raw}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_every_shape_senders_use() {
        let cases = [
            (
                "2023-01-23T16:00:06-01:00",
                datetime!(2023-01-23 17:00:06 UTC),
            ),
            ("2010-12-22T19:03:37Z", datetime!(2010-12-22 19:03:37 UTC)),
            (
                "2023-01-23T16:00:06.250+02:00",
                datetime!(2023-01-23 14:00:06.25 UTC),
            ),
            ("2023-01-23T16:00:06", datetime!(2023-01-23 16:00:06 UTC)),
            (
                "2023-01-23T16:00:06.5",
                datetime!(2023-01-23 16:00:06.5 UTC),
            ),
            (
                "2023-01-23T16:00:06+0100",
                datetime!(2023-01-23 15:00:06 UTC),
            ),
            (
                "Mon May 19 18:29:48 +0000 2008",
                datetime!(2008-05-19 18:29:48 UTC),
            ),
            (
                "Tue Jun  3 08:00:00 -0700 2008",
                datetime!(2008-06-03 15:00:00 UTC),
            ),
            ("2023-01-23", datetime!(2023-01-23 00:00:00 UTC)),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_timestamp(raw), Some(want), "{raw}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for raw in [
            "",
            "invoice_date",
            "2023-13-01T00:00:00Z",
            "yesterday",
            // Found by fuzzing: valid with its offset, past year 9999 in UTC.
            "9999-12-31T23:59:59-01:00",
        ] {
            assert_eq!(parse_timestamp(raw), None, "{raw}");
        }
    }

    #[test]
    fn writes_utc_with_the_offset_spelled_out() {
        let t = datetime!(2026-11-24 10:30:00 +01:00);
        assert_eq!(format_timestamp(t), "2026-11-24T09:30:00+00:00");
    }
}
