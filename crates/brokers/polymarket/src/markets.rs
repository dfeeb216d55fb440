//! Markets as traders name them: a token id, or a market slug with an
//! outcome (`will-x-happen:YES`), resolved to the outcome token, the
//! market's tick size and minimum size, and its neg-risk flag (which decides
//! the exchange contract orders are signed for).
//!
//! A slug is looked up in the market-data API (`GET /markets?slug=`); a token
//! id in the CLOB (`/markets-by-token/{id}`). Either way the CLOB's own
//! `/clob-markets/{condition}` gives the trading rules, as the official V2
//! client reads them before it signs.

use std::collections::HashMap;
use std::sync::Mutex;

use atomik_broker::BrokerError;
use reqwest::Method;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::U256;
use crate::amounts::{MarketRules, TickSize};
use crate::http::{Auth, Effect, Http};

/// One outcome token of a market, with what trading it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub token_id: U256,
    pub outcome: String,
    pub condition_id: String,
    /// The market's slug where it was named by one.
    pub slug: Option<String>,
    pub rules: MarketRules,
    pub neg_risk: bool,
}

impl Market {
    /// What atomik calls it: `slug:OUTCOME [token …]`, or the token id.
    pub fn symbol(&self) -> String {
        match &self.slug {
            Some(slug) => format!(
                "{slug}:{} [token {}]",
                self.outcome.to_ascii_uppercase(),
                self.token_id
            ),
            None => self.token_id.to_string(),
        }
    }
}

/// What a strategy names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Token(U256),
    Outcome { slug: String, outcome: String },
}

/// `123…` (a decimal token id), `slug:OUTCOME`, or what [`Market::symbol`]
/// wrote (`slug:OUTCOME [token 123…]`, read as its token).
pub fn parse(text: &str) -> Result<Named, BrokerError> {
    let t = text.trim();
    if let Some(token) = t
        .strip_suffix(']')
        .and_then(|s| s.rsplit_once("[token "))
        .map(|(_, id)| id)
    {
        return token_id(token).map(Named::Token);
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        return token_id(t).map(Named::Token);
    }
    match t.rsplit_once(':') {
        Some((slug, outcome))
            if !slug.is_empty()
                && !outcome.trim().is_empty()
                && slug
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(Named::Outcome {
                slug: slug.to_ascii_lowercase(),
                outcome: outcome.trim().to_string(),
            })
        }
        _ => Err(BrokerError::Rejected {
            code: None,
            reason: format!(
                "{t:?} names no Polymarket market: use the market's slug and an outcome \
                 (e.g. will-it-rain-tomorrow:YES) or the outcome's token id"
            ),
        }),
    }
}

fn token_id(text: &str) -> Result<U256, BrokerError> {
    text.parse::<U256>().map_err(|_| BrokerError::Rejected {
        code: None,
        reason: format!(
            "{text:?} is not a Polymarket token id (a decimal number of up to 78 digits)"
        ),
    })
}

#[derive(Deserialize)]
struct ByToken {
    condition_id: String,
}

/// `/clob-markets/{condition}` in its short wire keys.
#[derive(Deserialize)]
struct ClobMarket {
    #[serde(default)]
    t: Vec<ClobToken>,
    mts: Value,
    #[serde(default)]
    mos: Option<Value>,
    #[serde(default)]
    nr: bool,
}

#[derive(Deserialize)]
struct ClobToken {
    t: Value,
    o: String,
}

/// A Gamma market (only what resolution reads). `outcomes` and
/// `clobTokenIds` are JSON arrays encoded as strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GammaMarket {
    condition_id: String,
    slug: String,
    outcomes: String,
    clob_token_ids: String,
    #[serde(default)]
    closed: bool,
}

/// A decimal as the CLOB writes it: a JSON number or a string.
pub fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Resolved markets, for `ttl_ms`.
pub struct Markets {
    ttl_ms: i64,
    cache: Mutex<HashMap<Named, (Market, i64)>>,
}

impl std::hash::Hash for Named {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Named::Token(t) => t.hash(state),
            Named::Outcome { slug, outcome } => {
                slug.hash(state);
                outcome.to_ascii_lowercase().hash(state);
            }
        }
    }
}

