/** Options are programmer input: a bad one is a `TypeError` at construction, not a failed write. */
export function positive(name: string, field: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`httpSink ${name}: ${field} must be a positive number`);
  }
}
