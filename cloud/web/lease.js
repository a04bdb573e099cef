// @ts-check
// Who drives, named as this page's user should read it. The robot's status carries its lease
// (`driver`: the page that holds it, `client`, and the signed-in identity, `user`, with a
// display `name` where the robot has one). This page is "you"; another tab of this browser, or
// another page signed in as the same user, is "you (other tab)"; anyone else goes by their
// name, their user name, or, failing both, their page's id.

/** @typedef {{client: string, user?: string|null, name?: string|null}} Lease */
/**
 * @typedef {object} Me
 * @property {string} client  this page's viewer client id
 * @property {string|null} user  the signed-in identity, where one is known (AWS), else null
 * @property {Set<string>} tabs  the client ids of this browser's other tabs
 */
/** @typedef {"none"|"me"|"mine"|"other"} Holder */

/** A name carried in a page's id (`Sam.k3x9a0b1`, see video.js), or null. @param {string} client */
export function nameInId(client) {
  const found = /^([A-Za-z0-9_-]{1,24})\.[a-z0-9]{8}$/.exec(client);
  return found ? found[1] : null;
}

/**
 * @param {Lease|null|undefined} lease
 * @param {Me} me
 * @returns {{holder: Holder, label: string}}
 */
export function driverView(lease, me) {
  if (!lease || !lease.client) return { holder: "none", label: "nobody" };
  if (lease.client === me.client) return { holder: "me", label: "you" };
  if (me.tabs.has(lease.client) || (me.user && lease.user === me.user)) {
    return { holder: "mine", label: "you (other tab)" };
  }
  const named = lease.name && lease.name !== lease.client ? lease.name : null;
  return { holder: "other", label: named || nameInId(lease.client) || lease.user || lease.client };
}

/**
 * What a change of lease does to the lease message: "took-over" (someone took the lease from
 * this page: say who, stop sending), "clear" (the lease is ours or free: a refusal that named
 * the driver is no longer true), or "keep".
 * @param {Holder|null} before
 * @param {Holder} now
 * @returns {"took-over"|"clear"|"keep"}
 */
export function leaseChange(before, now) {
  if (before === "me" && (now === "mine" || now === "other")) return "took-over";
  return now === "me" || now === "none" ? "clear" : "keep";
}
