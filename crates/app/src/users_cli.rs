//! `atomik user …`: operator commands for users, plans and subscriptions.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Subcommand;

use atomik_domain::SubscriptionStatus;
use atomik_server::auth::{login::normalize_email, password};
use atomik_storage::{Db, users};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input (one line)
    Create {
        #[arg(long)]
        email: String,
        /// free, starter, trader or unlimited
        #[arg(long, default_value = "starter")]
        plan: String,
        /// Subscription status: trialing, active, past_due, suspended, canceled
        #[arg(long, default_value = "active")]
        status: String,
        /// May use the operator API
        #[arg(long)]
        admin: bool,
    },
    /// List users with plan and subscription status
    List,
    /// Change a user's plan
    SetPlan { email: String, plan: String },
    /// Change a user's subscription status
    SetStatus {
        email: String,
        /// trialing, active, past_due, suspended or canceled
        status: String,
        /// For trialing: days until the trial ends
        #[arg(long)]
        trial_days: Option<i64>,
    },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn user_by_email(db: &Db, email: &str) -> anyhow::Result<users::User> {
    users::find_by_email(db, &normalize_email(email))
        .await?
        .with_context(|| format!("no user with email {email:?}: see `atomik user list`"))
}

fn parse_status(status: &str) -> anyhow::Result<SubscriptionStatus> {
    status
        .parse::<SubscriptionStatus>()
        .map_err(anyhow::Error::msg)
}

pub async fn run(cmd: UserCommand, db: Db) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            plan,
            status,
            admin,
        } => {
            let status = parse_status(&status)?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let pw = line.trim_end_matches(['\r', '\n']).to_string();
            if let Err(msg) = password::check_policy(&pw) {
                bail!("{msg}");
            }
            let hash = password::hash_async(pw).await;
            let user = users::create(
                &db,
                users::NewUser {
                    email: &normalize_email(&email),
                    password_hash: &hash,
                    plan_id: &plan,
                    subscription_status: status,
                    trial_ends_at: None,
                    is_admin: admin,
                },
                now_ms(),
            )
            .await?;
            println!(
                "created user {} ({}) on plan {}",
                user.email, user.id, user.plan_id
            );
        }
        UserCommand::List => {
            println!(
                "{:<36}  {:<32}  {:<10}  {:<10}  admin",
                "id", "email", "plan", "status"
            );
            for u in users::list(&db).await? {
                println!(
                    "{:<36}  {:<32}  {:<10}  {:<10}  {}",
                    u.id,
                    u.email,
                    u.plan_id,
                    u.subscription_status,
                    if u.is_admin { "yes" } else { "" }
                );
            }
        }
        UserCommand::SetPlan { email, plan } => {
            let user = user_by_email(&db, &email).await?;
            users::set_plan(&db, &user.id, &plan).await?;
            println!("{} is now on plan {plan}", user.email);
        }
        UserCommand::SetStatus {
            email,
            status,
            trial_days,
        } => {
            let user = user_by_email(&db, &email).await?;
            let status = parse_status(&status)?;
            let trial_end = trial_days.map(|d| now_ms() + d * 24 * 3600 * 1000);
            users::set_subscription_status(&db, &user.id, status, trial_end).await?;
            println!("{} subscription is now {status}", user.email);
        }
    }
    Ok(())
}
