//! Fuzzes the ALB parsers: the token of `x-amzn-oidc-data` (padded
//! base64url, ES256 header fields, NumericDates), the load balancer ARN
//! (and the key host it names), and the PEM public key. The first byte picks
//! the parser. Any input must give a typed result, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cognito_verify::fuzzing::alb(data);
});
