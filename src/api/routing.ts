/**
 * The schema pieces of issue 14.1 and 14.4 (routing by request, mirroring), kept in one
 * block of their own so `canary-deployment.ts` only references them.
 *
 * - `steps[].match` / `strategy.experiment.match`: requests with a header (exact or
 *   regex) or a cookie go to the canary, alone (weight 0) or beside a weight.
 * - `steps[].mirror`: a percentage of live traffic copied to the canary, its answers
 *   discarded, so it is judged before it takes any real request.
 *
 * Which providers can do each is declared by the providers (`capabilities` in
 * `src/traffic/<name>.ts`); the CEL rules here refuse the others at admission, and
 * `src/traffic/index.test.ts` checks the two lists agree.
 */
import Type from 'typebox';
import { cel, type CelRule } from './common.ts';

/** HTTP token characters (RFC 9110): a header or cookie name. */
const TokenPattern = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

export const HeaderMatch = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: TokenPattern,
      description: 'Header name (case-insensitive), e.g. x-canary.',
    }),
    exact: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'The header carries exactly this value.' }),
    ),
    regex: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          'The header value matches this regular expression (RE2 with Istio and most Gateway API implementations, PCRE with ingress-nginx: keep to their common part).',
      }),
    ),
  },
  {
    ...cel({
      rule: '(has(self.exact) ? 1 : 0) + (has(self.regex) ? 1 : 0) == 1',
      message: 'match[].header: give exactly one of exact or regex, e.g. {name: x-canary, exact: "true"}',
    }),
  },
);
export type HeaderMatch = Type.Static<typeof HeaderMatch>;

/** ingress-nginx routes a request to the canary when its cookie has this value. */
export const COOKIE_ALWAYS = 'always';

export const CookieMatch = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 256,
    pattern: TokenPattern,
    description: 'Cookie name, e.g. canary.',
  }),
  value: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[^\\s;,"\\\\]+$',
      description: `The cookie's value. ingress-nginx only knows "${COOKIE_ALWAYS}". @default ${COOKIE_ALWAYS}`,
    }),
  ),
});
export type CookieMatch = Type.Static<typeof CookieMatch>;

export const RequestMatch = Type.Object(
  {
    header: Type.Optional(HeaderMatch),
    cookie: Type.Optional(CookieMatch),
  },
  {
    description: 'One condition: a header or a cookie.',
    ...cel({
      rule: '(has(self.header) ? 1 : 0) + (has(self.cookie) ? 1 : 0) == 1',
      message:
        'match[]: each entry is exactly one of header or cookie, e.g. {header: {name: x-canary, exact: "true"}}',
    }),
  },
);
export type RequestMatch = Type.Static<typeof RequestMatch>;

/** `match` of a step or an experiment: any of its conditions sends a request to the canary. */
export const Match = Type.Array(RequestMatch, {
  minItems: 1,
  maxItems: 8,
  description:
    'Requests that match any of these conditions go to the canary, whatever the weight; the weight splits the rest. Needs traffic.provider Istio, Nginx or GatewayAPI.',
});

/** `mirror` of a step: the percentage of live traffic copied to the canary. */
export const Mirror = Type.Integer({
  minimum: 1,
  maximum: 100,
  description:
    'Percent of live traffic copied to the canary, whose answers are discarded: it is judged without serving anyone (use with weight 0). Needs traffic.provider Istio or GatewayAPI.',
});

/** Providers that route by request (their `capabilities.requestMatch`; checked by a unit test). */
export const REQUEST_MATCH_PROVIDERS = ['Istio', 'Nginx', 'GatewayAPI'] as const;
/** Providers that mirror (their `capabilities.mirror`; checked by a unit test). */
export const MIRROR_PROVIDERS = ['Istio', 'GatewayAPI'] as const;

const providerIn = (providers: readonly string[]) =>
  `(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider in [${providers.map((p) => `'${p}'`).join(', ')}])`;
const isNginx = "(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == 'Nginx')";
const stepsHave = (cond: string) =>
  `has(self.strategy) && has(self.strategy.steps) && self.strategy.steps.exists(s, ${cond})`;
const experimentHas = (field: string) =>
  `has(self.strategy) && has(self.strategy.experiment) && has(self.strategy.experiment.${field})`;
/** ingress-nginx has one canary-by-header and one canary-by-cookie annotation, the cookie's value `always`. */
const nginxMatchFits = (m: string) =>
  `(${m}.filter(c, has(c.header)).size() <= 1 && ${m}.filter(c, has(c.cookie)).size() <= 1 && ${m}.all(c, !has(c.cookie) || !has(c.cookie.value) || c.cookie.value == '${COOKIE_ALWAYS}'))`;

