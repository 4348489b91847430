// Times aws-jwt-verify's verifySync (keys cached, as in a warm Lambda) on the
// token and JWKS in the JSON file given as the first argument, and prints
// one JSON line: {"us_per_verify": …, "iterations": …}.
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

const time = (n) => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) verifier.verifySync(input.token);
  return Number(process.hrtime.bigint() - start) / 1000 / n;
};
time(2000); // warm up the JIT
const iterations = input.iterations;
console.log(JSON.stringify({ us_per_verify: time(iterations), iterations }));
