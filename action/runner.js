// @ts-check
// The GitHub Actions runner protocol, without @actions/core: the action ships as plain files
// so `uses:` runs it straight from a checkout with nothing to install or bundle.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

/**
 * An input as the runner passes it: `INPUT_<NAME>` with spaces turned into underscores and
 * upper-cased (hyphens stay), trimmed.
 * @param {string} name
 * @param {{ required?: boolean }} [options]
 * @returns {string}
 */
export function input(name, options = {}) {
  const value = (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
  if (options.required && value === '') throw new Error(`input "${name}" is required`);
  return value;
}

/**
 * Appends `name<<delimiter` records to a runner file (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE).
 * The heredoc form with a random delimiter keeps a value from smuggling in a second entry.
 * @param {'GITHUB_OUTPUT' | 'GITHUB_ENV' | 'GITHUB_STATE'} file
 * @param {string} name
 * @param {string} value
 */
export function appendRecord(file, name, value) {
  const path = process.env[file];
  if (path === undefined || path === '' || !existsSync(path)) {
    throw new Error(`${file} is not set: this runs only as a GitHub Actions step`);
  }
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`${name}: value contains the record delimiter`);
  }
  appendFileSync(path, `${name}<<${delimiter}\n${value}\n${delimiter}\n`, 'utf8');
}

/**
 * Asks the runner to hide a value in every later log line. Masks apply per line, so each
 * line of a multi-line value is masked on its own.
 * @param {string} value
 */
export function mask(value) {
  for (const line of value.split(/\r?\n/)) {
    if (line.trim() !== '') process.stdout.write(`::add-mask::${line}\n`);
  }
}

/**
 * Masks a credential and, when it is a JSON document (database logins, cloud keys), each
 * string inside it: a log line may print one field without the rest of the document.
 * @param {string} credential
 */
export function maskCredential(credential) {
  mask(credential);
  if (!credential.startsWith('{')) return;
  try {
    /** @param {unknown} node */
    const walk = (node) => {
      if (typeof node === 'string' && node.length >= 4) mask(node);
      else if (node !== null && typeof node === 'object') Object.values(node).forEach(walk);
    };
    walk(JSON.parse(credential));
  } catch {
    // Not JSON after all: the whole value is masked already.
  }
}

/**
 * Escapes a workflow command's data: `%`, CR and LF would otherwise end or alter
 * the command.
 * @param {string} text
 */
function escapeData(text) {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** @param {string} message */
export function fail(message) {
  process.stdout.write(`::error::${escapeData(message)}\n`);
  process.exitCode = 1;
}

/** @param {string} message */
export function warn(message) {
  process.stdout.write(`::warning::${escapeData(message)}\n`);
}

/** @param {string} message */
export function info(message) {
  process.stdout.write(`${message}\n`);
}

/**
 * The CA input: PEM text (from a secret or variable) or the path of a PEM file.
 * @param {string} value
 * @returns {string | undefined}
 */
export function readCa(value) {
  if (value === '') return undefined;
  if (value.startsWith('-----BEGIN')) return value;
  return readFileSync(value, 'utf8');
}
