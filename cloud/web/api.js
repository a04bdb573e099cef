// The robot API: POST /robot/{name}/cmd and GET /robot/{name}/status.

import { SessionExpired } from "./auth.js";
import { parse } from "./safejson.js";

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
    const data = parse(await response.text().catch(() => ""), 1 << 20);
    if (response.status === 401 || response.status === 403) {
      throw new SessionExpired(this.auth.local
        ? "Your session has expired: its token was refused. "
          + "Sign in again with the token printed by make run."
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

  /**
   * The robot's last status (`{"online": false, "reported": false}` when it never reported);
   * an ApiError with status 404 when no robot has that name.
   */
  status(robot) {
    return this.call("GET", `/robot/${encodeURIComponent(robot)}/status`);
  }
}
