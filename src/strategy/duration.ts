/**
 * Go-style duration strings (`300ms`, `1.5h`, `2h45m`), the way Kubernetes users
 * write them, converted to milliseconds in one place.
 *
 * Accepted, as Go's `time.ParseDuration`: a sequence of decimal numbers, each with an
 * optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); a leading
 * `+` or `-`; and the bare `0`. The API schema is stricter (no sign, no `ns`/`us`),
 * so anything the API server accepts parses here.
 *
 * Caveats: the result is a float of milliseconds, so `1ns` is `0.000001`; callers
 * that need whole milliseconds round themselves.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign, as Go accepts
  μs: 1e-3, // U+03BC Greek mu, as Go accepts
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// Longest units first so `ms` wins over `m`.
const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Milliseconds in `text`, or `undefined` when it is not a valid Go duration.
 *
 * @example parseDuration('1h30m') // 5_400_000
 * @example parseDuration('1.5s')  // 1500
 * @example parseDuration('0')     // 0
 */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < rest.length) {
    const match = TERM.exec(rest);
    if (!match) return undefined;
    const [, number, unit] = match;
    const factor = unit === undefined ? undefined : UNIT_MS[unit];
    if (number === undefined || factor === undefined) return undefined;
    total += Number(number) * factor;
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

/**
 * Milliseconds in `text`, or in `fallback` when `text` is unset, invalid or
 * negative. For optional spec fields whose default is itself a duration string
 * (no spec field has a use for a negative time).
 */
export function durationOr(text: string | undefined, fallback: string): number {
  const parsed = text === undefined ? undefined : parseDuration(text);
  if (parsed !== undefined && parsed >= 0) return parsed;
  return parseDuration(fallback) ?? 0;
}

/**
 * A short human form of `ms` for messages: `1h30m`, `2m5s`, `750ms`, `0s`.
 * Whole units only below a second are milliseconds; above, seconds are rounded.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return ms === 0 ? '0s' : `${Math.round(ms)}ms`;
  let seconds = Math.round(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds || (!hours && !minutes) ? `${seconds}s` : ''}`;
}
