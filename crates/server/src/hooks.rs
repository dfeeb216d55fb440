//! Webhook management shared by the dashboard and the API: create (token and
//! secret shown once), rotate with overlap, pause/resume, delete, IP allow-list.

use std::net::IpAddr;

use atomik_storage::webhooks::{self, NewWebhook, Webhook};

use crate::AppState;
use crate::auth::tokens::random_token;
use crate::error::ApiError;

/// TradingView's published webhook sender addresses (its alerts help page).
pub const TRADINGVIEW_IPS: &[&str] = &[
    "52.89.214.238",
    "34.212.75.30",
    "54.218.53.128",
    "52.32.178.7",
];

/// Default overlap during which a rotated-out secret keeps working.
pub const DEFAULT_OVERLAP_HOURS: i64 = 24;

/// A webhook's URL (relative to the server).
pub fn path(w: &Webhook) -> String {
    format!("/api/v1/webhooks/{}", w.token)
}

fn check_name(name: &str, description: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "Webhook name must be 1–100 characters.",
        ));
    }
    if description.chars().count() > 500 {
        return Err(ApiError::unprocessable(
            "Description must be at most 500 characters.",
        ));
    }
    Ok(())
}

/// Create a webhook; returns it and its secret (the only time it is shown).
pub async fn create(
    state: &AppState,
    user_id: &str,
    name: &str,
    description: &str,
) -> Result<(Webhook, String), ApiError> {
    check_name(name, description)?;
    let token = random_token("wh_");
    let secret = random_token("whs_");
    let digest = state.webhook_key().digest(&secret);
    let hook = webhooks::create(
        state.db(),
        NewWebhook {
            user_id,
            name: name.trim(),
            description: description.trim(),
            token: &token,
            secret_digest: &digest,
        },
        state.now_ms(),
    )
    .await?;
    Ok((hook, secret))
}

/// Rotate the secret; the old one keeps working for `overlap_hours`.
/// Returns the new secret and when the old one stops working.
pub async fn rotate(
    state: &AppState,
    user_id: &str,
    id: &str,
    overlap_hours: Option<i64>,
) -> Result<(String, i64), ApiError> {
    let hours = overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if !(0..=24 * 30).contains(&hours) {
        return Err(ApiError::unprocessable(
            "overlap_hours must be between 0 and 720.",
        ));
    }
    let secret = random_token("whs_");
    let now = state.now_ms();
    let old_until = now + hours * 3_600_000;
    webhooks::rotate_secret(
        state.db(),
        user_id,
        id,
        &state.webhook_key().digest(&secret),
        old_until,
        now,
    )
    .await?;
    Ok((secret, old_until))
}

/// A webhook's own rate limit, checked against its plan's ceiling: both
/// given (`per_second` ≥ 1, `burst` ≥ `per_second`), or neither (the default).
pub fn check_rate(
    per_second: Option<u32>,
    burst: Option<u32>,
    ceiling: atomik_domain::WebhookRate,
) -> Result<Option<atomik_domain::WebhookRate>, ApiError> {
    let (per_second, burst) = match (per_second, burst) {
        (None, None) => return Ok(None),
        (Some(p), Some(b)) => (p, b),
        _ => {
            return Err(ApiError::unprocessable(
                "Give both per_second and burst, or neither to use the default (10/s, burst 50).",
            ));
        }
    };
    if per_second == 0 || per_second > ceiling.per_second {
        return Err(ApiError::unprocessable(format!(
            "per_second must be between 1 and {} (your plan's ceiling).",
            ceiling.per_second
        )));
    }
    if burst < per_second || burst > ceiling.burst {
        return Err(ApiError::unprocessable(format!(
            "burst must be between per_second ({per_second}) and {} (your plan's ceiling).",
            ceiling.burst
        )));
    }
    Ok(Some(atomik_domain::WebhookRate { per_second, burst }))
}

/// Parse an allow-list: IPs or CIDR ranges, comma/space separated, or the
/// `tradingview` preset. Returns the normalized comma-separated list.
pub fn parse_allow_list(input: &str) -> Result<String, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for item in input
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if item.eq_ignore_ascii_case("tradingview") {
            out.extend(TRADINGVIEW_IPS.iter().map(|s| s.to_string()));
            continue;
        }
        let (addr, bits) = item
            .split_once('/')
            .map_or((item, None), |(a, b)| (a, Some(b)));
        let ip: IpAddr = addr.parse().map_err(|_| {
            ApiError::unprocessable(format!(
                "{item:?} is not an IP address or CIDR range (e.g. 52.89.214.238 or 10.0.0.0/8)"
            ))
        })?;
        if let Some(bits) = bits {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            match bits.parse::<u8>() {
                Ok(b) if b <= max => {}
                _ => {
                    return Err(ApiError::unprocessable(format!(
                        "{item:?} has an invalid prefix length (0–{max})"
                    )));
                }
            }
        }
        out.push(item.to_string());
    }
    out.dedup();
    Ok(out.join(","))
}

/// Is `ip` allowed by `list` (comma-separated IPs / CIDR ranges; empty = any)?
pub fn ip_allowed(list: &str, ip: IpAddr) -> bool {
    let entries: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    entries.is_empty() || entries.iter().any(|entry| in_range(entry, ip))
}

fn in_range(entry: &str, ip: IpAddr) -> bool {
    let (addr, bits) = entry
        .split_once('/')
        .map_or((entry, None), |(a, b)| (a, b.parse::<u32>().ok()));
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_match_addresses_and_ranges() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ip_allowed("", ip("1.2.3.4")));
        assert!(ip_allowed("10.0.0.0/8,52.89.214.238", ip("10.200.3.4")));
        assert!(ip_allowed("10.0.0.0/8,52.89.214.238", ip("52.89.214.238")));
        assert!(!ip_allowed("10.0.0.0/8,52.89.214.238", ip("11.0.0.1")));
        assert!(ip_allowed("::1", ip("::1")));
        assert!(!ip_allowed("127.0.0.1", ip("::1")));
    }

    #[test]
    fn allow_lists_parse_presets_and_refuse_garbage() {
        assert_eq!(parse_allow_list("").unwrap(), "");
        assert_eq!(
            parse_allow_list("tradingview").unwrap(),
            TRADINGVIEW_IPS.join(",")
        );
        assert_eq!(
            parse_allow_list("10.0.0.0/8, ::1").unwrap(),
            "10.0.0.0/8,::1"
        );
        assert!(
            parse_allow_list("10.0.0.0/33")
                .unwrap_err()
                .message
                .contains("prefix length")
        );
        assert!(
            parse_allow_list("example.com")
                .unwrap_err()
                .message
                .contains("not an IP address")
        );
    }
}
