//! The `atomik` binary as an operator runs it: durability across kill -9,
//! graceful shutdown, and the operator commands.

mod common;

use atomik_testkit::{csrf_in, element_text};
use common::{Server, run};

const PW: &str = "correct horse battery";

async fn sign_up(server: &Server, email: &str) -> reqwest::StatusCode {
    let c = atomik_testkit::client();
    let html = c
        .get(server.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html);
    c.post(server.url("/signup"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", PW)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn log_in_shows_plan(server: &Server, email: &str) -> Option<String> {
    let c = atomik_testkit::client();
    let html = c
        .get(server.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html);
    let res = c
        .post(server.url("/login"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", PW)])
        .send()
        .await
        .unwrap();
    if res.status() != 303 {
        return None;
    }
    let home = c
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    element_text(&home, "plan-name")
}

/// An acknowledged sign-up survives SIGKILL straight after the answer.
#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let server = Server::start(dir.path(), &[]);
        let email = format!("round{round}@example.com");
        assert_eq!(sign_up(&server, &email).await, 303);
        server.kill9();
        let server = Server::start(dir.path(), &[]);
        for earlier in 0..=round {
            let email = format!("round{earlier}@example.com");
            assert_eq!(
                log_in_shows_plan(&server, &email).await.as_deref(),
                Some("Starter"),
                "{email} lost after kill -9"
            );
        }
        server.kill9();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--log-format", "json"]);
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let out = server.terminate();
    assert!(out.status.success(), "exit status {:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("\"message\":\"shut down cleanly\""), "{log}");
}

#[test]
fn operator_manages_users_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--plan",
            "trader",
            "--admin",
        ],
        &format!("{PW}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        dir.path(),
        &["user", "create", "--email", "weak@example.com"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    let out = run(
        dir.path(),
        &["user", "set-plan", "ops@example.com", "unlimited"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        dir.path(),
        &["user", "set-status", "ops@example.com", "past_due"],
        "",
    );
    assert!(out.status.success());
    let out = run(
        dir.path(),
        &["user", "set-status", "ops@example.com", "gold"],
        "",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("use trialing, active, past_due, suspended or canceled")
    );
    let out = run(
        dir.path(),
        &["user", "set-plan", "nobody@example.com", "trader"],
        "",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user with email"));
    let list = String::from_utf8_lossy(&run(dir.path(), &["user", "list"], "").stdout).to_string();
    let row = list
        .lines()
        .find(|l| l.contains("ops@example.com"))
        .expect("user listed");
    assert!(
        row.contains("unlimited") && row.contains("past_due") && row.contains("yes"),
        "{row}"
    );
}

#[test]
fn help_is_available_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "set-status", "--help"],
    ] {
        let out = run(dir.path(), &args, "");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn bad_configuration_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("atomik.toml");
    std::fs::write(&cfg, "listen = 12\n").unwrap();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "migrate"],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid configuration file"));
    let out = run(dir.path(), &["--database-url", "mysql://x", "migrate"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("use sqlite://PATH or postgres://"));
}

/// The same binary runs on PostgreSQL with `--database-url` (own database per run).
#[tokio::test(flavor = "multi_thread")]
async fn runs_on_postgresql() {
    let name = format!("atomik_cli_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&atomik_testkit::pg_url())
        .await
        .expect("PostgreSQL reachable");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--database-url", &url]);
    assert_eq!(sign_up(&server, "pg@example.com").await, 303);
    assert_eq!(
        log_in_shows_plan(&server, "pg@example.com")
            .await
            .as_deref(),
        Some("Starter")
    );
    server.kill9();
    let list = run(dir.path(), &["--database-url", &url, "user", "list"], "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("pg@example.com"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

/// Start-up fails closed when the vault key is missing or wrong, and
/// `atomik keys rotate` re-wraps under a new key (and can be re-run).
#[tokio::test(flavor = "multi_thread")]
async fn vault_key_fails_closed_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    server.kill9();
    let key_file = dir.path().join("vault.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "key file is private");

    let out = run(dir.path(), &["keys", "rotate"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("every credential is sealed under key"));
    let again = run(dir.path(), &["keys", "rotate"], "");
    assert!(
        again.status.success(),
        "re-runnable: {}",
        String::from_utf8_lossy(&again.stderr)
    );

    let saved = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let out = run(dir.path(), &["--listen", "127.0.0.1:1"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("vault key file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A different key (a fresh file) is refused too.
    let other = tempfile::tempdir().unwrap();
    let fresh = Server::start(other.path(), &[]);
    fresh.kill9();
    std::fs::copy(other.path().join("vault.key"), &key_file).unwrap();
    let out = run(dir.path(), &["--listen", "127.0.0.1:1"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&key_file, saved).unwrap();
    let server = Server::start(dir.path(), &[]);
    server.kill9();
}
