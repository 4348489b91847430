// Times aws-jwt-verify's verifySync (keys cached, as in a warm Lambda) on the
// token and JWKS in the JSON file given as the first argument, and Node's own
// RSA verify of the same signature with the key object made once (Node's
// floor, as aws-lc-rs's is ours). Prints one JSON line:
// {"us_per_verify": …, "node_floor_us": …, "iterations": …}.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { CognitoJwtVerifier } from "aws-jwt-verify";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const verifier = CognitoJwtVerifier.create({
  userPoolId: input.user_pool_id,
  tokenUse: "access",
  clientId: input.client_id,
});
verifier.cacheJwks(input.jwks);
verifier.verifySync(input.token); // throws if it does not verify

const dot = input.token.lastIndexOf(".");
const signingInput = Buffer.from(input.token.slice(0, dot));
const signature = Buffer.from(input.token.slice(dot + 1), "base64url");
const key = createPublicKey({ key: input.jwks.keys[0], format: "jwk" });
if (!verify("RSA-SHA256", signingInput, key, signature)) {
  throw new Error("the floor's signature check failed");
}

const time = (n, f) => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - start) / 1000 / n;
};
const theirs = () => verifier.verifySync(input.token);
const floor = () => verify("RSA-SHA256", signingInput, key, signature);
time(2000, theirs); // warm up the JIT
time(2000, floor);
const iterations = input.iterations;
console.log(
  JSON.stringify({
    us_per_verify: time(iterations, theirs),
    node_floor_us: time(iterations, floor),
    iterations,
  }),
);
