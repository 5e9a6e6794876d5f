import { createHash, generateKeyPair, type KeyObject, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { errors as joseErrors, jwtVerify } from 'jose';

/**
 * A fake GitHub REST API that speaks the wire protocol used by `@octokit/auth-app` (app JWT →
 * installation access token) and `@octokit/request` (calls made with `token ghs_…`). Only the few
 * endpoints the broker touches are modelled; everything else answers 404 like GitHub does.
 */

export type PermissionLevel = 'read' | 'write' | 'admin';

export interface GitHubFakeOptions {
  /** Organisation that owns the installation's repositories. Default 'acme'. */
  owner?: string;
  /** Repository names in the installation. Default ['api', 'web', 'docs']. */
  repositories?: string[];
  /** What the installation was granted. Default contents/pull_requests/issues write, metadata read. */
  installationPermissions?: Record<string, PermissionLevel>;
  /** Lifetime of minted installation tokens. Default 3_600_000 (GitHub: 1 h). */
  tokenTtlMs?: number;
}

export interface GitHubFakeRequest {
  method: string;
  /** Path without the query string, as sent (not percent-decoded). */
  path: string;
  /** Lower-case header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Parsed JSON body, or null when there was none or it was not JSON. */
  body: unknown;
}

export interface GitHubFakeToken {
  token: string;
  repositories: string[];
  permissions: Record<string, string>;
  expiresAt: number;
}

export interface GitHubFakeAnswer {
  status: number;
  /** JSON body. When omitted, an error status gets a GitHub-shaped error body, others none. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GitHubFake {
  /** Base URL, http://127.0.0.1:<port> (use as octokit baseUrl). */
  readonly url: string;
  readonly appId: string;
  readonly installationId: number;
  /** PKCS#8 PEM of the app's RSA 2048 key. */
  readonly privateKeyPem: string;
  readonly owner: string;
  /** Live (minted, not revoked, not expired) tokens with what each grants. */
  liveTokens(): GitHubFakeToken[];
  /** Every request seen: method, path (no query), headers (lower-case), parsed JSON body or null. */
  readonly requests: GitHubFakeRequest[];
  /** The next request matching method + path prefix gets this answer instead (once). */
  failNext(match: { method: string; path: string }, answer: GitHubFakeAnswer): void;
  /** Makes every call hang for `ms` first (to test timeouts/concurrency). 0 = off. */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export const GITHUB_MESSAGES = {
  jwtUndecodable: 'A JSON web token could not be decoded',
  jwtExpired:
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
  jwtTooLong: "'Expiration time' claim ('exp') is too far in the future",
  jwtIatFuture:
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
  badCredentials: 'Bad credentials',
  requiresAuthentication: 'Requires authentication',
  notFound: 'Not Found',
  notAccessible: 'Resource not accessible by integration',
  unknownRepository:
    'There is at least one repository that does not exist or is not accessible to the parent installation.',
  permissionsNotGranted: 'The permissions requested are not granted to this installation.',
  tooManyRepositories: 'Too many repositories specified. You can specify at most 500 repositories.',
  problemsParsingJson: 'Problems parsing JSON',
} as const;

const DOCUMENTATION_URL = 'https://docs.github.com/rest';
const JSON_TYPE = 'application/json; charset=utf-8';
const RATE_LIMIT = 5000;
const MAX_REPOSITORIES = 500;
/** Seconds of slack on the 10-minute JWT lifetime limit and on `iat` in the future. */
const JWT_LEEWAY_S = 5;
const IAT_FUTURE_LIMIT_S = 60;
const LEVELS: Record<PermissionLevel, number> = { read: 1, write: 2, admin: 3 };
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HELLO = Buffer.from('hello');

const generateRsa = promisify(generateKeyPair);

interface Repo {
  id: number;
  name: string;
}

interface MintedToken {
  token: string;
  repos: Repo[];
  selection: 'selected' | 'all';
  permissions: Record<string, PermissionLevel>;
  expiresAt: number;
  revoked: boolean;
}

interface Pending {
  method: string;
  path: string;
  answer: GitHubFakeAnswer;
}

class HttpFailure {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

function isLevel(value: unknown): value is PermissionLevel {
  return value === 'read' || value === 'write' || value === 'admin';
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function mintTokenString(): string {
  let out = 'ghs_';
  for (let i = 0; i < 36; i++) out += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return out;
}

function requestId(): string {
  const hex = (bytes: number) => randomBytes(bytes).toString('hex').toUpperCase();
  return `${hex(2)}:${hex(2)}:${hex(3)}:${hex(4)}:${hex(4)}`;
}

function gitBlobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** `Authorization: <scheme> <credential>`; the scheme is case-insensitive. */
function credential(headers: Record<string, string>, schemes: string[]): string | undefined {
  const header = headers.authorization;
  if (header === undefined) return undefined;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (match === null) return '';
  const scheme = match[1]!.toLowerCase();
  return schemes.includes(scheme) ? match[2]! : '';
}

export async function startGitHubFake(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const owner = options.owner ?? 'acme';
  const repoNames = options.repositories ?? ['api', 'web', 'docs'];
  const installationPermissions: Record<string, PermissionLevel> = {
    ...(options.installationPermissions ?? {
      contents: 'write',
      pull_requests: 'write',
      issues: 'write',
      metadata: 'read',
    }),
  };
  const tokenTtlMs = options.tokenTtlMs ?? 3_600_000;
  const appId = '123456';
  const installationId = 987654;

  const { privateKey, publicKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const appPublicKey: KeyObject = publicKey;

  const repos: Repo[] = repoNames.map((name, i) => ({ id: 100_001 + i, name }));
  const tokens = new Map<string, MintedToken>();
  const requests: GitHubFakeRequest[] = [];
  const pending: Pending[] = [];
  const closing = new AbortController();
  let latencyMs = 0;
  let rateRemaining = RATE_LIMIT;
  const rateReset = Math.floor(Date.now() / 1000) + 3600;

  const repoObject = (repo: Repo) => ({
    id: repo.id,
    node_id: Buffer.from(`010:Repository${repo.id}`).toString('base64'),
    name: repo.name,
    full_name: `${owner}/${repo.name}`,
    private: true,
    owner: { login: owner, id: 4_242, type: 'Organization' },
    html_url: `https://github.com/${owner}/${repo.name}`,
    default_branch: 'main',
  });

  const findRepo = (name: string): Repo | undefined =>
    repos.find((r) => r.name.toLowerCase() === name.toLowerCase());

  const live = (t: MintedToken, now = Date.now()) => !t.revoked && t.expiresAt > now;

  // --- auth -----------------------------------------------------------------------------------

  async function requireAppJwt(headers: Record<string, string>): Promise<void> {
    const jwt = credential(headers, ['bearer']);
    if (jwt === undefined) throw new HttpFailure(401, GITHUB_MESSAGES.requiresAuthentication);
    if (jwt === '') throw new HttpFailure(401, GITHUB_MESSAGES.jwtUndecodable);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, appPublicKey, {
        algorithms: ['RS256'],
        requiredClaims: ['iss', 'iat', 'exp'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired && error.claim === 'exp') {
        throw new HttpFailure(401, GITHUB_MESSAGES.jwtExpired);
      }
      throw new HttpFailure(401, GITHUB_MESSAGES.jwtUndecodable);
    }
    const { iss, iat, exp } = payload;
    if ((typeof iss !== 'string' && typeof iss !== 'number') || String(iss) !== appId) {
      throw new HttpFailure(401, GITHUB_MESSAGES.jwtUndecodable);
    }
    if (typeof iat !== 'number' || typeof exp !== 'number') {
      throw new HttpFailure(401, GITHUB_MESSAGES.jwtUndecodable);
    }
    const nowS = Date.now() / 1000;
    if (!Number.isInteger(iat) || iat > nowS + IAT_FUTURE_LIMIT_S) {
      throw new HttpFailure(401, GITHUB_MESSAGES.jwtIatFuture);
    }
    if (exp - iat > 600 + JWT_LEEWAY_S) throw new HttpFailure(401, GITHUB_MESSAGES.jwtTooLong);
  }

  function requireToken(headers: Record<string, string>): MintedToken {
    const value = credential(headers, ['token', 'bearer']);
    if (value === undefined) throw new HttpFailure(401, GITHUB_MESSAGES.requiresAuthentication);
    const token = tokens.get(value);
    if (token === undefined || !live(token)) {
      throw new HttpFailure(401, GITHUB_MESSAGES.badCredentials);
    }
    return token;
  }

  function requireInstallation(id: string): void {
    if (id !== String(installationId)) throw new HttpFailure(404, GITHUB_MESSAGES.notFound);
  }

  // --- endpoints ------------------------------------------------------------------------------

  function createAccessToken(body: unknown, bodyText: string): [number, unknown] {
    let request: Record<string, unknown> = {};
    if (bodyText.trim() !== '') {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new HttpFailure(400, GITHUB_MESSAGES.problemsParsingJson);
      }
      request = body as Record<string, unknown>;
    }
    const { repositories, repository_ids: repositoryIds, permissions } = request;

    const invalid = (what: string) => new HttpFailure(422, `Invalid request.\n\n${what}`);
    if (repositories !== undefined) {
      if (!Array.isArray(repositories) || !repositories.every((r) => typeof r === 'string')) {
        throw invalid("For 'properties/repositories', value is not an array of strings.");
      }
    }
    if (repositoryIds !== undefined) {
      if (!Array.isArray(repositoryIds) || !repositoryIds.every((r) => Number.isInteger(r))) {
        throw invalid("For 'properties/repository_ids', value is not an array of integers.");
      }
    }
    if (
      permissions !== undefined &&
      (permissions === null || typeof permissions !== 'object' || Array.isArray(permissions))
    ) {
      throw invalid("For 'properties/permissions', value is not an object.");
    }

    const names = (repositories ?? []) as string[];
    const ids = (repositoryIds ?? []) as number[];
    if (names.length + ids.length > MAX_REPOSITORIES) {
      throw new HttpFailure(422, GITHUB_MESSAGES.tooManyRepositories);
    }
    const selected = new Map<number, Repo>();
    for (const name of names) {
      const repo = findRepo(name);
      if (repo === undefined) throw new HttpFailure(422, GITHUB_MESSAGES.unknownRepository);
      selected.set(repo.id, repo);
    }
    for (const id of ids) {
      const repo = repos.find((r) => r.id === id);
      if (repo === undefined) throw new HttpFailure(422, GITHUB_MESSAGES.unknownRepository);
      selected.set(repo.id, repo);
    }

    let granted: Record<string, PermissionLevel> = { ...installationPermissions };
    const requested = (permissions ?? {}) as Record<string, unknown>;
    if (Object.keys(requested).length > 0) {
      granted = {};
      for (const [name, level] of Object.entries(requested)) {
        if (!isLevel(level)) {
          throw invalid(`For 'properties/${name}', "${String(level)}" is not a valid level.`);
        }
        const has = installationPermissions[name];
        if (has === undefined || LEVELS[level] > LEVELS[has]) {
          throw new HttpFailure(422, GITHUB_MESSAGES.permissionsNotGranted);
        }
        granted[name] = level;
      }
    }

    const narrowed = selected.size > 0;
    const minted: MintedToken = {
      token: mintTokenString(),
      repos: narrowed ? [...selected.values()] : [...repos],
      selection: narrowed ? 'selected' : 'all',
      permissions: granted,
      expiresAt: Date.now() + tokenTtlMs,
      revoked: false,
    };
    tokens.set(minted.token, minted);
    return [
      201,
      {
        token: minted.token,
        expires_at: isoSeconds(minted.expiresAt),
        permissions: { ...granted },
        repository_selection: minted.selection,
        ...(narrowed ? { repositories: minted.repos.map(repoObject) } : {}),
      },
    ];
  }

  function installationObject() {
    return {
      id: installationId,
      account: { login: owner, id: 4_242, type: 'Organization' },
      repository_selection: 'selected',
      app_id: Number(appId),
      target_type: 'Organization',
      permissions: { ...installationPermissions },
      events: [],
      suspended_at: null,
    };
  }

  function repoForToken(token: MintedToken, ownerName: string, repoName: string): Repo {
    if (ownerName.toLowerCase() !== owner.toLowerCase()) {
      throw new HttpFailure(404, GITHUB_MESSAGES.notFound);
    }
    const repo = token.repos.find((r) => r.name.toLowerCase() === repoName.toLowerCase());
    if (repo === undefined) throw new HttpFailure(404, GITHUB_MESSAGES.notFound);
    return repo;
  }

  function needPermission(token: MintedToken, name: string, level: PermissionLevel): void {
    const has = token.permissions[name];
    if (has === undefined || LEVELS[has] < LEVELS[level]) {
      throw new HttpFailure(403, GITHUB_MESSAGES.notAccessible);
    }
  }

  async function route(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: unknown,
    bodyText: string,
  ): Promise<[number, unknown]> {
    const raw = path.split('/').slice(1);
    const seg = raw.map(decodeSegment);
    if (seg.some((s) => s === undefined)) throw new HttpFailure(404, GITHUB_MESSAGES.notFound);
    const s = seg as string[];
    const at = (i: number) => s[i] ?? '';

    if (at(0) === 'app' && at(1) === 'installations' && s.length >= 3) {
      if (method === 'POST' && s.length === 4 && at(3) === 'access_tokens') {
        await requireAppJwt(headers);
        requireInstallation(at(2));
        return createAccessToken(body, bodyText);
      }
      if (method === 'GET' && s.length === 3) {
        await requireAppJwt(headers);
        requireInstallation(at(2));
        return [200, installationObject()];
      }
    }

    if (at(0) === 'installation' && s.length === 2) {
      if (method === 'DELETE' && at(1) === 'token') {
        requireToken(headers).revoked = true;
        return [204, undefined];
      }
      if (method === 'GET' && at(1) === 'repositories') {
        const token = requireToken(headers);
        return [
          200,
          {
            total_count: token.repos.length,
            repository_selection: token.selection,
            repositories: token.repos.map(repoObject),
          },
        ];
      }
    }

    if (at(0) === 'repos' && s.length >= 3) {
      if (method === 'GET' && s.length === 3) {
        const token = requireToken(headers);
        return [200, repoObject(repoForToken(token, at(1), at(2)))];
      }
      if ((method === 'GET' || method === 'PUT') && at(3) === 'contents' && s.length >= 5) {
        const token = requireToken(headers);
        const repo = repoForToken(token, at(1), at(2));
        const filePath = s.slice(4).join('/');
        const name = filePath.split('/').pop() ?? '';
        if (name === '') throw new HttpFailure(404, GITHUB_MESSAGES.notFound);
        const urlOf = `https://api.github.com/repos/${owner}/${repo.name}/contents/${filePath}`;
        if (method === 'GET') {
          needPermission(token, 'contents', 'read');
          return [
            200,
            {
              type: 'file',
              encoding: 'base64',
              size: HELLO.length,
              name,
              path: filePath,
              content: HELLO.toString('base64'),
              sha: gitBlobSha(HELLO),
              url: urlOf,
            },
          ];
        }
        needPermission(token, 'contents', 'write');
        const put = (body ?? {}) as Record<string, unknown>;
        if (typeof put.message !== 'string') {
          throw new HttpFailure(422, 'Invalid request.\n\n"message" wasn\'t supplied.');
        }
        if (typeof put.content !== 'string') {
          throw new HttpFailure(422, 'Invalid request.\n\n"content" wasn\'t supplied.');
        }
        const content = Buffer.from(put.content, 'base64');
        return [
          201,
          {
            content: {
              type: 'file',
              name,
              path: filePath,
              size: content.length,
              sha: gitBlobSha(content),
              url: urlOf,
            },
            commit: { sha: randomBytes(20).toString('hex'), message: put.message },
          },
        ];
      }
    }

    throw new HttpFailure(404, GITHUB_MESSAGES.notFound);
  }

  // --- HTTP plumbing --------------------------------------------------------------------------

  function errorBody(status: number, message: string) {
    return { message, documentation_url: DOCUMENTATION_URL, status: String(status) };
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    extraHeaders: Record<string, string> = {},
  ): void {
    if (res.destroyed || res.headersSent) return;
    rateRemaining = Math.max(0, rateRemaining - 1);
    const headers: Record<string, string> = {
      'x-github-request-id': requestId(),
      'x-ratelimit-limit': String(RATE_LIMIT),
      'x-ratelimit-remaining': String(rateRemaining),
      'x-ratelimit-used': String(RATE_LIMIT - rateRemaining),
      'x-ratelimit-reset': String(rateReset),
      'x-ratelimit-resource': 'core',
      'x-github-media-type': 'github.v3; format=json',
    };
    let payload: string | undefined;
    if (body !== undefined && status !== 204) {
      payload = JSON.stringify(body);
      headers['content-type'] = JSON_TYPE;
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
    res.writeHead(status, headers);
    res.end(payload);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const headers = flattenHeaders(req);
    const bodyText = await readBody(req);
    let body: unknown = null;
    if (bodyText.trim() !== '') {
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = null;
      }
    }
    requests.push({ method, path, headers, body });

    if (latencyMs > 0) {
      try {
        await sleep(latencyMs, undefined, { signal: closing.signal });
      } catch {
        return;
      }
    }

    const index = pending.findIndex((p) => p.method === method && path.startsWith(p.path));
    if (index >= 0) {
      const { answer } = pending.splice(index, 1)[0]!;
      const injected =
        answer.body === undefined && answer.status >= 400
          ? errorBody(answer.status, STATUS_CODES[answer.status] ?? 'Error')
          : answer.body;
      send(res, answer.status, injected, answer.headers ?? {});
      return;
    }

    if (
      bodyText.trim() !== '' &&
      body === null &&
      (method === 'POST' || method === 'PUT' || method === 'PATCH')
    ) {
      send(res, 400, errorBody(400, GITHUB_MESSAGES.problemsParsingJson));
      return;
    }

    try {
      const [status, answer] = await route(method, path, headers, body, bodyText);
      send(res, status, answer);
    } catch (error) {
      if (error instanceof HttpFailure) {
        send(res, error.status, errorBody(error.status, error.message));
      } else {
        send(res, 500, errorBody(500, error instanceof Error ? error.message : String(error)));
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, errorBody(500, 'Server Error'));
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    appId,
    installationId,
    privateKeyPem,
    owner,
    requests,
    liveTokens() {
      const now = Date.now();
      return [...tokens.values()]
        .filter((t) => live(t, now))
        .map((t) => ({
          token: t.token,
          repositories: t.repos.map((r) => r.name),
          permissions: { ...t.permissions },
          expiresAt: t.expiresAt,
        }));
    },
    failNext(match, answer) {
      pending.push({ method: match.method.toUpperCase(), path: match.path, answer });
    },
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
