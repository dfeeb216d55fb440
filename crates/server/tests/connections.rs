//! Connections are bounded in time and number: slow-header and idle
//! clients are cut off, and a flood of idle connections from one address
//! does not stop legitimate webhooks from another. (Loopback has the whole
//! 127.0.0.0/8: the attacker connects from 127.0.0.2, the sender from
//! 127.0.0.1.)

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use atomik_testkit::{Fixture, TestApp, client, spawn_app, test_config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn app_with(limits: impl FnOnce(&mut atomik_server::listener::ConnectionLimits)) -> TestApp {
    let mut config = test_config();
    limits(&mut config.connections);
    spawn_app(atomik_testkit::sqlite().await, config).await
}

/// Read until the server closes the connection; `false` if it is still
/// open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

async fn connect_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(to).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_headers_and_idle_connections_are_closed() {
    // Each bound on its own: a short header timeout with a long idle one…
    let app = app_with(|l| {
        l.header_read_timeout = Duration::from_millis(500);
        l.idle_timeout = Duration::from_secs(60);
    })
    .await;
    // Slow headers: a line every 100 ms, never finishing the head.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"POST /api/v1/webhooks/wh_x HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let dribble = tokio::spawn(async move {
        for i in 0..200 {
            if writer
                .write_all(format!("X-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    let mut buf = [0u8; 256];
    let cut = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        cut.is_ok(),
        "a slow-header client was still connected after 10 s"
    );
    dribble.abort();

    // …and a short idle timeout with a long header one.
    let app = app_with(|l| {
        l.header_read_timeout = Duration::from_secs(60);
        l.idle_timeout = Duration::from_millis(500);
    })
    .await;
    // A connection that never sends anything.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(10)).await,
        "idle connection kept open"
    );

    // A keep-alive connection, idle after its request.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut kept, Duration::from_secs(10)).await,
        "keep-alive connection kept open"
    );
    assert!(
        app.state
            .connection_stats()
            .closed_idle
            .load(Ordering::Relaxed)
            >= 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_are_served_through_a_flood_of_idle_connections() {
    atomik_server::listener::raise_fd_limit();
    let app = app_with(|l| l.max_per_ip = 100).await;
    let fx = Fixture::signup(&app, "flood@example.com").await;
    let hook = fx.webhook("flood").await;
    // 3,000 idle connections from one address.
    let mut flood = Vec::new();
    for _ in 0..3_000 {
        match connect_from("127.0.0.2", app.addr).await {
            Ok(s) => flood.push(s),
            Err(e) => panic!("could not open the attack connections: {e}"),
        }
    }
    let stats = app.state.connection_stats();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stats.refused_per_ip.load(Ordering::Relaxed) < 2_900 {
        assert!(
            std::time::Instant::now() < deadline,
            "the per-address cap never fired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        stats.open.load(Ordering::Relaxed) <= 100 + 5,
        "at most the cap stays open"
    );
    // A refused connection is told so, then closed.
    let mut extra = connect_from("127.0.0.2", app.addr).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut answer)).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 503"),
        "{answer:?}"
    );
    // Meanwhile TradingView's alerts and the health check get through.
    let c = client();
    for n in 0..20 {
        let res = tokio::time::timeout(
            Duration::from_secs(10),
            c.post(format!("{}?secret={}", hook.url, hook.secret))
                .json(&json!({"action": "buy", "n": n}))
                .send(),
        )
        .await
        .expect("the webhook answered in time")
        .unwrap();
        assert_eq!(res.status(), 202);
    }
    let health = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    drop(flood);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_the_global_cap_new_connections_wait_for_idle_ones_to_close() {
    let app = app_with(|l| {
        l.max_connections = Some(50);
        l.idle_timeout = Duration::from_millis(500);
    })
    .await;
    let mut held = Vec::new();
    for i in 0..50 {
        held.push(
            connect_from(&format!("127.0.1.{}", i % 10 + 1), app.addr)
                .await
                .unwrap(),
        );
    }
    let stats = app.state.connection_stats();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stats.open.load(Ordering::Relaxed) < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the connections never opened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut refused = TcpStream::connect(app.addr).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), refused.read_to_end(&mut answer)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 503"));
    assert!(stats.refused_global.load(Ordering::Relaxed) >= 1);
    // The idle ones are closed by the idle timeout; then service resumes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let res = client().get(app.url("/healthz")).send().await;
        if res.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "service never resumed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
}
