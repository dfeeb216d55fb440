#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| atomik_fuzzing::binance_responses(data));
