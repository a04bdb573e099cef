// @ts-check
// The few AWS calls the viewer needs in AWS, with no SDK: Cognito identity pool credentials
// (unsigned JSON calls) and SigV4-signed Kinesis Video Streams control-plane calls. The signer
// follows AWS's published Signature Version 4 steps and is checked against AWS's own SigV4 test
// suite (tests/web/sigv4.test.js).

/**
 * @typedef {object} Credentials
 * @property {string} accessKeyId
 * @property {string} secretAccessKey
 * @property {string} [sessionToken]
 */

const enc = new TextEncoder();
/** @param {ArrayBuffer} buf */
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
/** @param {string} text */
const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));

/** @param {string|ArrayBuffer} key @param {string} text */
async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(text));
}

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). @param {string} s */
const rfc3986 = (s) => encodeURIComponent(s).replace(/[!'()*]/g,
  (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical URI: each path segment normalised and encoded once. @param {string} path */
function canonicalPath(path) {
  /** @type {string[]} */
  const out = [];
  for (const segment of path.split("/")) {
    if (segment === "..") out.pop();
    else if (segment !== "." && segment !== "") out.push(rfc3986(decodeURIComponent(segment)));
  }
  return `/${out.join("/")}${path.endsWith("/") && out.length ? "/" : ""}`;
}

/** @param {URLSearchParams} params */
function canonicalQuery(params) {
  return [...params].map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join("&");
}

/**
 * Sign a request (SigV4, header authorization).
 * @param {{method: string, url: string, headers: Record<string, string>, body: string,
 *          region: string, service: string, credentials: Credentials, amzDate: string}} request
 *   headers: every header to sign (host included); amzDate: YYYYMMDD'T'HHMMSS'Z'
 * @returns {Promise<{canonical: string, stringToSign: string, signature: string,
 *                    authorization: string}>}
 */
export async function sign({ method, url, headers, body, region, service, credentials, amzDate }) {
  const u = new URL(url);
  /** @type {Record<string, string>} */
  const lower = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    const trimmed = value.trim().replace(/\s+/g, " ");
    lower[key] = key in lower ? `${lower[key]},${trimmed}` : trimmed;
  }
  const names = Object.keys(lower).sort();
  const canonical = [method, canonicalPath(u.pathname), canonicalQuery(u.searchParams),
    names.map((n) => `${n}:${lower[n]}\n`).join(""), names.join(";"), await sha256(body)]
    .join("\n");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256(canonical)].join("\n");
  let key = await hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [region, service, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, stringToSign));
  const authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, `
    + `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return { canonical, stringToSign, signature, authorization };
}

/** @param {Date} date */
export const amzDateOf = (date) => date.toISOString().replace(/[:-]|\.\d{3}/g, "");

/**
 * Sign and send a JSON POST.
 * @param {string} url
 * @param {object} body
 * @param {{region: string, service: string, credentials: Credentials}} opts
 * @returns {Promise<any>}
 */
export async function signedPost(url, body, { region, service, credentials }) {
  const u = new URL(url);
  const payload = JSON.stringify(body);
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json", host: u.host,
                    "x-amz-date": amzDateOf(new Date()) };
  if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
  const { authorization } = await sign({ method: "POST", url, headers, body: payload, region,
    service, credentials, amzDate: headers["x-amz-date"] });
  delete headers.host; // the browser sets it
  const response = await fetch(url, { method: "POST", headers: { ...headers, authorization },
                                      body: payload });
  if (!response.ok) throw new Error(`${service} ${u.pathname}: HTTP ${response.status}`);
  return response.json();
}

/**
 * AWS's public endpoint for `service` in `region`, or the one config.json names.
 * @param {string} service
 * @param {string} region
 * @param {Record<string, string>} [endpoints]
 */
export const endpoint = (service, region, endpoints = {}) =>
  (endpoints[service] || `https://${service}.${region}.amazonaws.com`).replace(/\/$/, "");

/**
 * @param {string} base
 * @param {string} target
 * @param {object} body
 */
async function identityCall(base, target, body) {
  const response = await fetch(`${base}/`, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": `AWSCognitoIdentityService.${target}` },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`Cognito identity ${target}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Temporary AWS credentials for the signed-in user from the identity pool.
 * @param {{userPoolId: string, identityPoolId: string}} cognito
 * @param {string} region
 * @param {string} idToken
 * @param {Record<string, string>} [endpoints]
 * @param {string|null} [roleArn]  the viewer role of the robot to watch, for someone who owns
 *   several (one role per robot); the identity pool picks it from the token otherwise
 * @returns {Promise<Credentials & {identityId: string}>}
 */
export async function identityCredentials(cognito, region, idToken, endpoints, roleArn = null) {
  const base = endpoint("cognito-identity", region, endpoints);
  const logins = { [`cognito-idp.${region}.amazonaws.com/${cognito.userPoolId}`]: idToken };
  const { IdentityId } = await identityCall(base, "GetId",
    { IdentityPoolId: cognito.identityPoolId, Logins: logins });
  const { Credentials: c } = await identityCall(base, "GetCredentialsForIdentity",
    { IdentityId, Logins: logins, ...(roleArn ? { CustomRoleArn: roleArn } : {}) });
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken,
           identityId: IdentityId };
}

/**
 * Channel ARN, WSS endpoint and ICE servers for a viewer of channel `name`.
 * @param {string} name
 * @param {string} region
 * @param {Credentials} credentials
 * @param {string|null} [knownArn]
 * @param {Record<string, string>} [endpoints]
 */
export async function viewerEndpoints(name, region, credentials, knownArn = null, endpoints) {
  const opts = { region, service: "kinesisvideo", credentials };
  const base = endpoint("kinesisvideo", region, endpoints);
  const arn = knownArn || (await signedPost(`${base}/describeSignalingChannel`,
    { ChannelName: name }, opts)).ChannelInfo.ChannelARN;
  const { ResourceEndpointList } = await signedPost(`${base}/getSignalingChannelEndpoint`, {
    ChannelARN: arn,
    SingleMasterChannelEndpointConfiguration: { Protocols: ["WSS", "HTTPS"], Role: "VIEWER" },
  }, opts);
  const ep = Object.fromEntries(ResourceEndpointList.map(
    (/** @type {{Protocol: string, ResourceEndpoint: string}} */ e) => [e.Protocol, e.ResourceEndpoint]));
  const { IceServerList } = await signedPost(`${ep.HTTPS}/v1/get-ice-server-config`,
    { ChannelARN: arn }, opts);
  /** @type {RTCIceServer[]} */
  const iceServers = [{ urls: `stun:stun.kinesisvideo.${region}.amazonaws.com:443` },
    ...IceServerList.map((/** @type {{Uris: string[], Username: string, Password: string}} */ s) =>
      ({ urls: s.Uris, username: s.Username, credential: s.Password }))];
  return { arn, wss: ep.WSS, iceServers };
}
