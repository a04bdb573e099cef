// The page's SigV4 signer (cloud/web/aws.js) against AWS's own Signature Version 4 test suite:
// each signed request's Authorization header, to the byte (sigv4-vectors.json names its source
// and licence).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { amzDateOf, sign } from "../../cloud/web/aws.js";

const suite = JSON.parse(readFileSync(new URL("sigv4-vectors.json", import.meta.url), "utf8"));

/** A .sreq file: request line, headers, the expected Authorization, a blank line, the body. */
function parseSigned(text) {
  const [head, body = ""] = text.split("\n\n");
  const [requestLine, ...lines] = head.split("\n");
  const [method, target] = requestLine.split(" ");
  const headers = {};
  let authorization = null;
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (name === "Authorization") authorization = value.trim();
    else headers[name] = value;
  }
  return { method, target, headers, body, authorization };
}

for (const [name, text] of Object.entries(suite.signed_requests)) {
  test(`SigV4 test suite: ${name}`, async () => {
    const request = parseSigned(text);
    const host = request.headers.Host;
    const signed = await sign({
      method: request.method, url: `https://${host}${request.target}`, headers: request.headers,
      body: request.body, region: suite.region, service: suite.service,
      credentials: suite.credentials, amzDate: suite.amzDate,
    });
    assert.equal(signed.authorization, request.authorization);
  });
}

test("the signing date is the request's, in SigV4's basic ISO 8601 form", () => {
  assert.equal(amzDateOf(new Date(Date.UTC(2015, 7, 30, 12, 36, 0, 789))), "20150830T123600Z");
});
