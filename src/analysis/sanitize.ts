/**
 * What may be repeated from a Prometheus answer: a short, sanitised reason, never the
 * reply body as it came.
 *
 * A release's `metrics.provider.address` is chosen by whoever writes the release, and
 * whatever that server answers would otherwise land in status, Events and logs that
 * other people read (and trust). So only text Prometheus itself puts in its JSON `error`
 * field is kept, cut to {@link MAX_REASON_LENGTH} characters of printable ASCII; anything
 * that is not a Prometheus API answer (an HTML error page, a proxy's text) is described,
 * never quoted.
 */

/** Longest excerpt of a Prometheus error kept in a message. */
export const MAX_REASON_LENGTH = 120;

/**
 * `text` as one short line of printable ASCII: control characters, newlines and
 * anything outside ASCII become spaces, runs of spaces collapse, and the result is cut
 * to `max` characters (marked with `…`).
 */
export function sanitizeReason(text: string, max = MAX_REASON_LENGTH): string {
  const flat = text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}
