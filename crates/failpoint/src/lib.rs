//! Named crash points. A test sets `ATOMIK_FAILPOINTS` on a child process,
//! e.g. `after_sending=abort` or `after_sending=abort@3,token_renewal=abort`
//! (`@N`: on the Nth hit of that point, counted from 1), and the process
//! calls [`std::process::abort`] there — a crash like SIGKILL, no cleanup,
//! no flush — so the test can check what survives.
//!
//! The variable is read and parsed once ([`OnceLock`]); when it is unset a
//! [`hit`] costs one `OnceLock` read and an empty-slice check. [`init`]
//! validates it at start-up (call it first in `main`): a typo or an unknown
//! point is an error there, never a silently dead failpoint.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable read by [`init`] and [`hit`].
pub const ENV: &str = "ATOMIK_FAILPOINTS";

/// Every point compiled into atomik. A name not listed here is refused.
pub const POINTS: &[&str] = &[
    "after_signal_commit",
    "after_sending",
    "after_broker_answer",
    "token_renewal",
    "key_rotation_mid_batch",
];

struct Point {
    name: &'static str,
    /// Abort on this hit (1 = the first).
    at: u64,
    hits: AtomicU64,
}

static ACTIVE: OnceLock<Result<Vec<Point>, String>> = OnceLock::new();

fn active() -> &'static Result<Vec<Point>, String> {
    ACTIVE.get_or_init(|| match std::env::var(ENV) {
        Ok(spec) => parse(&spec),
        Err(std::env::VarError::NotPresent) => Ok(Vec::new()),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{ENV} is not valid UTF-8")),
    })
}

/// Validate `ATOMIK_FAILPOINTS`; the error says what is wrong and what is
/// accepted. Call once at start-up and exit non-zero on an error.
pub fn init() -> Result<(), String> {
    active().as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Pass the point `name`: aborts the process if it is configured to (and
/// this is the configured hit). A no-op otherwise.
#[inline]
pub fn hit(name: &str) {
    let Ok(points) = active() else { return };
    if points.is_empty() {
        return;
    }
    for p in points.iter().filter(|p| p.name == name) {
        if p.hits.fetch_add(1, Ordering::Relaxed) + 1 == p.at {
            eprintln!("failpoint {name}: abort (hit {})", p.at);
            std::process::abort();
        }
    }
}

fn parse(spec: &str) -> Result<Vec<Point>, String> {
    let usage = || {
        format!(
            "expected comma-separated `name=abort` or `name=abort@N` (N ≥ 1); names: {}",
            POINTS.join(", ")
        )
    };
    let mut points = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, action) = item
            .split_once('=')
            .ok_or_else(|| format!("{ENV}: `{item}` has no action; {}", usage()))?;
        let name = POINTS
            .iter()
            .copied()
            .find(|p| *p == name.trim())
            .ok_or_else(|| format!("{ENV}: unknown failpoint `{}`; {}", name.trim(), usage()))?;
        let at = match action.trim().split_once('@') {
            None if action.trim() == "abort" => 1,
            Some(("abort", n)) => match n.parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(format!(
                        "{ENV}: `{item}`: bad hit number `{n}`; {}",
                        usage()
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "{ENV}: `{item}`: unknown action `{}`; {}",
                    action.trim(),
                    usage()
                ));
            }
        };
        points.push(Point {
            name,
            at,
            hits: AtomicU64::new(0),
        });
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_and_hit_numbers() {
        let p = parse("after_sending=abort, token_renewal=abort@3,").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name, p[0].at), ("after_sending", 1));
        assert_eq!((p[1].name, p[1].at), ("token_renewal", 3));
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_syntax_names_the_problem() {
        for (spec, says) in [
            ("after_sending", "has no action"),
            ("nope=abort", "unknown failpoint `nope`"),
            ("after_sending=panic", "unknown action `panic`"),
            ("after_sending=abort@0", "bad hit number `0`"),
            ("after_sending=abort@x", "bad hit number `x`"),
        ] {
            let err = parse(spec).err().unwrap();
            assert!(err.contains(says), "{spec}: {err}");
            assert!(
                err.contains("after_signal_commit"),
                "lists the names: {err}"
            );
        }
    }
}
