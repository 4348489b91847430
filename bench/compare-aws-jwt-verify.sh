#!/usr/bin/env bash
# cognito-verify vs AWS's aws-jwt-verify (Node), same token and keys, one run.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd bench/aws-jwt-verify && npm ci --no-audit --no-fund --silent)
cargo run --release -q -p cognito-verify --features testing --example compare_aws_jwt_verify -- bench/aws-jwt-verify
