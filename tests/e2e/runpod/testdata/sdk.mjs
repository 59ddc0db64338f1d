// Drives RunPod's official JavaScript SDK (npm runpod-sdk, unchanged)
// against the gateway: GATEWAY_JOBS is the base URL ("<gateway>/jobs"),
// ENDPOINT the alias, TOKEN_ALICE, TOKEN_BOB and TOKEN_ADMIN gateway JWTs
// used as the SDK's API key. Prints one JSON object of what each call
// returned (or the HTTP status it failed with).
import runpodSdk from "runpod-sdk";

const { GATEWAY_JOBS, ENDPOINT, TOKEN_ALICE, TOKEN_BOB, TOKEN_ADMIN } = process.env;
const endpoint = (token) => runpodSdk(token, { baseUrl: GATEWAY_JOBS }).endpoint(ENDPOINT);
const alice = endpoint(TOKEN_ALICE);
const bob = endpoint(TOKEN_BOB);
const admin = endpoint(TOKEN_ADMIN);

// outcome is a call's answer, or {failed: <status>, body} when the SDK threw.
async function outcome(call) {
  try {
    return await call();
  } catch (e) {
    return { failed: e.response?.status ?? String(e), body: e.response?.data };
  }
}

const out = {};
out.health = await outcome(() => alice.health());
const job = await alice.run({ input: { prompt: "a horse the size of a Boeing 787" } });
out.run = job;
out.status = await outcome(() => alice.status(job.id));
out.bobStatus = await outcome(() => bob.status(job.id));
out.bobCancel = await outcome(() => bob.cancel(job.id));
out.adminStatus = await outcome(() => admin.status(job.id));
const chunks = [];
for await (const chunk of alice.stream(job.id)) {
  chunks.push(chunk);
}
out.stream = chunks;
out.statusAfterStream = await outcome(() => alice.status(job.id));

const doomed = await alice.run({ input: { prompt: "cancel me" } });
out.cancel = await outcome(() => alice.cancel(doomed.id));

await alice.run({ input: { prompt: "purge me" } });
out.bobPurge = await outcome(() => bob.purgeQueue());
out.purge = await outcome(() => admin.purgeQueue());

// A job that outlasts runsync's wait: the SDK goes on with status-sync.
out.runSync = await outcome(() => alice.runSync({ input: { prompt: "long" } }, 3000));

console.log(JSON.stringify(out));
