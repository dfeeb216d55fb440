//! Plans, their limits, subscription statuses and the entitlement rules
//! (SPEC §1). The plan *values* are data (seeded into the database by
//! migration); this module only knows their shape and how to reason about them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A plan's identifier as stored in the database (`plans.id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanId(pub String);

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A countable thing a plan limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    BrokerAccounts,
    ActiveWebhooks,
    ActiveStrategies,
    CopyGroups,
}

impl Resource {
    pub const ALL: [Resource; 4] = [
        Resource::BrokerAccounts,
        Resource::ActiveWebhooks,
        Resource::ActiveStrategies,
        Resource::CopyGroups,
    ];

    /// The stable key used in the database and the API.
    pub fn key(self) -> &'static str {
        match self {
            Resource::BrokerAccounts => "broker_accounts",
            Resource::ActiveWebhooks => "active_webhooks",
            Resource::ActiveStrategies => "active_strategies",
            Resource::CopyGroups => "copy_groups",
        }
    }

    /// What a person calls it, plural ("connected broker accounts").
    pub fn label(self) -> &'static str {
        match self {
            Resource::BrokerAccounts => "connected broker accounts",
            Resource::ActiveWebhooks => "active webhooks",
            Resource::ActiveStrategies => "active strategies",
            Resource::CopyGroups => "copy-trading groups",
        }
    }
}

impl FromStr for Resource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Resource::ALL
            .into_iter()
            .find(|r| r.key() == s)
            .ok_or_else(|| format!("unknown resource {s:?}"))
    }
}

/// A numeric limit, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Limit {
    Finite(u32),
    Unlimited,
}

impl Limit {
    pub fn from_db(value: Option<i64>) -> Self {
        match value {
            Some(n) => Limit::Finite(n.clamp(0, u32::MAX as i64) as u32),
            None => Limit::Unlimited,
        }
    }

    pub fn allows(self, used: u32) -> bool {
        match self {
            Limit::Finite(max) => used < max,
            Limit::Unlimited => true,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Finite(n) => write!(f, "{n}"),
            Limit::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// One row of the plan table in SPEC §1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub name: String,
    pub price_cents_per_month: u32,
    pub broker_accounts: Limit,
    pub active_webhooks: Limit,
    pub active_strategies: Limit,
    pub copy_groups: Limit,
    pub followers_per_group: Limit,
    pub trade_execution: bool,
    /// The most a webhook of this plan may be set to accept.
    pub webhook_rate_ceiling: WebhookRate,
}

/// A webhook rate limit: sustained requests per second and the burst a
/// token bucket allows on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRate {
    pub per_second: u32,
    pub burst: u32,
}

impl WebhookRate {
    /// SPEC §3's 10 requests per second, with room for a bar-close burst.
    pub const DEFAULT: WebhookRate = WebhookRate {
        per_second: 10,
        burst: 50,
    };

    /// This rate, held within `ceiling`.
    pub fn within(self, ceiling: WebhookRate) -> WebhookRate {
        WebhookRate {
            per_second: self.per_second.min(ceiling.per_second),
            burst: self.burst.min(ceiling.burst),
        }
    }
}

impl Plan {
    pub fn limit(&self, resource: Resource) -> Limit {
        match resource {
            Resource::BrokerAccounts => self.broker_accounts,
            Resource::ActiveWebhooks => self.active_webhooks,
            Resource::ActiveStrategies => self.active_strategies,
            Resource::CopyGroups => self.copy_groups,
        }
    }

    /// The cheapest plan in `catalog` that allows more of `resource` than this one.
    pub fn upgrade_for<'a>(&self, resource: Resource, catalog: &'a [Plan]) -> Option<&'a Plan> {
        let more = |p: &Plan| match (self.limit(resource), p.limit(resource)) {
            (Limit::Unlimited, _) => false,
            (Limit::Finite(_), Limit::Unlimited) => true,
            (Limit::Finite(mine), Limit::Finite(theirs)) => theirs > mine,
        };
        catalog
            .iter()
            .filter(|p| more(p))
            .min_by_key(|p| p.price_cents_per_month)
    }

    /// The refusal for "one more `resource`" on this plan, with the upgrade path.
    pub fn limit_reached(&self, resource: Resource, catalog: &[Plan]) -> LimitReached {
        LimitReached {
            resource,
            plan_name: self.name.clone(),
            limit: self.limit(resource),
            upgrade_to: self
                .upgrade_for(resource, catalog)
                .map(|p| (p.name.clone(), p.limit(resource))),
        }
    }
}

/// Subscription status (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    PastDue,
    Suspended,
    Canceled,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 5] = [
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Suspended,
        SubscriptionStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Suspended => "suspended",
            SubscriptionStatus::Canceled => "canceled",
        }
    }

    /// Only trialing, active and past-due (grace period) subscriptions may trade.
    pub fn may_execute(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Trialing | SubscriptionStatus::Active | SubscriptionStatus::PastDue
        )
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubscriptionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubscriptionStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown subscription status {s:?}: use trialing, active, past_due, suspended or canceled")
            })
    }
}

/// The status that rules right now: a trial past its end no longer counts as
/// trialing and is treated as suspended until the operator (or a payment
/// provider) sets another status.
pub fn effective_status(
    status: SubscriptionStatus,
    trial_ends_at_ms: Option<i64>,
    now_ms: i64,
) -> SubscriptionStatus {
    match (status, trial_ends_at_ms) {
        (SubscriptionStatus::Trialing, Some(end)) if end <= now_ms => SubscriptionStatus::Suspended,
        _ => status,
    }
}

