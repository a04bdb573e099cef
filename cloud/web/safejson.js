// @ts-check
// JSON from outside the page (the robot's data channel, API answers, stored sessions): size and
// nesting are checked before JSON.parse sees it, as contracts/safejson.py does in Python, so a
// hostile peer's "[[[[..." is refused quietly instead of exhausting the parser's stack.

export const MAX_DEPTH = 32;

/** The deepest nesting of arrays and objects in `text`, strings skipped (no parsing).
 * @param {string} text */
export function depth(text) {
  let level = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) deepest = Math.max(deepest, ++level);
    else if (c === 93 || c === 125) level--;
  }
  return deepest;
}

/** JSON.parse(text), or null when it is not a string, too long, too deep or not JSON.
 * @param {unknown} text
 * @returns {unknown} */
export function parse(text, maxChars = 65536, maxDepth = MAX_DEPTH) {
  if (typeof text !== "string" || text.length > maxChars || depth(text) > maxDepth) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
