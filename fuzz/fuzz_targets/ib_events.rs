#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| atomik_fuzzing::ib_events(data));
