// One call per line: the official @authsignal/node SDK, unchanged, driven from pytest
// (tests/sdk/test_node_sdk.py). Deliberately no logic of its own, so the tests read as SDK calls.
//
// stdin, one JSON object per line: {"apiUrl", "secret", "method", "request"}
//   method "webhook.constructEvent" takes request {"payload", "signature", "tolerance"?}.
// stdout, one JSON object per line: {"result": ...} or {"error": {statusCode, errorCode, errorDescription}}.
import { createInterface } from "node:readline";
import { Authsignal } from "@authsignal/node";

const clients = new Map();

function clientFor(apiUrl, secret) {
  const key = `${apiUrl} ${secret}`;
  if (!clients.has(key)) {
    // retries: 0, so a failure shows as itself instead of as three slower copies of it.
    clients.set(key, new Authsignal({ apiSecretKey: secret, apiUrl, retries: 0 }));
  }
  return clients.get(key);
}

async function call({ apiUrl, secret, method, request }) {
  const client = clientFor(apiUrl, secret);
  if (method === "webhook.constructEvent") {
    return client.webhook.constructEvent(request.payload, request.signature, request.tolerance);
  }
  return client[method](request);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    const result = await call(JSON.parse(line));
    answer = { result: result === undefined ? null : result };
  } catch (error) {
    answer = {
      error: {
        name: error.name,
        statusCode: error.statusCode ?? null,
        errorCode: error.errorCode ?? null,
        errorDescription: error.errorDescription ?? error.message ?? null,
      },
    };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
