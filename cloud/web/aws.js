// The few AWS calls the viewer needs in AWS, with no SDK: Cognito identity pool credentials
// (unsigned JSON calls) and SigV4-signed Kinesis Video Streams control-plane calls.

const enc = new TextEncoder();
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));

async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(text));
}

/** Sign and send a JSON POST (SigV4, header auth). */
export async function signedPost(url, body, { region, service, credentials }) {
  const u = new URL(url);
  const payload = JSON.stringify(body);
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const day = amzDate.slice(0, 8);
  const headers = {
    "content-type": "application/json", host: u.host, "x-amz-date": amzDate,
    "x-amz-security-token": credentials.sessionToken,
  };
  const names = Object.keys(headers).sort();
  const canonical = ["POST", u.pathname || "/", "",
    names.map((n) => `${n}:${headers[n]}\n`).join(""), names.join(";"),
    await sha256(payload)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256(canonical)].join("\n");
  let key = await hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [region, service, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  delete headers.host; // the browser sets it
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const response = await fetch(url, { method: "POST", headers, body: payload });
  if (!response.ok) throw new Error(`${service} ${u.pathname}: HTTP ${response.status}`);
  return response.json();
}

async function identityCall(region, target, body) {
  const response = await fetch(`https://cognito-identity.${region}.amazonaws.com/`, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": `AWSCognitoIdentityService.${target}` },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`Cognito identity ${target}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Temporary AWS credentials for the signed-in user from the identity pool; `roleArn`: the
 * viewer role of the robot to watch, for someone who owns several (one role per robot).
 */
export async function identityCredentials(cognito, region, idToken, roleArn = null) {
  const logins = { [`cognito-idp.${region}.amazonaws.com/${cognito.userPoolId}`]: idToken };
  const { IdentityId } = await identityCall(region, "GetId",
    { IdentityPoolId: cognito.identityPoolId, Logins: logins });
  const { Credentials: c } = await identityCall(region, "GetCredentialsForIdentity",
    { IdentityId, Logins: logins, ...(roleArn ? { CustomRoleArn: roleArn } : {}) });
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken };
}

/** Channel ARN, WSS endpoint and ICE servers for a viewer of channel `name`. */
export async function viewerEndpoints(name, region, credentials, knownArn = null) {
  const opts = { region, service: "kinesisvideo", credentials };
  const base = `https://kinesisvideo.${region}.amazonaws.com`;
  const arn = knownArn || (await signedPost(`${base}/describeSignalingChannel`,
    { ChannelName: name }, opts)).ChannelInfo.ChannelARN;
  const { ResourceEndpointList } = await signedPost(`${base}/getSignalingChannelEndpoint`, {
    ChannelARN: arn,
    SingleMasterChannelEndpointConfiguration: { Protocols: ["WSS", "HTTPS"], Role: "VIEWER" },
  }, opts);
  const ep = Object.fromEntries(ResourceEndpointList.map((e) => [e.Protocol, e.ResourceEndpoint]));
  const { IceServerList } = await signedPost(`${ep.HTTPS}/v1/get-ice-server-config`,
    { ChannelARN: arn }, opts);
  const iceServers = [{ urls: `stun:stun.kinesisvideo.${region}.amazonaws.com:443` },
    ...IceServerList.map((s) => ({ urls: s.Uris, username: s.Username, credential: s.Password }))];
  return { arn, wss: ep.WSS, iceServers };
}
