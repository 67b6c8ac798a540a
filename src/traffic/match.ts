/**
 * Routing by request (`steps[].match`), as pure helpers the providers share: a match is a
 * list of conditions, any of which sends a request to the canary; each is one header
 * (exact value or regular expression) or one cookie.
 *
 * Routers that only match headers (Istio, the Gateway API) see a cookie as a regular
 * expression over the `Cookie` header; ingress-nginx has annotations for both.
 */
import { COOKIE_ALWAYS, type RequestMatch } from '../api/routing.ts';

export type { RequestMatch } from '../api/routing.ts';

/** What a route may carry besides its weight (`TrafficProvider.setWeight`'s options). */
export interface RouteOptions {
  /** Requests matching any of these go to the canary, whatever the weight. */
  match?: RequestMatch[] | undefined;
  /** Percent (1-100) of the traffic the route carries copied to the canary, answers discarded. */
  mirror?: number | undefined;
}

/** One header condition, as routers that match only headers write it. */
export interface HeaderCondition {
  /** Header name, lower case (HTTP/2 and both routers compare names case-insensitively). */
  name: string;
  type: 'Exact' | 'RegularExpression';
  value: string;
}

/** `text` with every regular-expression metacharacter escaped (RE2 and PCRE read it literally). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, (c) => `\\${c}`);
}

/** The value a cookie condition looks for. @default always */
export function cookieValue(cookie: NonNullable<RequestMatch['cookie']>): string {
  return cookie.value ?? COOKIE_ALWAYS;
}

/**
 * The regular expression over the `Cookie` header that finds cookie `name` with `value`
 * among the others (`a=1; canary=always; b=2`), never as the tail of another name.
 */
export function cookieHeaderRegex(cookie: NonNullable<RequestMatch['cookie']>): string {
  return `^(.*?;\\s*)?${escapeRegex(cookie.name)}=${escapeRegex(cookieValue(cookie))}(;.*)?$`;
}

/** Each condition of `match` as a header condition (a cookie becomes a regex on `cookie`). */
export function headerConditions(match: readonly RequestMatch[]): HeaderCondition[] {
  return match.flatMap((m): HeaderCondition[] => {
    if (m.header) {
      const name = m.header.name.toLowerCase();
      if (m.header.exact !== undefined) return [{ name, type: 'Exact', value: m.header.exact }];
      if (m.header.regex !== undefined) return [{ name, type: 'RegularExpression', value: m.header.regex }];
      return [];
    }
    if (m.cookie) return [{ name: 'cookie', type: 'RegularExpression', value: cookieHeaderRegex(m.cookie) }];
    return [];
  });
}

/** `match` for a sentence: `header x-canary: "true" or cookie canary=always`. */
export function describeMatch(match: readonly RequestMatch[] | undefined): string {
  return (match ?? [])
    .map((m) => {
      if (m.header)
        return m.header.exact !== undefined
          ? `header ${m.header.name}: "${m.header.exact}"`
          : `header ${m.header.name} ~ /${m.header.regex ?? ''}/`;
      if (m.cookie) return `cookie ${m.cookie.name}=${cookieValue(m.cookie)}`;
      return '';
    })
    .filter(Boolean)
    .join(' or ');
}

/**
 * What the canary gets at a step, for messages and Events: `10% of traffic`,
 * `requests with header x-canary: "1"`, `10% of traffic and requests with ...`,
 * `a 50% mirror of traffic`.
 */
export function describeRouting(weight: number, options: RouteOptions = {}): string {
  const parts: string[] = [];
  if (weight > 0 || (!options.match && !options.mirror)) parts.push(`${weight}% of traffic`);
  if (options.match && options.match.length > 0) parts.push(`requests with ${describeMatch(options.match)}`);
  if (options.mirror) parts.push(`a ${options.mirror}% mirror of traffic`);
  return parts.join(' and ');
}

/**
 * Regular expressions of `match` that JavaScript cannot compile, as `field: why` (the
 * routers' own dialects differ a little; one that fails here fails there too).
 */
export function regexProblems(match: readonly RequestMatch[] | undefined, field: string): string[] {
  const problems: string[] = [];
  (match ?? []).forEach((m, i) => {
    const regex = m.header?.regex;
    if (regex === undefined) return;
    try {
      new RegExp(regex);
    } catch (err) {
      problems.push(`${field}[${i}].header.regex: not a regular expression (${(err as Error).message})`);
    }
  });
  return problems;
}
