//! Connect Broker › Interactive Brokers › Paper or Live: the Gateway form.
//! IB's TWS API has no key: atomik needs where IB Gateway / TWS listens, a
//! client id and the account to trade. Defaults follow the environment
//! (IB Gateway 4002 paper / 4001 live; TWS 7497 / 7496), or the built-in
//! simulator's address in the demo.

use atomik_broker::{BrokerKind, Environment};

use crate::AppState;

#[derive(Clone)]
pub struct GatewayForm {
    pub environment: &'static str,
    pub env_label: &'static str,
    pub host: String,
    pub port: String,
    pub client_id: String,
    pub account_id: String,
    /// `(port, what listens there)`, offered next to the port field.
    pub ports: Vec<(String, &'static str)>,
}

fn ports(env: Environment) -> [(u16, &'static str); 2] {
    match env {
        Environment::Live => [(4001, "IB Gateway, live"), (7496, "TWS, live")],
        _ => [(4002, "IB Gateway, paper"), (7497, "TWS, paper")],
    }
}

/// A client id for this user that other programs rarely use (they tend to
/// take 0–10): stable, so a second account on the same Gateway shares
/// atomik's connection.
pub fn proposed_client_id(user_id: &str) -> i32 {
    let hash = user_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    1000 + (hash % 9000) as i32
}

impl GatewayForm {
    /// The form as first shown for `env`.
    pub fn defaults(state: &AppState, user_id: &str, env: Environment) -> GatewayForm {
        let gateway = state.brokers().gateway(BrokerKind::InteractiveBrokers, env);
        let offered = ports(env);
        let mut form = GatewayForm::typed(
            env,
            gateway.map_or("127.0.0.1", |(h, _)| h),
            &gateway.map_or(offered[0].0, |(_, p)| p).to_string(),
            &proposed_client_id(user_id).to_string(),
            "",
        );
        if let Some((_, port)) = gateway {
            form.ports
                .insert(0, (port.to_string(), "atomik's IB simulator"));
        }
        form
    }

    /// The form with what the user typed, after Test Connection or an error.
    pub fn typed(
        env: Environment,
        host: &str,
        port: &str,
        client_id: &str,
        account_id: &str,
    ) -> GatewayForm {
        GatewayForm {
            environment: env.key(),
            env_label: if env == Environment::Live {
                "Live"
            } else {
                "Paper"
            },
            host: host.to_string(),
            port: port.to_string(),
            client_id: client_id.to_string(),
            account_id: account_id.to_string(),
            ports: ports(env)
                .into_iter()
                .map(|(p, what)| (p.to_string(), what))
                .collect(),
        }
    }
}