impl Markets {
    pub fn new(ttl_ms: i64) -> Self {
        Markets {
            ttl_ms,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn resolve(
        &self,
        http: &Http,
        text: &str,
        now_ms: i64,
    ) -> Result<Market, BrokerError> {
        let named = parse(text)?;
        if let Some((m, at)) = self.cache.lock().expect("markets").get(&named)
            && now_ms - at < self.ttl_ms
        {
            return Ok(m.clone());
        }
        let market = match &named {
            Named::Token(token) => {
                let path = format!("/markets-by-token/{token}");
                let by: ByToken = http
                    .clob(Method::GET, &path, &[], None, Auth::None, Effect::Read)
                    .await
                    .map_err(|e| {
                        not_listed(e, &format!("no Polymarket market trades token {token}"))
                    })?;
                rules(http, &by.condition_id, None, |t| t == *token).await?
            }
            Named::Outcome { slug, outcome } => {
                let found: Vec<GammaMarket> = http.gamma("/markets", &[("slug", slug)]).await?;
                let Some(g) = found
                    .into_iter()
                    .find(|g| g.slug.eq_ignore_ascii_case(slug))
                else {
                    return Err(BrokerError::Rejected {
                        code: None,
                        reason: format!(
                            "Polymarket has no market with the slug {slug:?}: copy it from the market's URL (polymarket.com/event/…/<slug>)"
                        ),
                    });
                };
                if g.closed {
                    return Err(BrokerError::Rejected {
                        code: None,
                        reason: format!(
                            "the Polymarket market {slug:?} is closed: it takes no orders"
                        ),
                    });
                }
                let outcomes: Vec<String> = serde_json::from_str(&g.outcomes).unwrap_or_default();
                let tokens: Vec<String> =
                    serde_json::from_str(&g.clob_token_ids).unwrap_or_default();
                let Some(token) = outcomes
                    .iter()
                    .position(|o| o.eq_ignore_ascii_case(outcome))
                    .and_then(|i| tokens.get(i))
                    .and_then(|t| t.parse::<U256>().ok())
                else {
                    return Err(BrokerError::Rejected {
                        code: None,
                        reason: format!(
                            "the market {slug:?} has no outcome {outcome:?}: its outcomes are {}",
                            outcomes.join(", ")
                        ),
                    });
                };
                rules(http, &g.condition_id, Some(slug), |t| t == token).await?
            }
        };
        self.cache
            .lock()
            .expect("markets")
            .insert(named, (market.clone(), now_ms));
        Ok(market)
    }
}

/// The CLOB's trading rules for the market's token that `is_ours`.
async fn rules(
    http: &Http,
    condition_id: &str,
    slug: Option<&str>,
    is_ours: impl Fn(U256) -> bool,
) -> Result<Market, BrokerError> {
    let path = format!("/clob-markets/{condition_id}");
    let m: ClobMarket = http
        .clob(Method::GET, &path, &[], None, Auth::None, Effect::Read)
        .await
        .map_err(|e| {
            not_listed(
                e,
                &format!("the CLOB does not trade the market {condition_id}"),
            )
        })?;
    let unreadable = |what: &str| {
        BrokerError::NotSent(format!(
            "Polymarket's market {condition_id} has an unreadable {what}"
        ))
    };
    let tick = decimal(&m.mts)
        .ok_or_else(|| unreadable("tick size"))
        .and_then(|t| TickSize::from_decimal(t).map_err(|e| BrokerError::NotSent(e.to_string())))?;
    let min_size = m.mos.as_ref().and_then(decimal).unwrap_or_default();
    let (token_id, outcome) =
        m.t.iter()
            .find_map(|t| {
                let id = text(&t.t)?.parse::<U256>().ok()?;
                is_ours(id).then(|| (id, t.o.clone()))
            })
            .ok_or_else(|| unreadable("token list"))?;
    Ok(Market {
        token_id,
        outcome,
        condition_id: condition_id.to_string(),
        slug: slug.map(str::to_string),
        rules: MarketRules { tick, min_size },
        neg_risk: m.nr,
    })
}

fn not_listed(e: BrokerError, what: &str) -> BrokerError {
    match e {
        BrokerError::Rejected { code, .. } if code.as_deref() == Some("404") => {
            BrokerError::Rejected {
                code,
                reason: what.to_string(),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(
            parse("Will-It-Rain:YES").unwrap(),
            Named::Outcome {
                slug: "will-it-rain".into(),
                outcome: "YES".into()
            }
        );
        assert_eq!(parse(" 123 ").unwrap(), Named::Token(U256::from(123)));
        assert_eq!(
            parse("will-it-rain:YES [token 77]").unwrap(),
            Named::Token(U256::from(77))
        );
        for bad in [
            "",
            "will it rain",
            "a b:YES",
            ":YES",
            "slug:",
            "9".repeat(90).as_str(),
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
