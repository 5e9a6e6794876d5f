/** The two GitHub REST calls `read_file` makes, with an installation token it was given. */

const REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;
const MAX_FILE_BYTES = 1024 * 1024;

export class GithubError extends Error {
  constructor(readonly status: number) {
    super(`GitHub answered ${status}`);
    this.name = 'GithubError';
  }
}

export function isRepository(value: string): boolean {
  return REPOSITORY.test(value);
}

/**
 * A repository-relative path: segments of printable characters, none of them `.` or `..`,
 * no leading slash. Each segment is percent-encoded on the way out, so a path cannot reach
 * another endpoint of the API.
 */
const hasControl = (text: string) =>
  [...text].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c.codePointAt(0) === 0x7f);

export function safePath(value: string): string | undefined {
  if (value.length === 0 || value.length > 1024 || value.startsWith('/')) return undefined;
  const segments = value.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || hasControl(s))) return undefined;
  return segments.map(encodeURIComponent).join('/');
}

async function get(apiUrl: string, token: string, path: string): Promise<unknown> {
  const response = await fetch(`${apiUrl.replace(/\/+$/, '')}${path}`, {
    headers: {
      authorization: `token ${token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'jit-broker-mcp-github-example',
    },
    redirect: 'error',
  });
  if (!response.ok) throw new GithubError(response.status);
  return response.json();
}

/** The default branch, then the file at it: two calls with the one token of the task. */
export async function readRepositoryFile(
  apiUrl: string,
  token: string,
  repository: string,
  encodedPath: string,
): Promise<{ path: string; ref: string; text: string; sha: string }> {
  const repo = (await get(apiUrl, token, `/repos/${repository}`)) as { default_branch?: unknown };
  const ref = typeof repo.default_branch === 'string' ? repo.default_branch : 'main';
  const file = (await get(
    apiUrl,
    token,
    `/repos/${repository}/contents/${encodedPath}?ref=${encodeURIComponent(ref)}`,
  )) as { type?: unknown; encoding?: unknown; content?: unknown; path?: unknown; sha?: unknown };
  if (file.type !== 'file' || file.encoding !== 'base64' || typeof file.content !== 'string')
    throw new GithubError(422);
  const bytes = Buffer.from(file.content, 'base64');
  if (bytes.length > MAX_FILE_BYTES) throw new GithubError(413);
  return {
    path: typeof file.path === 'string' ? file.path : encodedPath,
    ref,
    text: bytes.toString('utf8'),
    sha: typeof file.sha === 'string' ? file.sha : '',
  };
}
