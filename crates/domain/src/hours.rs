//! Trading-hours windows: `HH:MM-HH:MM` in UTC; a window may wrap past
//! midnight (`22:00-06:00`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradingHours {
    /// Minutes after midnight UTC, start inclusive, end exclusive.
    pub start: u16,
    pub end: u16,
}

fn minutes(hhmm: &str) -> Option<u16> {
    let (h, m) = hhmm.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    // Lazily: `then_some` would compute `h * 60` for any hour and overflow
    // (fuzz/regressions/strategy_rules).
    (h < 24 && m < 60 && m.to_string().len() <= 2).then(|| h * 60 + m)
}

impl TradingHours {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid trading hours {s:?}: use HH:MM-HH:MM in UTC, e.g. 13:30-20:00");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (start, end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if start == end {
            return Err(bad());
        }
        Ok(TradingHours { start, end })
    }

    /// The stored spelling, `HH:MM-HH:MM` (read back by [`Self::parse`]).
    pub fn stored(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }

    /// Is `unix_ms` inside the window?
    pub fn contains(&self, unix_ms: i64) -> bool {
        let minute = ((unix_ms.rem_euclid(86_400_000)) / 60_000) as u16;
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

impl std::fmt::Display for TradingHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} UTC", self.stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn windows_parse_and_contain() {
        let day = TradingHours::parse("13:30-20:00").unwrap();
        assert!(day.contains(14 * H));
        assert!(!day.contains(20 * H));
        assert!(day.contains(13 * H + 30 * 60_000));
        assert!(!day.contains(13 * H + 29 * 60_000));
        let night = TradingHours::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * H) && night.contains(2 * H) && !night.contains(12 * H));
        assert_eq!(night.to_string(), "22:00-06:00 UTC");
        for bad in [
            "",
            "9-17",
            "25:00-26:00",
            "10:00-10:00",
            "10:60-11:00",
            "2626:30-10:00",
            "10:00-65535:00",
        ] {
            assert!(TradingHours::parse(bad).is_err(), "{bad}");
        }
    }
}
