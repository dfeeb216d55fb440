use std::time::Duration;

/// Every broker failure, in the terms the engine acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The request certainly did not reach the broker (connect refused, DNS,
    /// request built badly before sending). Safe to retry.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The broker refused: terminal. `reason` is the broker's own words.
    #[error("rejected by broker: {reason}")]
    Rejected {
        code: Option<String>,
        reason: String,
    },
    /// The request may have been executed (timeout, 5xx, dropped connection):
    /// settle it with `order_by_client_id`, never by resending.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// The credentials are expired or revoked: renew or reconnect.
    #[error("authorization expired or revoked: {0}")]
    AuthExpired(String),
    /// The broker asked us to wait.
    #[error("rate limited by broker; retry after {}s: {reason}", retry_after.as_secs())]
    RateLimited {
        retry_after: Duration,
        reason: String,
    },
    /// The broker needs a human (e.g. a captcha penalty): the account is paused.
    #[error("needs attention at the broker: {0}")]
    NeedsAttention(String),
    /// Our configuration or the stored credentials cannot work (wrong
    /// environment URL, malformed key): fix the setup.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

impl BrokerError {
    /// The failure in the domain's terms (what the execution decision acts on).
    pub fn to_failure(&self) -> atomik_domain::execution::Failure {
        use atomik_domain::execution::Failure;
        match self {
            BrokerError::NotSent(s) => Failure::NotSent(s.clone()),
            BrokerError::Rejected { reason, .. } => Failure::Rejected(reason.clone()),
            BrokerError::Ambiguous(s) => Failure::Ambiguous(s.clone()),
            BrokerError::AuthExpired(s) => Failure::AuthExpired(s.clone()),
            BrokerError::RateLimited {
                retry_after,
                reason,
            } => Failure::RateLimited {
                retry_after_ms: i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX),
                reason: reason.clone(),
            },
            BrokerError::NeedsAttention(s) => Failure::NeedsAttention(s.clone()),
            BrokerError::Misconfigured(s) => Failure::Misconfigured(s.clone()),
        }
    }

    /// Could an order have been executed despite this error?
    pub fn maybe_executed(&self) -> bool {
        matches!(self, BrokerError::Ambiguous(_))
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BrokerError::NotSent(_) | BrokerError::RateLimited { .. }
        )
    }
}
