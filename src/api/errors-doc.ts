import { type BrokerErrorCode, ERROR_DESCRIPTIONS } from '../errors.js';
import { STATUS } from './problem.js';

/**
 * `docs/errors.md`: every problem `code` with its status and meaning, written from the status
 * table and the descriptions, so the page cannot drift from what the broker answers.
 */
export function errorsMarkdown(): string {
  const codes = (Object.keys(STATUS) as BrokerErrorCode[]).sort(
    (a, b) => STATUS[a] - STATUS[b] || a.localeCompare(b),
  );
  const rows = codes.map(
    (code) =>
      `| \`${code}\` | ${STATUS[code]} | ${ERROR_DESCRIPTIONS[code].replaceAll('|', '\\|')} |`,
  );
  return `<!-- generated: npx tsx src/main.ts errors > docs/errors.md -->
# Errors

Every error the API answers is \`application/problem+json\` (RFC 9457):

\`\`\`json
{
  "type": "about:blank",
  "title": "Denied by policy",
  "status": 403,
  "code": "policy_denied",
  "detail": "no policy allows this request",
  "request_id": "req_…",
  "reasons": [{ "code": "condition_false", "message": "the policy condition is not met", "policy": "demo-agent-tickets" }]
}
\`\`\`

\`type\` is always \`about:blank\`: switch on \`code\`, which is stable; \`title\` and \`detail\` are
for people and may change. \`reasons\` (policy denials) and \`errors\` (schema failures, each a
\`path\` and a \`message\`) appear when they apply. A 401 carries \`WWW-Authenticate\`; a 429 or
503 that may pass carries \`Retry-After\`. Quote \`request_id\` (also the \`x-request-id\`
header) when asking an operator: every event the request caused carries it.

The \`/oauth/*\` routes (token, revocation, authorization) answer RFC 6749 errors instead
(\`{error, error_description}\`); the README's OAuth section and \`docs/mcp.md\` map these
codes to them.

| code | status | meaning |
|---|---|---|
${rows.join('\n')}
`;
}
