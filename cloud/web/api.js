// @ts-check
// The robot API: POST /robot/{name}/cmd and GET /robot/{name}/status.

import { parse } from "./safejson.js";

export class ApiError extends Error {
  /** @param {number} status  0: no answer @param {string} message */
  constructor(status, message) { super(message); this.status = status; }
}

export class RobotApi {
  /** @param {string} base @param {import("./auth.js").Auth} auth */
  constructor(base, auth) {
    this.base = (base || "").replace(/\/$/, "");
    this.auth = auth;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {object} [body]
   * @returns {Promise<any>}
   */
  async call(method, path, body) {
    /** @type {Record<string, string>} */
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
    const data = /** @type {any} */ (parse(await response.text().catch(() => ""), 1 << 20));
    // The token itself refused (a wrong token, or a session the API no longer takes); a 403
    // that our API explains (`error`) is a refusal of this request, not of the session.
    const explained = response.status === 403 && data && data.error;
    if ((response.status === 401 || response.status === 403) && !explained) {
      throw this.auth.refused();
    }
    this.auth.accepted();
    if (!response.ok) {
      const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  /** @param {string} robot @param {object} cmd */
  command(robot, cmd) {
    return this.call("POST", `/robot/${encodeURIComponent(robot)}/cmd`, cmd);
  }

  /**
   * The robot's last status (`{"online": false, "reported": false}` when it never reported);
   * an ApiError with status 404 when no robot has that name.
   * @param {string} robot
   * @returns {Promise<import("./status.js").Status>}
   */
  status(robot) {
    return this.call("GET", `/robot/${encodeURIComponent(robot)}/status`);
  }
}
