//! Messages with every optional section present: a writer that sends `1`
//! for each field atomik walks as an empty or zero default, and a count of
//! 1 for each list, so delta-neutral, scale, hedge, algo, combo, condition,
//! secId, ineligibility and peg sections all appear. Our reader must follow
//! them to the same values, and so must ib_async's Decoder (when available).

use std::path::PathBuf;
use std::process::Command;

use rust_decimal::Decimal;

use super::events;
use super::fields::{Walk, Writer};
use crate::{Contract, ContractDetails, Event, Order, OrderState, Request};

struct Rich(Writer);

impl Walk for Rich {
    fn decoding(&self) -> bool {
        false
    }
    fn str(&mut self, v: &mut String) {
        self.0.str(v)
    }
    fn int(&mut self, v: &mut i32) {
        self.0.int(v)
    }
    fn int_opt(&mut self, v: &mut Option<i32>) {
        self.0.int_opt(v)
    }
    fn long(&mut self, v: &mut i64) {
        self.0.long(v)
    }
    fn f64(&mut self, v: &mut f64) {
        self.0.f64(v)
    }
    fn f64_opt(&mut self, v: &mut Option<f64>) {
        self.0.f64_opt(v)
    }
    fn bool(&mut self, v: &mut bool) {
        self.0.bool(v)
    }
    fn dec(&mut self, v: &mut Decimal) {
        self.0.dec(v)
    }
    fn dec_opt(&mut self, v: &mut Option<Decimal>) {
        self.0.dec_opt(v)
    }
    fn skip(&mut self, lit: &str) -> String {
        let v = if lit.is_empty() || lit == "0" {
            "1"
        } else {
            lit
        };
        self.0.put(v);
        v.to_string()
    }
    fn count(&mut self) -> usize {
        self.0.put("1");
        1
    }
    fn fail(&mut self, _: &'static str, _: String) {}
}

fn rich_event(event: &Event, v: i32) -> Vec<u8> {
    let mut w = Rich(Writer::new(events::id(event)));
    events::walk(&mut w, &mut event.clone(), v);
    w.0.out
}

fn rich_request(req: &Request, v: i32) -> Vec<u8> {
    let mut w = Rich(Writer::new(super::requests::id(req)));
    super::requests::walk(&mut w, &mut req.clone(), v);
    w.0.out
}

fn contract(sec_type: &str, exchange: &str) -> Contract {
    Contract {
        con_id: 42,
        symbol: "SYM".into(),
        sec_type: sec_type.into(),
        last_trade_date_or_contract_month: "20261218".into(),
        multiplier: "50".into(),
        exchange: exchange.into(),
        currency: "USD".into(),
        local_symbol: "SYMZ6".into(),
        trading_class: "SYM".into(),
        ..Contract::default()
    }
}

fn order(order_type: &str) -> Order {
    Order {
        order_id: 12,
        client_id: 7,
        perm_id: 99,
        action: "BUY".into(),
        total_quantity: Decimal::new(25, 1),
        order_type: order_type.into(),
        limit_price: Some(10.5),
        tif: "DAY".into(),
        account: "DU1".into(),
        order_ref: "ref-1".into(),
        parent_id: 3,
        what_if: true,
        ..Order::default()
    }
}

fn open_order(order_type: &str, v: i32) -> Event {
    Event::OpenOrder {
        order_id: 12,
        contract: contract("FUT", "CME"),
        order: order(order_type),
        state: OrderState {
            status: "Submitted".into(),
            commission: Some(1.5),
            commission_currency: "USD".into(),
            warning_text: "last field".into(),
            reject_reason: if v >= 195 {
                "why".into()
            } else {
                String::new()
            },
            ..OrderState::default()
        },
    }
}

fn completed_order(order_type: &str) -> Event {
    let mut o = order(order_type);
    (o.order_id, o.client_id, o.parent_id, o.what_if) = (0, 0, 0, false);
    Event::CompletedOrder {
        contract: contract("FUT", "CME"),
        order: o,
        state: OrderState {
            status: "Filled".into(),
            completed_time: "20261201 10:00:00".into(),
            completed_status: "Filled Size: 2.5".into(),
            ..OrderState::default()
        },
    }
}

fn contract_data(sec_type: &str, v: i32) -> Event {
    let mut c = contract(sec_type, "CME");
    c.primary_exchange = "CME".into();
    Event::ContractData {
        req_id: 8,
        details: ContractDetails {
            contract: c,
            market_name: "SYM".into(),
            min_tick: 0.25,
            long_name: "last of the fixed fields".into(),
            time_zone_id: "US/Central".into(),
            min_size: (v >= 164).then_some(Decimal::ONE),
            size_increment: (v >= 164).then_some(Decimal::ONE),
            ..ContractDetails::default()
        },
    }
}

fn samples(v: i32) -> Vec<Event> {
    let mut all = vec![contract_data("FUT", v), contract_data("FUND", v)];
    for t in ["LMT", "PEG BENCH", "PEG BEST", "PEG MID"] {
        all.push(open_order(t, v));
        all.push(completed_order(t));
    }
    all
}

#[test]
fn our_reader_follows_every_optional_section() {
    for v in 157..=200 {
        for event in samples(v) {
            let bytes = rich_event(&event, v);
            let back =
                super::decode_event(&bytes, v).unwrap_or_else(|e| panic!("v{v}: {e} in {event:?}"));
            assert_eq!(back, event, "v{v}");
        }
        for t in ["LMT", "PEG BENCH", "PEG BEST", "PEG MID"] {
            for (sec_type, exchange) in [("BAG", "SMART"), ("STK", "IBKRATS")] {
                let mut c = contract(sec_type, exchange);
                c.primary_exchange = "ARCA".into();
                let mut o = order(t);
                (o.client_id, o.perm_id, o.transmit) = (0, 0, true);
                let req = Request::PlaceOrder {
                    order_id: 12,
                    contract: c,
                    order: o,
                };
                let bytes = rich_request(&req, v);
                let back = super::decode_request(&bytes, v)
                    .unwrap_or_else(|e| panic!("v{v}: {e} in {req:?}"));
                assert_eq!(back, req, "v{v}");
            }
        }
    }
}

/// ib_async 2.1.0 reads the same payloads: its Decoder, an implementation
/// independent of ours, reaches the same fields after each section.
#[test]
fn ib_async_follows_every_optional_section() {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import ib_async; assert ib_async.__version__ == '2.1.0'",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: needs python3 with ib_async 2.1.0");
        return;
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for v in [157, 170, 178] {
        let dir = std::env::temp_dir().join(format!("ib-text-rich-{}-{v}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let all = samples(v);
        for (i, event) in all.iter().enumerate() {
            std::fs::write(dir.join(format!("{i:02}.bin")), rich_event(event, v)).unwrap();
        }
        let out = Command::new("python3")
            .arg(manifest.join("tests/fixtures/decode_events.py"))
            .arg(&dir)
            .arg(v.to_string())
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            report.contains("\"errors\": []"),
            "v{v}: ib_async failed: {report}"
        );
        // Each message's last fixed field, read where ib_async expects it.
        let count = |needle: &str| report.matches(needle).count();
        assert_eq!(count("\"method\": \"contractDetails\""), 2, "v{v}");
        assert_eq!(
            count("\"longName\": \"last of the fixed fields\""),
            2,
            "v{v}"
        );
        assert_eq!(count("\"warningText\": \"last field\""), 4, "v{v}");
        assert_eq!(
            count("\"completedStatus\": \"Filled Size: 2.5\""),
            4,
            "v{v}"
        );
        assert_eq!(count("\"algoStrategy\": \"1\""), 8, "v{v}");
        assert_eq!(count("\"hedgeParam\": \"1\""), 8, "v{v}");
        assert_eq!(
            count("\"referenceExchangeId\": \"1\""),
            2,
            "v{v}: PEG BENCH"
        );
    }
}
