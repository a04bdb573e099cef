// ESLint for the control page (cloud/web/, browser ES modules) and its unit tests (here, Node).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["**/node_modules/**", "cloud/web/vendor/**"] },
  js.configs.recommended,
  {
    files: ["cloud/web/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser } },
  },
  {
    files: ["tests/web/**/*.js", "tests/web/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
  {
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
      "prefer-const": "error",
      "no-var": "error",
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-param-reassign": ["error", { props: false }],
    },
  },
];
