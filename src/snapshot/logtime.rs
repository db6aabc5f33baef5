//! Wall-clock times as the snapshot writes them (ISO 8601, UTC) and reads them back from the
//! logs' own formats, and `--since` as an operator types it. Pure: `now` is passed in.

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (UTC, proleptic Gregorian).
pub fn iso_utc(epoch_s: u64) -> String {
    let days = (epoch_s / 86_400) as i64;
    let secs = epoch_s % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a civil date (the inverse of [`iso_utc`]'s).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// An ISO 8601 time as the logs write it → seconds since the epoch: `2026-11-30T15:02:11Z`
/// (kmsg), `2026-11-30T15:02:11+0000` (journalctl short-iso), `2026-11-30T15:02:11,123456+00:00`
/// (dmesg --time-format iso), a space for the `T`, seconds optional, no zone = UTC. Fractions
/// of a second are dropped.
pub fn parse_iso(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, rest) = s.split_at_checked(10)?;
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let rest = rest.strip_prefix(['T', ' '])?;
    // The zone: Z, ±HH:MM, ±HHMM, ±HH, or none.
    let (clock, offset) = match rest.find(['Z', '+', '-']) {
        Some(i) => {
            let (c, z) = rest.split_at(i);
            let off = if z == "Z" {
                0
            } else {
                let sign = if z.starts_with('-') { -1 } else { 1 };
                let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
                let (h, m) = match digits.len() {
                    2 => (num(&digits)?, 0),
                    4 => (num(&digits[..2])?, num(&digits[2..])?),
                    _ => return None,
                };
                sign * (h * 3600 + m * 60)
            };
            (c, off)
        }
        None => (rest, 0),
    };
    let clock = clock.split([',', '.']).next()?;
    let mut c = clock.split(':');
    let (h, mi) = (num(c.next()?)?, num(c.next()?)?);
    let sec = c.next().map_or(Some(0), num)?;
    if c.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let t = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    u64::try_from(t).ok()
}

/// `--since` as typed: a time ([`parse_iso`]), `@EPOCH`, or an age (`90s`, `30m`, `2h`, `7d`,
/// with or without a leading `-`) counted back from `now`.
pub fn parse_since(s: &str, now: u64) -> Result<u64, String> {
    let t = s.trim();
    if let Some(e) = t.strip_prefix('@') {
        return e
            .parse()
            .map_err(|_| format!("--since {s}: expected seconds since the epoch after @"));
    }
    let age = t.strip_prefix('-').unwrap_or(t);
    if let Some(unit) = age.chars().last().filter(|c| "smhd".contains(*c))
        && let Some(n) = num(&age[..age.len() - 1])
    {
        let per = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => 86_400,
        };
        return u64::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(per))
            .map(|back| now.saturating_sub(back))
            .ok_or_else(|| format!("--since {s}: too far back"));
    }
    parse_iso(t).ok_or_else(|| {
        format!(
            "--since {s}: give a time (2026-11-30T15:00:00Z; without a zone it is UTC), @EPOCH, or an age (30m, 2h, 7d)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_796_052_131), "2026-11-30T15:22:11Z");
    }

    #[test]
    fn the_logs_formats_read_back() {
        for t in [0, 951_782_400, 1_796_052_131, 4_102_444_799] {
            assert_eq!(parse_iso(&iso_utc(t)), Some(t));
        }
        let t = 1_796_052_131;
        assert_eq!(parse_iso("2026-11-30T15:22:11+0000"), Some(t));
        assert_eq!(parse_iso("2026-11-30T15:22:11,123456+00:00"), Some(t));
        assert_eq!(parse_iso("2026-11-30T16:22:11+01:00"), Some(t));
        assert_eq!(parse_iso("2026-11-30T10:22:11-0500"), Some(t));
        assert_eq!(parse_iso("2026-11-30 15:22:11.5"), Some(t));
        assert_eq!(parse_iso("2026-11-30T15:22Z"), Some(t - 11));
        for bad in [
            "",
            "garbage",
            "2026-13-01T00:00:00Z",
            "2026-11-30",
            "2026-11-30T25:00:00Z",
            "2026-11-30T15:22:11+1",
            "2026-11-30T15:22:11:09Z",
            "1969-12-31T23:59:59Z",
            "2026-11-30T1é:22:11Z",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn since_as_typed() {
        let now = 1_796_052_131;
        assert_eq!(parse_since("2h", now), Ok(now - 7200));
        assert_eq!(parse_since("-30m", now), Ok(now - 1800));
        assert_eq!(parse_since("7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse_since("@1700000000", now), Ok(1_700_000_000));
        assert_eq!(parse_since("2026-11-30T15:22:11Z", now), Ok(now));
        assert!(parse_since("99999999999999999999d", now).is_err());
        assert_eq!(
            parse_since("1000000000000000d", now),
            Err("--since 1000000000000000d: too far back".into())
        );
        assert!(
            parse_since("yesterday", now)
                .unwrap_err()
                .contains("give a time")
        );
        assert!(parse_since("@x", now).is_err());
        assert!(parse_since("h", now).is_err());
    }
}
