// Run by test_page_cognito.py: the page's own sign-in code (cloud/web/aws.js, auth.js) against
// the Cognito endpoints it is given; prints what the page would use as one JSON line.
import { claims } from "../../cloud/web/auth.js";
import { identityCredentials } from "../../cloud/web/aws.js";

const [endpoint, region, userPoolId, identityPoolId, idToken] = process.argv.slice(2);
const credentials = await identityCredentials({ userPoolId, identityPoolId }, region, idToken,
  { "cognito-identity": endpoint });
console.log(JSON.stringify({ credentials, claims: claims(idToken) }));
