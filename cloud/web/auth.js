// @ts-check
// Who the user is. Locally: the stack's token (ROBOT_API_TOKEN), typed once per tab.
// In AWS: the Cognito Hosted UI with the authorization code flow and PKCE; the ID token is
// what the API's Cognito authorizer checks and what the identity pool trades for AWS
// credentials (the video).

import { parse } from "./safejson.js";

const KEY = "robot-session";
const PKCE_KEY = "robot-pkce";
const NICKNAME_KEY = "robot-nickname";

/**
 * @typedef {object} Session
 * @property {string} [token]  the local token
 * @property {string} [idToken]  Cognito's ID token (AWS)
 * @property {string} [accessToken]
 * @property {number} [expires]  wall-clock ms
 * @property {boolean} [accepted]  the API has taken it once: a later refusal means it expired
 */
/**
 * @typedef {object} PageConfig  config.json, written by the local stack or by the deploy tool
 * @property {"local"|"aws"} mode
 * @property {string} apiBase
 * @property {string[]} robots
 * @property {string} [region]
 * @property {string} [signalingUrl]
 * @property {string} [channelArn]
 * @property {Record<string, string>} [channels]
 * @property {Record<string, string>} [viewerRoles]  robot -> its owners' viewer role (AWS)
 * @property {{domain: string, clientId: string, userPoolId: string, identityPoolId: string,
 *             redirectUri: string}} [cognito]
 * @property {Record<string, string>} [endpoints]  AWS service URLs other than the public ones
 * @property {string} [marsApiBase]
 * @property {string} [marsApiKey]
 */

/** @param {ArrayBuffer|Uint8Array} bytes */
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class SessionExpired extends Error {
  constructor(message = "Your session has expired. Sign in again.") { super(message); }
}

/** The credentials were refused the first time they were used: mistyped, not expired. */
export class SessionRefused extends SessionExpired {}

/**
 * The claims of a JWT, unverified: for showing who is signed in, never for trusting it
 * (the API verifies the token itself).
 * @param {string} jwt
 * @returns {Record<string, unknown>|null}
 */
