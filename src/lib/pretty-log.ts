import { replaceControlCharacters } from './control-characters.js';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every line has, shown in the line's head or not at all. */
const HEAD = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/**
 * A pino destination that writes each record as `HH:MM:SS.mmm LEVEL message key=value…`.
 * It formats what pino serialized, after redaction, so it shows nothing the JSON would
 * not. Values are printed bare only when they are plain words; anything else is JSON-quoted
 * and control characters are escaped, so a task id or subject cannot forge a line or drive
 * the terminal.
 */
export function prettyLogStream(out: NodeJS.WritableStream): { write(line: string): void } {
  return {
    write(line: string) {
      out.write(`${prettyLine(line)}\n`);
    },
  };
}

export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return safe(line.trimEnd());
  }
  const time = typeof record.time === 'number' ? new Date(record.time) : new Date();
  const level = LEVELS[Number(record.level)] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !HEAD.has(key))
    .map(([key, value]) => `${safe(key)}=${fieldValue(value)}`);
  const message = typeof record.msg === 'string' ? safe(record.msg) : '';
  return [time.toISOString().slice(11, 23), level.padEnd(5), message, ...fields]
    .filter((part) => part !== '')
    .join(' ');
}

function fieldValue(value: unknown): string {
  if (typeof value === 'string' && /^[\w.:/@+-]+$/.test(value)) return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return safe(JSON.stringify(value) ?? 'undefined');
}

function safe(text: string): string {
  return replaceControlCharacters(
    text,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
