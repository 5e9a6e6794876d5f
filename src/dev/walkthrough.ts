/** The copy-paste tour `jit-broker dev` prints. Every command runs as printed (no jq needed). */
export function walkthrough(broker: string, issuer: string, store: string): string {
  const field = (name: string) => `sed -n 's/.*"${name}":"\\([^"]*\\)".*/\\1/p'`;
  return `
jit-broker dev is running at ${broker}
  leases: ${store}; demo identity issuer (dev only, loopback): ${issuer}
  events are printed below as JSON lines; logs go to stderr.

Paste these into another shell:

# 1. A workload token for the demo agent (dev issuer; in production: K8s, GitHub Actions, SPIFFE)
AGENT=$(curl -s -X POST ${issuer}/token/demo-agent)

# 2. Ask for a credential bound to one task
curl -s ${broker}/v1/credentials -H "authorization: Bearer $AGENT" -H 'content-type: application/json' \\
  -d '{"target":"tickets-api","scope":{"scopes":["tickets:read"]},"ttl":120,"task":{"id":"task-42","intent":"triage"}}' | tee /tmp/jit-credential.json
LEASE=$(${field('lease_id')} /tmp/jit-credential.json); TOKEN=$(${field('token')} /tmp/jit-credential.json)

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

# 7. Lift the block
curl -s -X POST ${broker}/v1/workloads/demo-agent/unblock -H "authorization: Bearer $OPS"
`;
}
