// The robot API: POST /robot/{name}/cmd and GET /robot/{name}/status.

import { SessionExpired } from "./auth.js";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export class RobotApi {
  constructor(base, auth) {
    this.base = (base || "").replace(/\/$/, "");
    this.auth = auth;
  }

  async call(method, path, body) {
    const headers = { Authorization: this.auth.bearer() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "The API cannot be reached. Check your connection.");
    }
    const data = await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      throw new SessionExpired(this.auth.local
        ? "The token was refused. Sign in again with the token printed by make run."
        : "Your session has expired. Sign in again.");
    }
    if (!response.ok) {
      const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  command(robot, cmd) {
    return this.call("POST", `/robot/${encodeURIComponent(robot)}/cmd`, cmd);
  }

  /** The robot's last status, or null when it never reported. */
  async status(robot) {
    try {
      return await this.call("GET", `/robot/${encodeURIComponent(robot)}/status`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }
}
