//! Connect Broker › Polymarket › Live or Demo: the wallet form. Polymarket
//! has no API key to connect with: the wallet's private key signs every
//! order, the signature type and funder say how the wallet holds its funds,
//! and the CLOB API credentials are derived from the wallet unless given.
//!
//! Only what is not secret is kept when the form is shown again: the
//! private key, the API secret and the passphrase are never put in a page.

use atomik_broker::Environment;

use crate::connections::SIGNATURE_TYPE_HELP;

pub struct SignatureTypeOption {
    pub value: String,
    pub name: &'static str,
    pub help: &'static str,
    pub selected: bool,
}

pub struct WalletForm {
    pub environment: &'static str,
    pub env_label: &'static str,
    pub signature_type: String,
    pub funder: String,
    /// The API key (an id, not secret) as typed; its secret and passphrase
    /// are typed again.
    pub api_key: String,
    pub types: Vec<SignatureTypeOption>,
}

impl WalletForm {
    /// The form as first shown for `env`: EOA, nothing typed.
    pub fn defaults(env: Environment) -> WalletForm {
        WalletForm::typed(env, "0", "", "")
    }

    /// The form with what the user typed (except the secret fields).
    pub fn typed(
        env: Environment,
        signature_type: &str,
        funder: &str,
        api_key: &str,
    ) -> WalletForm {
        let signature_type = signature_type.trim().to_string();
        WalletForm {
            environment: env.key(),
            env_label: if env == Environment::Live {
                "Live"
            } else {
                "Demo"
            },
            types: SIGNATURE_TYPE_HELP
                .iter()
                .map(|(n, name, help)| SignatureTypeOption {
                    value: n.to_string(),
                    name,
                    help,
                    selected: n.to_string() == signature_type,
                })
                .collect(),
            signature_type,
            funder: funder.trim().to_string(),
            api_key: api_key.trim().to_string(),
        }
    }
}
