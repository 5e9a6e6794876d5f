/**
 * The copy-paste tour `jit-broker dev` prints. Every command runs as printed in bash or zsh
 * with only curl and node (which runs the broker anyway): JSON is read with `node -e`, since a
 * `sed` pattern breaks on the first escaped quote or reordered field.
 */
export function walkthrough(broker: string, issuer: string, store: string): string {
  // A credential is a secret even in a demo: the file is created 0600 (umask in a subshell, so
  // the user's shell keeps its own) under a fresh name, not a predictable path in /tmp.
  const field = `jit_field() { node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const k of process.argv[2].split(".")) v = v?.[k]; if (v === undefined) process.exit(1); console.log(v)' "$@"; }`;
  return `
jit-broker dev is running at ${broker}
  leases: ${store}; demo identity issuer (dev only, loopback): ${issuer}
  events are printed below as JSON lines; logs go to stderr.

Paste these into another shell:

# 0. A helper that reads one field of a JSON file (node is here already: it runs the broker)
${field}

# 1. A workload token for the demo agent (dev issuer; in production: K8s, GitHub Actions, SPIFFE)
AGENT=$(curl -s -X POST ${issuer}/token/demo-agent)

# 2. Ask for a credential bound to one task; it lands in a file only you can read (0600)
CRED=$(umask 077; mktemp "\${TMPDIR:-/tmp}/jit-credential.XXXXXX")
curl -s ${broker}/v1/credentials -H "authorization: Bearer $AGENT" -H 'content-type: application/json' \\
  -d '{"target":"tickets-api","scope":{"scopes":["tickets:read"]},"ttl":120,"task":{"id":"task-42","intent":"triage"}}' -o "$CRED"
LEASE=$(jit_field "$CRED" lease_id); TOKEN=$(jit_field "$CRED" credential.token); echo "lease $LEASE"

# 3. Look at the lease (metadata only: the credential is never shown again)
curl -s ${broker}/v1/leases/$LEASE -H "authorization: Bearer $AGENT"

# 4. The tickets API (a resource server) introspects the token: active
API=$(curl -s -X POST ${issuer}/token/demo-api)
curl -s ${broker}/v1/introspect -H "authorization: Bearer $API" --data-urlencode "token=$TOKEN"

# 5. An operator pulls the kill switch on the demo agent and blocks it
OPS=$(curl -s -X POST ${issuer}/operator-token/admin)
curl -s ${broker}/v1/workloads/demo-agent/revoke -H "authorization: Bearer $OPS" -H 'content-type: application/json' \\
  -d '{"reason":"walkthrough","block":true}'

# 6. The token is now inactive, and new requests are refused while the agent is blocked
curl -s ${broker}/v1/introspect -H "authorization: Bearer $API" --data-urlencode "token=$TOKEN"
curl -s ${broker}/v1/credentials -H "authorization: Bearer $AGENT" -H 'content-type: application/json' \\
  -d '{"target":"tickets-api","scope":{"scopes":["tickets:read"]},"task":{"id":"task-43","intent":"triage"}}'

# 7. Lift the block, and remove the credential file
curl -s -X POST ${broker}/v1/workloads/demo-agent/unblock -H "authorization: Bearer $OPS"
rm -f "$CRED"
`;
}
