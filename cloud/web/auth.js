// Who the user is. Locally: the stack's token (ROBOT_API_TOKEN), typed once per tab.
// In AWS: the Cognito Hosted UI with the authorization code flow and PKCE; the ID token is
// what the API's Cognito authorizer checks and what the identity pool trades for AWS
// credentials (the video).

import { parse } from "./safejson.js";

const KEY = "robot-session";
const PKCE_KEY = "robot-pkce";

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class SessionExpired extends Error {
  constructor(message = "Your session has expired. Sign in again.") { super(message); }
}

export class Auth {
  constructor(config, storage = sessionStorage) {
    this.config = config;
    this.storage = storage;
  }

  get local() { return this.config.mode === "local"; }

  /** The current session, or null; an expired one is dropped and reported. */
  session() {
    const raw = this.storage.getItem(KEY);
    if (!raw) return null;
    const session = parse(raw, 16384);
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
    return this.local ? `Bearer ${session.token}` : session.idToken;
  }

  signInLocal(token) {
    this.storage.setItem(KEY, JSON.stringify({ token: token.trim() }));
  }

  signOut() {
    const wasLocal = this.local;
    this.storage.removeItem(KEY);
    if (!wasLocal) {
      const { domain, clientId, redirectUri } = this.config.cognito;
      const url = new URL(`https://${domain}/logout`);
      url.search = new URLSearchParams({ client_id: clientId, logout_uri: redirectUri });
      location.assign(url);
    }
  }

  /** Send the browser to the Cognito Hosted UI (authorization code + PKCE). */
  async signInHosted() {
    const { domain, clientId, redirectUri } = this.config.cognito;
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = b64url(await crypto.subtle.digest("SHA-256",
      new TextEncoder().encode(verifier)));
    this.storage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(`https://${domain}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: redirectUri,
      scope: "openid email profile", state, code_challenge_method: "S256",
      code_challenge: challenge,
    });
    location.assign(url);
  }

  /** Back from the Hosted UI with ?code=...: trade it for tokens. Returns true if it did. */
  async completeHosted() {
    const params = new URLSearchParams(location.search);
    if (this.local || !params.has("code")) return false;
    const pkce = parse(this.storage.getItem(PKCE_KEY) || "null", 4096);
    this.storage.removeItem(PKCE_KEY);
    history.replaceState(null, "", location.pathname);
    if (!pkce || pkce.state !== params.get("state")) {
      throw new Error("Sign-in could not be completed (state mismatch). Try again.");
    }
    const { domain, clientId, redirectUri } = this.config.cognito;
    const response = await fetch(`https://${domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", client_id: clientId, code: params.get("code"),
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
