// @ts-check
// Which feed URLs the page may put in an href or src: NASA's own https hosts, nothing else.
// The feeds are third-party data; a `javascript:`, `file:`, plain-http or foreign URL in them
// must never become a link or an image source (the page's CSP is the second line, not the first).

/** @param {string} host */
const nasaHost = (host) => host === "nasa.gov" || host.endsWith(".nasa.gov");

/**
 * `url` itself when it is an https URL on a NASA host, else null.
 * @param {unknown} url
 * @returns {string|null}
 */
export function nasaUrl(url) {
  if (typeof url !== "string" || url.length > 2048) return null;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" || parsed.username || parsed.password) return null;
  if (parsed.port && parsed.port !== "443") return null;
  return nasaHost(parsed.hostname) ? url : null;
}
