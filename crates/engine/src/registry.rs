//! Which adapter serves which (broker, environment). Built by the binary,
//! the only place that knows every concrete adapter.

use std::collections::HashMap;
use std::sync::Arc;

use atomik_broker::{Broker, BrokerKind, Environment, OAuthConnector};

#[derive(Clone, Default)]
pub struct Brokers {
    adapters: HashMap<(BrokerKind, Environment), Arc<dyn Broker>>,
    oauth: HashMap<(BrokerKind, Environment), Arc<dyn OAuthConnector>>,
    /// What the connect page tells users about an environment (e.g. the
    /// built-in simulator's demo credentials).
    notes: HashMap<(BrokerKind, Environment), String>,
    /// Where a socket broker's gateway listens by default in an environment
    /// (the built-in IB simulator in the demo).
    gateways: HashMap<(BrokerKind, Environment), (String, u16)>,
}

impl Brokers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(
        &mut self,
        kind: BrokerKind,
        env: Environment,
        broker: Arc<dyn Broker>,
    ) -> &mut Self {
        self.adapters.insert((kind, env), broker);
        self
    }

    pub fn add_oauth(
        &mut self,
        kind: BrokerKind,
        env: Environment,
        connector: Arc<dyn OAuthConnector>,
    ) -> &mut Self {
        self.oauth.insert((kind, env), connector);
        self
    }

    pub fn add_note(&mut self, kind: BrokerKind, env: Environment, note: String) -> &mut Self {
        self.notes.insert((kind, env), note);
        self
    }

    pub fn add_gateway(
        &mut self,
        kind: BrokerKind,
        env: Environment,
        host: &str,
        port: u16,
    ) -> &mut Self {
        self.gateways.insert((kind, env), (host.to_string(), port));
        self
    }

    /// The default gateway address of a socket broker's environment.
    pub fn gateway(&self, kind: BrokerKind, env: Environment) -> Option<(&str, u16)> {
        self.gateways
            .get(&(kind, env))
            .map(|(h, p)| (h.as_str(), *p))
    }

    pub fn note(&self, kind: BrokerKind, env: Environment) -> Option<&str> {
        self.notes.get(&(kind, env)).map(String::as_str)
    }

    pub fn get(&self, kind: BrokerKind, env: Environment) -> Option<Arc<dyn Broker>> {
        self.adapters.get(&(kind, env)).cloned()
    }

    pub fn oauth(&self, kind: BrokerKind, env: Environment) -> Option<Arc<dyn OAuthConnector>> {
        self.oauth.get(&(kind, env)).cloned()
    }

    /// The adapter for a stored account's `broker` and `environment` keys.
    pub fn for_keys(&self, broker: &str, environment: &str) -> Option<Arc<dyn Broker>> {
        self.get(BrokerKind::parse(broker)?, Environment::parse(environment)?)
    }

    /// Environments configured for `kind`, in a stable order, Live last.
    pub fn environments(&self, kind: BrokerKind) -> Vec<Environment> {
        let mut envs: Vec<Environment> = self
            .adapters
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, e)| *e)
            .collect();
        // Practice environments first, so a form's default is never Live.
        envs.sort_by_key(|e| (*e == Environment::Live, e.key()));
        envs
    }
}
