//! Every committed input of every target — the seed corpus
//! (`fuzz/corpus/<target>/`) and the crash inputs (`fuzz/regressions/<target>/`)
//! — replayed through the same harness the fuzzer runs, on stable. Then a
//! few hundred arbitrary inputs per target (the stable stand-in for
//! cargo-fuzz where nightly is absent).

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_seed_corpus_and_a_fuzz_target() {
    for (target, _) in atomik_fuzzing::TARGETS {
        assert!(
            inputs("corpus", target).len() >= 3,
            "fuzz/corpus/{target}/ needs a few realistic seeds"
        );
        let bin = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let src = std::fs::read_to_string(&bin).unwrap_or_default();
        assert!(
            src.contains(&format!("atomik_fuzzing::{target}(")),
            "{} must call atomik_fuzzing::{target}",
            bin.display()
        );
    }
}

#[test]
fn corpus_and_crash_inputs_replay_without_panicking() {
    let mut replayed = 0;
    for (target, harness) in atomik_fuzzing::TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in inputs(kind, target) {
                let data = std::fs::read(&file).expect("readable input");
                let outcome = std::panic::catch_unwind(|| harness(&data));
                assert!(outcome.is_ok(), "{target} panics on {}", file.display());
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_harness(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (_, harness) in atomik_fuzzing::TARGETS {
            harness(&data);
        }
    }

    /// Bytes shaped like the targets' inputs (a selector, then JSON or a
    /// request line), so the stable run reaches past the first parse.
    #[test]
    fn structured_inputs_never_panic_a_harness(
        head in proptest::collection::vec(any::<u8>(), 3),
        json in "\\{(\"[a-zA-Z_]{1,14}\":(\"[ -~]{0,12}\"|-?[0-9]{1,22}(\\.[0-9]{1,8})?|null|true),?){0,6}\\}",
        line in "(GET|POST|DELETE) /(api/v3|fapi/v1)/order\\?([a-zA-Z]{1,12}=[ -~&&[^&]]{0,24}&?){0,6}",
    ) {
        let mut selected = head.clone();
        selected.extend_from_slice(json.as_bytes());
        for (_, harness) in atomik_fuzzing::TARGETS {
            harness(json.as_bytes());
            harness(&selected);
        }
        atomik_fuzzing::binance_sim_requests(format!("{line}\n{json}").as_bytes());
    }
}
