//! `atomik-chaos`: see docs/CHAOS.md.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "atomik-chaos",
    about = "Exactly-once under crashes and broker faults: real atomik processes, seeded kills and faults."
)]
struct Args {
    /// Seed of the kill and fault schedule (random when not given; always printed)
    #[arg(long)]
    seed: Option<u64>,
    /// Alerts to send
    #[arg(long, default_value_t = 300)]
    signals: usize,
    /// SIGKILLs of the server (each followed by a restart)
    #[arg(long, default_value_t = 5)]
    kills: usize,
    /// Fraction of order requests that get a fault (0..1)
    #[arg(long, default_value_t = 0.2)]
    fault_rate: f64,
    /// Server database: SQLite in a temp dir by default, or
    /// postgres://postgres@127.0.0.1:5432/<fresh name> (created)
    #[arg(long)]
    database_url: Option<String>,
    /// The atomik binary (default: `atomik` beside this executable)
    #[arg(long)]
    atomik_bin: Option<PathBuf>,
    /// Alerts per second (the webhook rate limit is 10; at ~4/s and more, 20 %
    /// faults make the per-account backlog grow, see docs/CHAOS.md)
    #[arg(long, default_value_t = 3.0)]
    rate: f64,
    /// Seconds after the last alert for every intent to become terminal
    #[arg(long, default_value_t = 90)]
    settle_secs: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) || args.rate <= 0.0 || args.signals == 0 {
        eprintln!("error: --fault-rate must be within 0..1, --rate and --signals above 0");
        return std::process::ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    eprintln!("atomik-chaos: seed {seed} (replay with --seed {seed})");
    let config = atomik_chaos::Config {
        seed,
        signals: args.signals,
        kills: args.kills,
        fault_rate: args.fault_rate,
        database_url: args.database_url,
        atomik_bin: args.atomik_bin,
        per_second: args.rate,
        settle: Duration::from_secs(args.settle_secs),
    };
    match atomik_chaos::run(&config).await {
        Ok(report) => {
            print!("{}", report.summary());
            println!("{}", report.json());
            if report.ok() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("atomik-chaos (seed {seed}): {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