export function claims(jwt) {
  const part = String(jwt || "").split(".")[1];
  if (!part) return null;
  try {
    const text = new TextDecoder().decode(Uint8Array.from(
      atob(part.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));
    const value = parse(text, 16384);
    return value && typeof value === "object" && !Array.isArray(value)
      ? /** @type {Record<string, unknown>} */ (value) : null;
  } catch {
    return null; // not base64
  }
}

export class Auth {
  /**
   * @param {PageConfig} config
   * @param {Storage} storage  the tab's session (sessionStorage)
   * @param {Storage} kept  what this browser keeps across tabs (localStorage): the nickname
   */
  constructor(config, storage = sessionStorage, kept = localStorage) {
    this.config = config;
    this.storage = storage;
    this.kept = kept;
  }

  get local() { return this.config.mode === "local"; }

  /** @returns {{domain: string, clientId: string, redirectUri: string, userPoolId: string,
   *             identityPoolId: string}} */
  get cognito() {
    if (!this.config.cognito) throw new Error("config.json has no cognito settings");
    return this.config.cognito;
  }

  /** The current session, or null; an expired one is dropped and reported.
   * @returns {Session|null} */
  session() {
    const raw = this.storage.getItem(KEY);
    if (!raw) return null;
    const session = /** @type {Session|null} */ (parse(raw, 16384));
    if (!session || typeof session !== "object") { // damaged or planted: sign in again
      this.storage.removeItem(KEY);
      return null;
    }
    if (session.expires && Date.now() >= session.expires) {
      this.storage.removeItem(KEY);
      throw new SessionExpired();
    }
    return session;
  }

  /** The Authorization header value for the API. */
  bearer() {
    const session = this.session();
    if (!session) throw new SessionExpired("Sign in first.");
    return this.local ? `Bearer ${session.token}` : String(session.idToken);
  }

  /** The API took the session: a refusal from now on means it expired or was revoked. */
  accepted() {
    const session = this.session();
    if (session && !session.accepted) {
      this.storage.setItem(KEY, JSON.stringify({ ...session, accepted: true }));
    }
  }

  /** The API refused the session: the error to show (and the session is dropped). */
  refused() {
    const session = this.session();
    this.storage.removeItem(KEY);
    if (session && session.accepted) {
      return new SessionExpired(this.local
        ? "Your session has expired: the stack's token changed since you signed in. "
          + "Sign in again with the token printed by make run."
        : "Your session has expired. Sign in again.");
    }
    return new SessionRefused(this.local
      ? "That token was refused: it is not the stack's ROBOT_API_TOKEN. "
        + "Paste the token printed by make run and sign in again."
      : "Your sign-in was refused by the robot API. Sign in again; if it happens again, "
        + "ask the operator whether your account may use this robot.");
  }

  /**
   * Who is signed in: `user`, the identity the API sees (AWS: the Cognito user name), and
   * `name`, the words to show (the e-mail address, or the nickname given locally).
   * @returns {{user: string|null, name: string|null}}
   */
  whoAmI() {
    const session = this.session();
    if (!session) return { user: null, name: null };
    if (this.local) return { user: null, name: this.nickname() };
    const c = claims(String(session.idToken)) || {};
    const user = c["cognito:username"] || c.sub;
    const name = c.email || c.name || user;
    return { user: typeof user === "string" ? user : null,
             name: typeof name === "string" ? name : null };
  }

  /** The name this browser gave itself locally (asked once, kept), or null. */
  nickname() {
    const name = (this.kept.getItem(NICKNAME_KEY) || "").trim();
    return name ? name.slice(0, 40) : null;
  }

  /** @param {string} token @param {string} [nickname] */
  signInLocal(token, nickname) {
    this.storage.setItem(KEY, JSON.stringify({ token: token.trim() }));
    if (nickname !== undefined) {
      if (nickname.trim()) this.kept.setItem(NICKNAME_KEY, nickname.trim().slice(0, 40));
      else this.kept.removeItem(NICKNAME_KEY);
    }
  }

  signOut() {
    const wasLocal = this.local;
    this.storage.removeItem(KEY);
    if (!wasLocal) {
      const { domain, clientId, redirectUri } = this.cognito;
      const url = new URL(`https://${domain}/logout`);
      url.search = String(new URLSearchParams({ client_id: clientId, logout_uri: redirectUri }));
      location.assign(url);
    }
  }

  /** Send the browser to the Cognito Hosted UI (authorization code + PKCE). */
  async signInHosted() {
    const { domain, clientId, redirectUri } = this.cognito;
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = b64url(await crypto.subtle.digest("SHA-256",
      new TextEncoder().encode(verifier)));
    this.storage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(`https://${domain}/oauth2/authorize`);
    url.search = String(new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: redirectUri,
      scope: "openid email profile", state, code_challenge_method: "S256",
      code_challenge: challenge,
    }));
    location.assign(url);
  }

  /** Back from the Hosted UI with ?code=...: trade it for tokens. Returns true if it did. */
  async completeHosted() {
    const params = new URLSearchParams(location.search);
    if (this.local || !params.has("code")) return false;
    const pkce = /** @type {{verifier: string, state: string}|null} */ (
      parse(this.storage.getItem(PKCE_KEY) || "null", 4096));
    this.storage.removeItem(PKCE_KEY);
    history.replaceState(null, "", location.pathname);
    if (!pkce || pkce.state !== params.get("state")) {
      throw new Error("Sign-in could not be completed (state mismatch). Try again.");
    }
    const { domain, clientId, redirectUri } = this.cognito;
    const response = await fetch(`https://${domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", client_id: clientId, code: String(params.get("code")),
        redirect_uri: redirectUri, code_verifier: pkce.verifier,
      }),
    });
    if (!response.ok) throw new Error(`Sign-in failed (${response.status}). Try again.`);
    const tokens = await response.json();
    this.storage.setItem(KEY, JSON.stringify({
      idToken: tokens.id_token, accessToken: tokens.access_token,
      expires: Date.now() + (tokens.expires_in - 30) * 1000,
    }));
    return true;
  }
}
