/**
 * Exit codes of `jit-broker events verify`, so that a script can tell a forged trail from
 * one it cannot vouch for yet:
 *
 * - 0 `ok`: every event is covered by a signature from an anchored key (or, with
 *   `--trust-embedded-key`, the key the file announces), and every replica's run ends with
 *   the checkpoint its bus signs at shutdown.
 * - 1 `invalid`: an event was altered, dropped, reordered or inserted, or a chain is signed
 *   by a key that is not anchored. The report names the first bad event of each replica.
 * - 2 `usage`: bad options, unreadable input or keys, or no anchor (`--jwks`,
 *   `--public-key`) and no `--trust-embedded-key`: nothing was proven.
 * - 3 `uncovered`: what is there verifies, but a run ends with events no signature covers,
 *   or without the shutdown checkpoint: its tail may have been cut off (or the replica is
 *   still running; verify again after its next checkpoint); or it does not start at its
 *   genesis, so its head may have been cut off (`--allow-partial` accepts a window).
 *
 * When several apply, the first in the order 1, 2, 3 wins.
 */
export const VERIFY_EXIT = { ok: 0, invalid: 1, usage: 2, uncovered: 3 } as const;
export type VerifyExit = (typeof VERIFY_EXIT)[keyof typeof VERIFY_EXIT];

const PRECEDENCE: readonly VerifyExit[] = [
  VERIFY_EXIT.invalid,
  VERIFY_EXIT.usage,
  VERIFY_EXIT.uncovered,
  VERIFY_EXIT.ok,
];

/** The code that says the most: a forgery outranks a missing anchor, which outranks a tail. */
export function worstExit(codes: Iterable<VerifyExit>): VerifyExit {
  const seen = new Set(codes);
  return PRECEDENCE.find((code) => seen.has(code)) ?? VERIFY_EXIT.ok;
}

/** `--help` text: the codes as a script's author needs them. */
export const VERIFY_EXIT_HELP = `
Exit codes:
  0  every event is signed by an anchored key and each replica's chain ends with its
     shutdown checkpoint
  1  invalid: an event was altered, dropped, reordered or inserted, or a chain is signed
     by a key that is not anchored (the first bad event of each replica is named)
  2  usage: bad options, unreadable input or keys, or no anchor and no
     --trust-embedded-key
  3  not covered: events after the last checkpoint, no shutdown checkpoint at the
     end (cut off, or the replica is still running), or a run that does not start at
     its genesis (--allow-partial accepts an export of a window)`;

/**
 * Exit codes of every command that talks to a broker. They agree with `events verify` on
 * 0, 1 and 2; 3 is where a script most needs to tell cases apart, and each side keeps its
 * own: here the broker refused the token (401) or its role (403), which no retry fixes.
 */
export const CLI_EXIT = { ok: 0, failure: 1, usage: 2, denied: 3 } as const;
export type CliExit = (typeof CLI_EXIT)[keyof typeof CLI_EXIT];

/** `--help` text of the program. */
export const CLI_EXIT_HELP = `
Exit codes:
  0  ok
  1  failure: the broker could not be reached, or answered with an error
  2  usage: bad options or arguments, missing URL or token, a refused setting
  3  denied: the broker refused the token (401) or its role (403)
  \`events verify\` has its own (see \`jit-broker events verify --help\`): 0 ok, 1 invalid,
  2 usage, 3 head or tail not covered.`;
