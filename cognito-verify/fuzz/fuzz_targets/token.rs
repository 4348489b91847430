//! Fuzzes the token parser: splitting, base64url, strict JSON, header and
//! claim types. Any input must give a typed result, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cognito_verify::fuzzing::token(data);
});
