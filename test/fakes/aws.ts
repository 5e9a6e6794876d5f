import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSimulation } from '@cloud-copilot/iam-simulate';

/**
 * A fake of the two AWS Query APIs the broker calls: STS (`AssumeRole`, `GetCallerIdentity`)
 * and IAM (`GetRolePolicy`, `PutRolePolicy`). Requests are form-encoded POSTs with a SigV4
 * `Authorization` header; answers are the XML documents AWS sends, errors included. What a
 * minted session may do is decided by `@cloud-copilot/iam-simulate` over the role's
 * policies (the broker's Deny policy among them) and the session policy, at a given time,
 * with the session's user id, principal tags and token issue time as request context.
 *
 * Like AWS, the fake also takes calls signed with a session's temporary credentials (an
 * `ASIA…` key id, the session's secret, its token in `X-Amz-Security-Token`) until the
 * session's STS expiry: `GetCallerIdentity` answers with the assumed-role ARN and
 * `<RoleId>:<session name>` (it needs no permission, so a Deny does not stop it); any other
 * action a session signs is evaluated by the simulator like `check` and refused unless allowed.
 */

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_ACTIONS = new Set(['AssumeRole', 'GetCallerIdentity']);
const IAM_ACTIONS = new Set(['GetRolePolicy', 'PutRolePolicy', 'GetRole']);
/** AWS: all inline policies of a role together, whitespace not counted. */
export const IAM_ROLE_INLINE_POLICY_LIMIT = 10_240;
export const STS_SESSION_POLICY_LIMIT = 2_048;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/([a-z]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface AwsFakeRole {
  name: string;
  arn: string;
  /** `AROA…`: the first half of a session's `aws:userid`. */
  roleId: string;
  /** Inline policies by name (JSON text as stored). */
  policies: Map<string, string>;
  maxSessionDuration: number;
  externalId?: string;
}

export interface AwsFakeSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleName: string;
  sessionName: string;
  sourceIdentity?: string;
  tags: Record<string, string>;
  /** The session policy as parsed, or undefined when none was passed. */
  policy?: unknown;
  durationSeconds: number;
  issuedAt: number;
  expiresAt: number;
}

export interface AwsFakeError {
  status: number;
  code: string;
  message: string;
  type?: 'Sender' | 'Receiver';
}

export interface CheckQuery {
  /** The session's access key id (`ASIA…`). */
  accessKeyId: string;
  action: string;
  resource: string;
  /** When the request is made (ms since epoch or a Date). Default now. */
  at?: number | Date;
}

export interface AwsFake {
  /** The one endpoint serving both STS and IAM (the SigV4 service name tells them apart). */
  readonly url: string;
  readonly accountId: string;
  readonly region: string;
  /** The broker's own long-term key; the tests put it in `AWS_ACCESS_KEY_ID`/`…SECRET…`. */
  readonly brokerCredentials: { accessKeyId: string; secretAccessKey: string };
  createRole(options?: {
    name?: string;
    /** The role's permission policy; default allows `s3:*` on everything. */
    permissions?: unknown;
    maxSessionDuration?: number;
    externalId?: string;
  }): AwsFakeRole;
  role(name: string): AwsFakeRole | undefined;
  /** The parsed inline policy, or undefined. */
  rolePolicy(roleName: string, policyName: string): unknown;
  /** How many calls of each action arrived (failed ones included). */
  callCounts(): Record<string, number>;
  calls(action: string): number;
  sessions(): AwsFakeSession[];
  /** May the session do `action` on `resource` at `at`? Evaluated by iam-simulate. */
  check(query: CheckQuery): Promise<Decision>;
  /** Ends the session's STS lifetime now: its key is refused with `ExpiredToken` from then on. */
  expireSession(accessKeyId: string): void;
  /** The next call of `action` gets this error instead (once). */
  failNext(action: string, error: AwsFakeError): void;
  /** Every call of `action` gets this error until called again with `undefined`. */
  failAlways(action: string, error: AwsFakeError | undefined): void;
  /** Every call waits this long before it is handled (0 = off). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

interface ParsedCall {
  action: string;
  params: URLSearchParams;
  service: string;
  accessKeyId: string;
  /** Present when the call was signed with a session's temporary credentials. */
  session?: AwsFakeSession;
}

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

