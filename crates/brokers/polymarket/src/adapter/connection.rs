//! Test Connection and the funder's positions.

use atomik_broker::{Balance, BrokerAccountInfo, BrokerError, ConnectionReport, Position, Session};
use reqwest::Method;
use serde_json::Value;

use super::Polymarket;
use super::wire::{DataPosition, is_positive_integer, units};
use crate::funder;
use crate::http::Effect;
use crate::markets::decimal;

impl Polymarket {
    /// Signer and funder, the API version, the API credentials (given ones
    /// checked, else derived), collateral balance and allowance, and
    /// closed-only mode.
    pub(super) async fn report(&self, session: &Session) -> Result<ConnectionReport, BrokerError> {
        let account = self.account(session)?;
        let version = self.check_version().await?;
        let credentials = self.credentials(&account).await?;
        // Given credentials must belong to this wallet: the key list is
        // answered only to the key's own address.
        let keys: Value = self
            .l2(&account, Method::GET, "/auth/api-keys", &[], None, Effect::Read)
            .await
            .map_err(|e| match (e, account.given.is_some()) {
                (BrokerError::AuthExpired(_), true) => BrokerError::Misconfigured(format!(
                    "the API credentials do not belong to the wallet {} (or were deleted): leave them empty and atomik derives the wallet's own",
                    account.signer().to_checksum(None)
                )),
                (e, _) => e,
            })?;
        let listed = keys
            .get("apiKeys")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|k| k.as_str() == Some(credentials.api_key())));
        if !listed {
            return Err(BrokerError::Misconfigured(format!(
                "the API key is not one of the wallet {}'s keys",
                account.signer().to_checksum(None)
            )));
        }
        let closed_only = self
            .l2::<Value>(
                &account,
                Method::GET,
                "/auth/ban-status/closed-only",
                &[],
                None,
                Effect::Read,
            )
            .await?
            .get("closed_only")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let collateral = self.balance(&account, None).await?;
        let balance = units(&collateral.balance).unwrap_or_default();
        let unapproved = collateral
            .allowances
            .values()
            .filter(|a| !is_positive_integer(a))
            .count();
        let funds = account.funds().to_checksum(None);
        let mut notes = vec![
            format!("Signer {}.", account.signer().to_checksum(None)),
            format!(
                "Funder {funds} ({}).",
                funder::signature_type_name(account.signature_type)
            ),
            format!("CLOB API version {version} (V2 signed orders)."),
            format!(
                "API credentials: {}.",
                if account.given.is_some() {
                    "given, and they belong to this wallet"
                } else {
                    "derived from the wallet"
                }
            ),
            format!(
                "Collateral allowance: {}.",
                if unapproved == 0 && !collateral.allowances.is_empty() {
                    "approved for the exchanges".to_string()
                } else {
                    format!(
                        "{unapproved} exchange contract(s) not approved: approve them on polymarket.com before trading"
                    )
                }
            ),
        ];
        if closed_only {
            notes.push(
                "This account is in closed-only mode: Polymarket lets it only close positions."
                    .into(),
            );
        }
        Ok(ConnectionReport {
            user_id: funds.clone(),
            user_name: format!("Polymarket wallet {funds}"),
            accounts: vec![BrokerAccountInfo {
                id: funds.clone(),
                name: funds,
                active: true,
            }],
            balances: vec![Balance {
                currency: "pUSD".into(),
                amount: balance,
            }],
            can_trade: !closed_only,
            notes,
        })
    }

    /// The funder's outcome-token positions (the Data API's positions).
    pub(super) async fn funder_positions(
        &self,
        session: &Session,
    ) -> Result<Vec<Position>, BrokerError> {
        let account = self.account(session)?;
        let user = account.funds().to_checksum(None);
        let rows: Vec<DataPosition> = self
            .http
            .data("/positions", &[("user", &user), ("sizeThreshold", "0")])
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|p| {
                let size = decimal(&p.size)?;
                let symbol = match (&p.slug, &p.outcome) {
                    (Some(s), Some(o)) => {
                        format!("{s}:{} [token {}]", o.to_ascii_uppercase(), p.asset)
                    }
                    _ => p.asset.clone(),
                };
                Some(Position {
                    symbol,
                    quantity: size,
                    average_price: p.avg_price.as_ref().and_then(decimal),
                })
            })
            .filter(|p| !p.quantity.is_zero())
            .collect())
    }
}
