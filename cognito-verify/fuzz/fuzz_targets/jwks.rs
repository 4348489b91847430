//! Fuzzes the JWKS parser: JSON, entries, RSA key material. Any input must
//! give a key set or `invalid_jwks`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cognito_verify::fuzzing::jwks(data);
});