const xmlEscape = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

const isoSeconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

function keyId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(16);
  return prefix + Array.from(bytes, (b) => alphabet[b % 32]).join('');
}

/** SigV4 (AWS's signing process): the signature a request signed with `secret` must carry. */
function sigV4(
  req: IncomingMessage,
  body: string,
  o: {
    amzDate: string;
    date: string;
    region: string;
    service: string;
    signedHeaders: string;
    secret: string;
  },
): string {
  const url = new URL(req.url ?? '/', 'http://fake');
  const query = [...url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
  const headers = o.signedHeaders
    .split(';')
    .map((name) => {
      const value = req.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const payload = createHash('sha256').update(body).digest('hex');
  const canonical = [req.method, url.pathname, query, headers, o.signedHeaders, payload].join('\n');
  const scope = `${o.date}/${o.region}/${o.service}/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    o.amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) =>
    createHmac('sha256', key).update(data).digest();
  let key = hmac(`AWS4${o.secret}`, o.date);
  for (const part of [o.region, o.service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** Whitespace does not count toward IAM's policy size limits. */
const policyChars = (text: string) => text.replace(/\s+/g, '').length;

export async function startAwsFake(
  options: { accountId?: string; region?: string } = {},
): Promise<AwsFake> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const brokerCredentials = {
    accessKeyId: keyId('AKIA'),
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  const roles = new Map<string, AwsFakeRole>();
  const permissions = new Map<string, unknown>();
  const sessions = new Map<string, AwsFakeSession>();
  const counts: Record<string, number> = {};
  const failures = new Map<string, AwsFakeError[]>();
  const persistent = new Map<string, AwsFakeError>();
  let latency = 0;

  function parseCall(req: IncomingMessage, body: string): ParsedCall {
    if (req.method !== 'POST')
      throw new AwsError(405, 'InvalidAction', 'Query API calls are POSTs');
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      throw new AwsError(400, 'InvalidParameterValue', 'body must be form-encoded');
    }
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    const auth = AUTHORIZATION.exec(req.headers.authorization ?? '');
    if (auth === null) {
      throw new AwsError(
        403,
        'IncompleteSignature',
        'Authorization header requires Credential, SignedHeaders and Signature parameters',
      );
    }
    const [, accessKeyId = '', date = '', , service = '', signed = ''] = auth;
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(date)) {
      throw new AwsError(
        403,
        'SignatureDoesNotMatch',
        'credential scope date differs from X-Amz-Date',
      );
    }
    if (!signed.split(';').includes('host') || !signed.split(';').includes('x-amz-date')) {
      throw new AwsError(403, 'IncompleteSignature', 'host and x-amz-date must be signed');
    }
    const session = signingSession(req, accessKeyId);
    const [, , , scopeRegion = '', , , signature = ''] = auth;
    const expectedSignature = sigV4(req, body, {
      amzDate,
      date,
      region: scopeRegion,
      service,
      signedHeaders: signed,
      secret: session?.secretAccessKey ?? brokerCredentials.secretAccessKey,
    });
    if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expectedSignature))) {
      throw new AwsError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
    const signedAt = Date.parse(
      amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    if (!(Math.abs(Date.now() - signedAt) <= 15 * 60_000)) {
      throw new AwsError(403, 'SignatureDoesNotMatch', 'Signature expired or not yet valid.');
    }
    const expected = STS_ACTIONS.has(action) ? 'sts' : IAM_ACTIONS.has(action) ? 'iam' : '';
    if (expected === '')
      throw new AwsError(400, 'InvalidAction', `Could not find operation ${action}`);
    if (service !== expected) {
      throw new AwsError(403, 'SignatureDoesNotMatch', `credential scope names service ${service}`);
    }
    const version = params.get('Version');
    if (version !== (service === 'sts' ? '2011-06-15' : '2010-05-08')) {
      throw new AwsError(400, 'InvalidParameterValue', `unsupported Version ${version}`);
    }
    return { action, params, service, accessKeyId, ...(session === undefined ? {} : { session }) };
  }

  /**
   * Who signed: the broker's own key (undefined), or a live session whose token came with the
   * request. AWS refuses an unknown key or a wrong token as an invalid token, and a session
   * past its STS expiry as expired.
   */
  function signingSession(req: IncomingMessage, accessKeyId: string): AwsFakeSession | undefined {
    if (accessKeyId === brokerCredentials.accessKeyId) return undefined;
    const session = sessions.get(accessKeyId);
    const token = req.headers['x-amz-security-token'];
    if (
      session === undefined ||
      typeof token !== 'string' ||
      token.length !== session.sessionToken.length ||
      !timingSafeEqual(Buffer.from(token), Buffer.from(session.sessionToken))
    ) {
      throw new AwsError(
        403,
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
      );
    }
    if (Date.now() >= session.expiresAt) {
      throw new AwsError(
        400,
        'ExpiredToken',
        'The security token included in the request is expired',
      );
    }
    return session;
  }

  /** A session may call anything but `GetCallerIdentity` only where its policies allow it. */
  async function authorizeSession(call: ParsedCall): Promise<void> {
    const { session, action, params, service } = call;
    if (session === undefined || action === 'GetCallerIdentity') return;
    const resource =
      service === 'iam'
        ? `arn:aws:iam::${accountId}:role/${params.get('RoleName') ?? ''}`
        : (params.get('RoleArn') ?? '*');
    const decision = await check({
      accessKeyId: session.accessKeyId,
      action: `${service}:${action}`,
      resource,
    });
    if (decision !== 'Allowed') {
      throw new AwsError(
        403,
        'AccessDenied',
        `User: ${sessionArn(session)} is not authorized to perform: ${service}:${action} on resource: ${resource}`,
      );
    }
  }

  const sessionArn = (session: AwsFakeSession) =>
    `arn:aws:sts::${accountId}:assumed-role/${session.roleName}/${session.sessionName}`;

  function required(params: URLSearchParams, name: string): string {
    const value = params.get(name);
    if (value === null || value === '') {
      throw new AwsError(
        400,
        'ValidationError',
        `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return value;
  }

  function roleByArn(arn: string): AwsFakeRole {
    const match = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(arn);
    const role = match && match[1] === accountId ? roles.get(match[2] ?? '') : undefined;
    if (role === undefined) {
      throw new AwsError(
        403,
        'AccessDenied',
        `User: arn:aws:iam::${accountId}:user/jit-broker is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
      );
    }
    return role;
  }

  function roleByName(name: string): AwsFakeRole {
    const role = roles.get(name);
    if (role === undefined) {
      throw new AwsError(404, 'NoSuchEntity', `The role with name ${name} cannot be found.`);
    }
    return role;
  }

  function assumeRole(params: URLSearchParams): string {
    const role = roleByArn(required(params, 'RoleArn'));
    const sessionName = required(params, 'RoleSessionName');
    if (!SESSION_NAME.test(sessionName)) {
      throw new AwsError(
        400,
        'ValidationError',
        "Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
      );
    }
    const duration = Number(params.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < 900) {
      throw new AwsError(
        400,
        'ValidationError',
        "Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
      );
    }
    if (duration > role.maxSessionDuration) {
      throw new AwsError(
        400,
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    if (role.externalId !== undefined && params.get('ExternalId') !== role.externalId) {
      throw new AwsError(
        403,
        'AccessDenied',
        `User is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`,
      );
    }
    const sourceIdentity = params.get('SourceIdentity') ?? undefined;
    if (
      sourceIdentity !== undefined &&
      (!SESSION_NAME.test(sourceIdentity) || sourceIdentity.startsWith('aws:'))
    ) {
      throw new AwsError(
        400,
        'ValidationError',
        "Value at 'sourceIdentity' failed to satisfy constraint",
      );
    }
    const tags: Record<string, string> = {};
    for (let n = 1; params.has(`Tags.member.${n}.Key`); n++) {
      const key = params.get(`Tags.member.${n}.Key`) ?? '';
      const value = params.get(`Tags.member.${n}.Value`) ?? '';
      if (!TAG_KEY.test(key) || !TAG_VALUE.test(value) || key.toLowerCase().startsWith('aws:')) {
        throw new AwsError(
          400,
          'ValidationError',
          `tag ${n} does not satisfy the tag key or value constraints`,
        );
      }
      if (Object.keys(tags).some((k) => k.toLowerCase() === key.toLowerCase())) {
        throw new AwsError(
          400,
          'InvalidParameterValue',
          'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
        );
      }
      tags[key] = value;
    }
    if (Object.keys(tags).length > 50) {
      throw new AwsError(
        400,
        'ValidationError',
        'Member must have length less than or equal to 50',
      );
    }
    const policyText = params.get('Policy') ?? undefined;
    let policy: unknown;
    if (policyText !== undefined) {
      if (policyText.length > STS_SESSION_POLICY_LIMIT) {
        throw new AwsError(
          400,
          'ValidationError',
          `Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${STS_SESSION_POLICY_LIMIT}`,
        );
      }
      try {
        policy = JSON.parse(policyText);
      } catch {
        throw new AwsError(400, 'MalformedPolicyDocument', 'Syntax errors in policy.');
      }
    }
    // The packed form is AWS's own binary encoding of the policy and tags; this estimate is
    // the fake's, and only its threshold (100 %) is what the real service enforces.
    const tagChars = Object.entries(tags).reduce((n, [k, v]) => n + k.length + v.length, 0);
    const packed = Math.ceil((100 * ((policyText?.length ?? 0) * 0.5 + tagChars)) / 1200);
    if (packed > 100) {
      throw new AwsError(
        400,
        'PackedPolicyTooLarge',
        `Packed size of the session policy and session tags exceeds the limit: ${packed}% of allowed size`,
      );
    }
    const now = Date.now();
    const session: AwsFakeSession = {
      accessKeyId: keyId('ASIA'),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      roleName: role.name,
      sessionName,
      ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
      tags,
      ...(policy === undefined ? {} : { policy }),
      durationSeconds: duration,
      issuedAt: now,
      expiresAt: Math.floor(now / 1000) * 1000 + duration * 1000,
    };
    sessions.set(session.accessKeyId, session);
    return `<AssumeRoleResponse xmlns="${STS_NS}">
  <AssumeRoleResult>
${sourceIdentity === undefined ? '' : `    <SourceIdentity>${xmlEscape(sourceIdentity)}</SourceIdentity>\n`}    <AssumedRoleUser>
      <Arn>arn:aws:sts::${accountId}:assumed-role/${xmlEscape(role.name)}/${xmlEscape(sessionName)}</Arn>
      <AssumedRoleId>${role.roleId}:${xmlEscape(sessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${session.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xmlEscape(session.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xmlEscape(session.sessionToken)}</SessionToken>
      <Expiration>${isoSeconds(session.expiresAt)}</Expiration>
    </Credentials>
    <PackedPolicySize>${packed}</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`;
  }

  function getCallerIdentity(_params: URLSearchParams, session?: AwsFakeSession): string {
    const roleId = session === undefined ? undefined : roles.get(session.roleName)?.roleId;
    const arn =
      session === undefined
        ? `arn:aws:iam::${accountId}:user/jit-broker`
        : xmlEscape(sessionArn(session));
    const userId =
      session === undefined
        ? `AIDA${brokerCredentials.accessKeyId.slice(4)}`
        : `${roleId ?? ''}:${xmlEscape(session.sessionName)}`;
    return `<GetCallerIdentityResponse xmlns="${STS_NS}">
  <GetCallerIdentityResult>
    <Arn>${arn}</Arn>
    <UserId>${userId}</UserId>
    <Account>${accountId}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>`;
  }

  function getRolePolicy(params: URLSearchParams): string {
    const role = roleByName(required(params, 'RoleName'));
    const name = required(params, 'PolicyName');
    const document = role.policies.get(name);
    if (document === undefined) {
      throw new AwsError(404, 'NoSuchEntity', `The role policy with name ${name} cannot be found.`);
    }
    return `<GetRolePolicyResponse xmlns="${IAM_NS}">
  <GetRolePolicyResult>
    <PolicyName>${xmlEscape(name)}</PolicyName>
    <RoleName>${xmlEscape(role.name)}</RoleName>
    <PolicyDocument>${xmlEscape(encodeURIComponent(document))}</PolicyDocument>
  </GetRolePolicyResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</GetRolePolicyResponse>`;
  }

  function putRolePolicy(params: URLSearchParams): string {
    const role = roleByName(required(params, 'RoleName'));
    const name = required(params, 'PolicyName');
    const document = required(params, 'PolicyDocument');
    let parsed: { Version?: unknown; Statement?: unknown };
    try {
      parsed = JSON.parse(document) as typeof parsed;
    } catch {
      throw new AwsError(400, 'MalformedPolicyDocument', 'Syntax errors in policy.');
    }
    if (parsed.Version !== '2012-10-17' || !Array.isArray(parsed.Statement)) {
      throw new AwsError(
        400,
        'MalformedPolicyDocument',
        'Policy document must have Version 2012-10-17 and a Statement list.',
      );
    }
    let total = policyChars(document);
    for (const [other, text] of role.policies) if (other !== name) total += policyChars(text);
    if (total > IAM_ROLE_INLINE_POLICY_LIMIT) {
      throw new AwsError(
        409,
        'LimitExceeded',
        `Maximum policy size of ${IAM_ROLE_INLINE_POLICY_LIMIT} bytes exceeded for role ${role.name}`,
      );
    }
    role.policies.set(name, document);
    return `<PutRolePolicyResponse xmlns="${IAM_NS}">
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</PutRolePolicyResponse>`;
  }

  function getRole(params: URLSearchParams): string {
    const role = roleByName(required(params, 'RoleName'));
    return `<GetRoleResponse xmlns="${IAM_NS}">
  <GetRoleResult>
    <Role>
      <Path>/</Path>
      <RoleName>${xmlEscape(role.name)}</RoleName>
      <RoleId>${role.roleId}</RoleId>
      <Arn>${xmlEscape(role.arn)}</Arn>
      <CreateDate>2026-01-01T00:00:00Z</CreateDate>
      <MaxSessionDuration>${role.maxSessionDuration}</MaxSessionDuration>
    </Role>
  </GetRoleResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</GetRoleResponse>`;
  }

  const handlers: Record<string, (params: URLSearchParams, session?: AwsFakeSession) => string> = {
    AssumeRole: assumeRole,
    GetCallerIdentity: getCallerIdentity,
    GetRolePolicy: getRolePolicy,
    PutRolePolicy: putRolePolicy,
    GetRole: getRole,
  };

  function errorXml(service: string, err: AwsError): string {
    const inner = `<Error>
    <Type>${err.type}</Type>
    <Code>${xmlEscape(err.code)}</Code>
    <Message>${xmlEscape(err.message)}</Message>
  </Error>
  <RequestId>${randomUUID()}</RequestId>`;
    return `<ErrorResponse xmlns="${service === 'iam' ? IAM_NS : STS_NS}">
  ${inner}
</ErrorResponse>`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (req.url === '/_fake/check') {
      const query = JSON.parse(body) as CheckQuery;
      const decision = await check(query);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision }));
      return;
    }
    let service = 'sts';
    try {
      const call = parseCall(req, body);
      service = call.service;
      counts[call.action] = (counts[call.action] ?? 0) + 1;
      const injected = failures.get(call.action)?.shift() ?? persistent.get(call.action);
      if (injected !== undefined) {
        throw new AwsError(
          injected.status,
          injected.code,
          injected.message,
          injected.type ?? 'Sender',
        );
      }
      await authorizeSession(call);
      const handler = handlers[call.action] as (
        params: URLSearchParams,
        session?: AwsFakeSession,
      ) => string;
      const xml = handler(call.params, call.session);
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() }).end(xml);
    } catch (err) {
      const error =
        err instanceof AwsError
          ? err
          : new AwsError(500, 'InternalFailure', 'internal error', 'Receiver');
      res
        .writeHead(error.status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() })
        .end(errorXml(service, error));
    }
  }

  async function check(query: CheckQuery): Promise<Decision> {
    const session = sessions.get(query.accessKeyId);
    if (session === undefined) return 'ImplicitlyDenied';
    const at = query.at === undefined ? Date.now() : new Date(query.at).getTime();
    // An expired session's signature is refused before any policy is read.
    if (at >= session.expiresAt) return 'ImplicitlyDenied';
    const role = roleByName(session.roleName);
    const context: Record<string, string> = {
      'aws:CurrentTime': new Date(at).toISOString(),
      'aws:EpochTime': String(Math.floor(at / 1000)),
      'aws:TokenIssueTime': isoSeconds(session.issuedAt),
      'aws:userid': `${role.roleId}:${session.sessionName}`,
      'aws:PrincipalArn': role.arn,
      'aws:PrincipalAccount': accountId,
    };
    if (session.sourceIdentity !== undefined)
      context['aws:SourceIdentity'] = session.sourceIdentity;
    for (const [key, value] of Object.entries(session.tags))
      context[`aws:PrincipalTag/${key}`] = value;
    const identityPolicies = [
      { name: 'permissions', policy: permissions.get(role.name) },
      ...[...role.policies].map(([name, text]) => ({ name, policy: JSON.parse(text) as unknown })),
    ];
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:sts::${accountId}:assumed-role/${role.name}/${session.sessionName}`,
          action: query.action,
          resource: { resource: query.resource, accountId },
          contextVariables: context,
        },
        identityPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(session.policy === undefined ? {} : { sessionPolicy: session.policy }),
      },
      {},
    );
    if (result.resultType === 'error') {
      throw new Error(`iam-simulate refused the simulation: ${JSON.stringify(result.errors)}`);
    }
    return result.overallResult as Decision;
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    accountId,
    region,
    brokerCredentials,
    createRole(roleOptions = {}) {
      const name = roleOptions.name ?? `jit-${randomBytes(4).toString('hex')}`;
      const role: AwsFakeRole = {
        name,
        arn: `arn:aws:iam::${accountId}:role/${name}`,
        roleId: keyId('AROA').slice(0, 21),
        policies: new Map(),
        maxSessionDuration: roleOptions.maxSessionDuration ?? 3600,
        ...(roleOptions.externalId === undefined ? {} : { externalId: roleOptions.externalId }),
      };
      roles.set(name, role);
      permissions.set(
        name,
        roleOptions.permissions ?? {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        },
      );
      return role;
    },
    role: (name) => roles.get(name),
    rolePolicy(roleName, policyName) {
      const text = roles.get(roleName)?.policies.get(policyName);
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    },
    callCounts: () => ({ ...counts }),
    calls: (action) => counts[action] ?? 0,
    sessions: () => [...sessions.values()],
    check,
    expireSession(accessKeyId) {
      const session = sessions.get(accessKeyId);
      if (session !== undefined) session.expiresAt = Date.now();
    },
    failNext(action, error) {
      const queue = failures.get(action) ?? [];
      queue.push(error);
      failures.set(action, queue);
    },
    failAlways(action, error) {
      if (error === undefined) persistent.delete(action);
      else persistent.set(action, error);
    },
    setLatency(ms) {
      latency = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
