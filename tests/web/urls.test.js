// Feed URLs the page may use (cloud/web/urls.js): NASA's https hosts only.
import assert from "node:assert/strict";
import { test } from "node:test";

import { nasaUrl } from "../../cloud/web/urls.js";

test("NASA's https originals pass", () => {
  for (const url of ["https://mars.nasa.gov/msl-raw-images/a.jpg",
                     "https://mars.jpl.nasa.gov/msl-raw-images/b.JPG",
                     "https://nasa.gov/x", "https://mars.nasa.gov:443/y"]) {
    assert.equal(nasaUrl(url), url);
  }
});

test("anything else is dropped", () => {
  for (const url of ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "file:///etc/passwd",
                     "http://mars.nasa.gov/a.jpg", "https://mars.nasa.gov.evil.example/a.jpg",
                     "https://evilnasa.gov/a.jpg", "https://user:pw@mars.nasa.gov/a.jpg",
                     "https://mars.nasa.gov:8443/a.jpg", "data:image/png;base64,AAAA",
                     "//mars.nasa.gov/a.jpg", "/mars/image/x.bmp", "", null, 42,
                     `https://mars.nasa.gov/${"a".repeat(3000)}`]) {
    assert.equal(nasaUrl(url), null, String(url));
  }
});