/** Spec-level CEL rules: match and mirror only with a provider that can do them, in a shape it can write. */
export const routingSpecRules: CelRule[] = [
  {
    rule: `!(${stepsHave('has(s.match)')}) || ${providerIn(REQUEST_MATCH_PROVIDERS)}`,
    message: `strategy.steps[].match needs traffic.provider ${REQUEST_MATCH_PROVIDERS.join(', ').replace(/, (?=[^,]*$)/, ' or ')}: with Replicas the stable Service sends each request to any pod, so no request can be chosen by header or cookie`,
    fieldPath: '.strategy.steps',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `!(${experimentHas('match')}) || ${providerIn(REQUEST_MATCH_PROVIDERS)}`,
    message: `strategy.experiment.match needs traffic.provider ${REQUEST_MATCH_PROVIDERS.join(', ').replace(/, (?=[^,]*$)/, ' or ')}: with Replicas the stable Service sends each request to any pod, so no request can be chosen by header or cookie`,
    fieldPath: '.strategy.experiment.match',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `!(${stepsHave('has(s.mirror)')}) || ${providerIn(MIRROR_PROVIDERS)}`,
    message: `strategy.steps[].mirror needs traffic.provider ${MIRROR_PROVIDERS.join(' or ')}: only a proxy can copy requests (ingress-nginx's canary annotations and replica counts cannot)`,
    fieldPath: '.strategy.steps',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `!(has(self.traffic) && has(self.traffic.protocol) && self.traffic.protocol == 'TCP') || !((${stepsHave('has(s.match) || has(s.mirror)')}) || (${experimentHas('match')}))`,
    message:
      'traffic.protocol TCP: a TCP connection has no header or cookie to match and no request to mirror; remove match and mirror, or route HTTP or GRPC',
    fieldPath: '.strategy',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `!${isNginx} || !has(self.strategy) || ((!has(self.strategy.steps) || self.strategy.steps.all(s, !has(s.match) || ${nginxMatchFits('s.match')})) && (!has(self.strategy.experiment) || !has(self.strategy.experiment.match) || ${nginxMatchFits('self.strategy.experiment.match')}))`,
    message: `with traffic.provider Nginx a match has at most one header and one cookie, and the cookie's value is "${COOKIE_ALWAYS}" (ingress-nginx's canary-by-header and canary-by-cookie annotations)`,
    fieldPath: '.strategy',
    reason: 'FieldValueInvalid',
  },
];

/**
 * Providers that route each protocol (their `capabilities.protocols`; checked by a unit
 * test). ingress-nginx's canary annotations are HTTP only here: its gRPC backends report
 * no gRPC status the analysis could read.
 */
export const PROTOCOL_PROVIDERS = {
  HTTP: ['Replicas', 'Istio', 'Nginx', 'GatewayAPI'],
  GRPC: ['Replicas', 'Istio', 'GatewayAPI'],
  TCP: ['Replicas', 'Istio', 'GatewayAPI'],
} as const;

const protocolIs = (p: string) => `((has(self.protocol) ? self.protocol : 'HTTP') == '${p}')`;

/** CEL rules of `spec.traffic`: the protocol is one the provider routes; a Gateway API route of its kind. */
export const protocolRules: CelRule[] = [
  ...(['GRPC', 'TCP'] as const).map(
    (protocol): CelRule => ({
      rule: `!${protocolIs(protocol)} || (has(self.provider) ? self.provider : 'Replicas') in [${PROTOCOL_PROVIDERS[protocol].map((p) => `'${p}'`).join(', ')}]`,
      message: `traffic.protocol ${protocol} needs traffic.provider ${PROTOCOL_PROVIDERS[protocol].join(', ').replace(/, (?=[^,]*$)/, ' or ')}`,
      fieldPath: '.protocol',
      reason: 'FieldValueForbidden',
    }),
  ),
  {
    // Istio's tcp routes have no name field: a route list could never be found.
    rule: `!${protocolIs('TCP')} || !has(self.istio) || !has(self.istio.routes)`,
    message:
      "traffic.istio.routes: Istio's tcp routes have no names; remove routes (with protocol TCP every tcp route to the Service is weighted)",
    fieldPath: '.istio.routes',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `!has(self.gatewayAPI) || (has(self.gatewayAPI.httpRoute) && ${protocolIs('HTTP')}) || (has(self.gatewayAPI.grpcRoute) && ${protocolIs('GRPC')}) || (has(self.gatewayAPI.tcpRoute) && ${protocolIs('TCP')})`,
    message:
      'traffic.gatewayAPI: name the route of traffic.protocol: httpRoute for HTTP (the default), grpcRoute for GRPC, tcpRoute for TCP',
    fieldPath: '.gatewayAPI',
    reason: 'FieldValueInvalid',
  },
];
