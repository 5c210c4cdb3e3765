// Verifies one webhook with the official Standard Webhooks npm package.
//
// Reads JSON from stdin: {"secret": "whsec_...", "payload": "...", "headers": {...},
// "json": true|false}. The payload is the signed text exactly as the seller gets it:
// the request body for POST, the raw query string for GET. With "json" the library
// also parses the body, as a seller's JSON endpoint would.
//
// Exit codes: 0 verified; 1 verification failed (the library refused it);
// 2 the input or this script is broken, so the driver can tell a refusal from a bug.
import { Webhook, WebhookVerificationError } from "standardwebhooks";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

let input;
try {
  input = JSON.parse(await readStdin());
} catch (error) {
  console.error(`bad input: ${error.message}`);
  process.exit(2);
}

try {
  new Webhook(input.secret).verify(input.payload, input.headers, {
    jsonParse: input.json === true,
  });
  console.log("verified");
  process.exit(0);
} catch (error) {
  // Never print the secret: only the library's reason.
  console.error(`${error.name}: ${error.message}`);
  process.exit(error instanceof WebhookVerificationError ? 1 : 2);
}
