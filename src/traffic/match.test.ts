import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieHeaderRegex, describeRouting, escapeRegex, headerConditions, regexProblems } from './match.ts';

test('a cookie condition finds the cookie among others, never as the tail of another name', () => {
  const re = new RegExp(cookieHeaderRegex({ name: 'canary' }));
  for (const header of ['canary=always', 'a=1; canary=always', 'canary=always; b=2', 'a=1;canary=always;b=2'])
    assert.ok(re.test(header), header);
  for (const header of ['xcanary=always', 'canary=never', 'canary=alwaysx', 'a=canary=always', ''])
    assert.ok(!re.test(header), header);
});

test('names and values are matched literally in a cookie regex', () => {
  assert.equal(escapeRegex('a.b*c'), 'a\\.b\\*c');
  const re = new RegExp(cookieHeaderRegex({ name: 'ab.c', value: 'v+1' }));
  assert.ok(re.test('ab.c=v+1'));
  assert.ok(!re.test('abxc=v+1'));
  assert.ok(!re.test('ab.c=vv1'));
});

test('headerConditions: headers lower-cased, exact or regex; a cookie becomes a regex on cookie', () => {
  assert.deepEqual(
    headerConditions([
      { header: { name: 'X-Canary', exact: 'true' } },
      { header: { name: 'user-agent', regex: '.*Firefox.*' } },
      { cookie: { name: 'canary' } },
    ]),
    [
      { name: 'x-canary', type: 'Exact', value: 'true' },
      { name: 'user-agent', type: 'RegularExpression', value: '.*Firefox.*' },
      {
        name: 'cookie',
        type: 'RegularExpression',
        value: cookieHeaderRegex({ name: 'canary', value: 'always' }),
      },
    ],
  );
});

test('describeRouting words weight, match and mirror', () => {
  assert.equal(describeRouting(10), '10% of traffic');
  assert.equal(
    describeRouting(0, { match: [{ header: { name: 'x-canary', exact: '1' } }] }),
    'requests with header x-canary: "1"',
  );
  assert.equal(
    describeRouting(10, { match: [{ cookie: { name: 'c' } }] }),
    '10% of traffic and requests with cookie c=always',
  );
  assert.equal(describeRouting(0, { mirror: 50 }), 'a 50% mirror of traffic');
});

test('regexProblems names the field of a regex that does not compile', () => {
  assert.deepEqual(regexProblems([{ header: { name: 'a', regex: 'ok.*' } }], 'strategy.steps[0].match'), []);
  const [problem] = regexProblems(
    [{ header: { name: 'a', exact: 'x' } }, { header: { name: 'b', regex: '(' } }],
    'strategy.steps[0].match',
  );
  assert.match(problem ?? '', /^strategy\.steps\[0\]\.match\[1\]\.header\.regex: not a regular expression/);
});
