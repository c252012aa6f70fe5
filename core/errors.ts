/**
 * Errors for bad input. Every one names the offending field, the value given and what is allowed,
 * so a user (or a script parsing `--json` output) can fix the input without reading source code.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly allowed: string,
    readonly detail?: string,
  ) {
    super(`invalid ${field}${value === undefined ? '' : `: ${formatValue(value)}`}${detail ? ` (${detail})` : ''}; allowed: ${allowed}`);
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A positive integer (1, 2, …) or an InputError naming `field`. */
export function positiveInt(field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new InputError(field, v, max === Number.MAX_SAFE_INTEGER ? 'a positive integer (1, 2, …)' : `an integer from 1 to ${max}`);
  }
  return v;
}

/** A non-negative integer (0, 1, …) or an InputError naming `field`. */
export function nonNegativeInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new InputError(field, v, 'a non-negative integer (0, 1, …)');
  }
  return v;
}

/** A backend that was asked for explicitly is not available here (the CLI exits 4), with the reason. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}