/// Why a user may not execute trades right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutionDenied {
    #[error("the {plan} plan does not include trade execution; upgrade to a paid plan to trade")]
    PlanWithoutExecution { plan: String },
    #[error(
        "your subscription is {status}; only trialing, active or past-due subscriptions may execute trades"
    )]
    SubscriptionInactive { status: SubscriptionStatus },
}

/// The entitlement rule: may a user on `plan` with `status` execute trades?
pub fn may_execute(plan: &Plan, status: SubscriptionStatus) -> Result<(), ExecutionDenied> {
    if !plan.trade_execution {
        return Err(ExecutionDenied::PlanWithoutExecution {
            plan: plan.name.clone(),
        });
    }
    if !status.may_execute() {
        return Err(ExecutionDenied::SubscriptionInactive { status });
    }
    Ok(())
}

/// A plan limit was reached. Its message names the limit, the plan and the
/// upgrade path; the broker-account case reads "Account limit reached" (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitReached {
    pub resource: Resource,
    pub plan_name: String,
    pub limit: Limit,
    /// The cheapest plan with a higher limit, and that limit.
    pub upgrade_to: Option<(String, Limit)>,
}

impl LimitReached {
    pub fn code(&self) -> &'static str {
        match self.resource {
            Resource::BrokerAccounts => "account_limit_reached",
            _ => "plan_limit_reached",
        }
    }
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = match self.resource {
            Resource::BrokerAccounts => "Account limit reached".to_string(),
            other => {
                let label = other.label();
                let mut s = label[..1].to_uppercase();
                s.push_str(&label[1..]);
                format!("{s} limit reached")
            }
        };
        write!(
            f,
            "{head}: the {} plan allows {} {}.",
            self.plan_name,
            self.limit,
            self.resource.label()
        )?;
        match &self.upgrade_to {
            Some((plan, limit)) => write!(
                f,
                " Upgrade to {plan} for {limit}: Settings › Plan shows your usage, and your operator changes plans."
            ),
            None => Ok(()),
        }
    }
}

impl std::error::Error for LimitReached {}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(id: &str, price: u32, accounts: Limit, exec: bool) -> Plan {
        Plan {
            id: PlanId(id.into()),
            name: id.to_string(),
            price_cents_per_month: price,
            broker_accounts: accounts,
            active_webhooks: accounts,
            active_strategies: accounts,
            copy_groups: accounts,
            followers_per_group: accounts,
            trade_execution: exec,
            webhook_rate_ceiling: WebhookRate {
                per_second: 50,
                burst: 200,
            },
        }
    }

    fn catalog() -> Vec<Plan> {
        vec![
            plan("Free", 0, Limit::Finite(0), false),
            plan("Starter", 4900, Limit::Finite(2), true),
            plan("Trader", 12900, Limit::Finite(10), true),
            plan("Unlimited", 24900, Limit::Unlimited, true),
        ]
    }

    #[test]
    fn account_limit_message_names_plan_number_and_upgrade() {
        let cat = catalog();
        let err = cat[1].limit_reached(Resource::BrokerAccounts, &cat);
        assert_eq!(
            err.to_string(),
            "Account limit reached: the Starter plan allows 2 connected broker accounts. Upgrade to Trader for 10: Settings › Plan shows your usage, and your operator changes plans."
        );
        assert_eq!(err.code(), "account_limit_reached");
    }

    #[test]
    fn other_limits_say_which_limit_and_top_plan_has_no_upgrade() {
        let cat = catalog();
        let err = cat[2].limit_reached(Resource::ActiveWebhooks, &cat);
        assert!(
            err.to_string()
                .starts_with("Active webhooks limit reached: the Trader plan allows 10")
        );
        assert!(
            err.to_string()
                .contains("Upgrade to Unlimited for unlimited: Settings › Plan")
        );
        let top = cat[3].limit_reached(Resource::CopyGroups, &cat);
        assert_eq!(top.upgrade_to, None);
    }

    #[test]
    fn execution_needs_plan_and_live_subscription() {
        let cat = catalog();
        assert!(matches!(
            may_execute(&cat[0], SubscriptionStatus::Active),
            Err(ExecutionDenied::PlanWithoutExecution { .. })
        ));
        for st in SubscriptionStatus::ALL {
            let allowed = may_execute(&cat[1], st).is_ok();
            let expected = matches!(
                st,
                SubscriptionStatus::Trialing
                    | SubscriptionStatus::Active
                    | SubscriptionStatus::PastDue
            );
            assert_eq!(allowed, expected, "{st}");
        }
    }

    #[test]
    fn an_expired_trial_stops_execution() {
        let st = effective_status(SubscriptionStatus::Trialing, Some(1_000), 999);
        assert_eq!(st, SubscriptionStatus::Trialing);
        let st = effective_status(SubscriptionStatus::Trialing, Some(1_000), 1_000);
        assert_eq!(st, SubscriptionStatus::Suspended);
        assert_eq!(
            effective_status(SubscriptionStatus::Active, Some(0), 5),
            SubscriptionStatus::Active
        );
    }

    #[test]
    fn limits_allow_strictly_below() {
        assert!(Limit::Finite(2).allows(1));
        assert!(!Limit::Finite(2).allows(2));
        assert!(!Limit::Finite(0).allows(0));
        assert!(Limit::Unlimited.allows(u32::MAX));
    }

    #[test]
    fn status_and_resource_keys_round_trip() {
        for st in SubscriptionStatus::ALL {
            assert_eq!(st.as_str().parse::<SubscriptionStatus>().unwrap(), st);
        }
        for r in Resource::ALL {
            assert_eq!(r.key().parse::<Resource>().unwrap(), r);
        }
        assert!(
            "gold"
                .parse::<SubscriptionStatus>()
                .unwrap_err()
                .contains("use trialing")
        );
    }
}
