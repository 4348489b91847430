//! Fuzzes the token parser: splitting, base64url, strict JSON, header and
//! claim types. Any input must give a typed result, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        cognito_verify::fuzzing::token(text);
    }
});
