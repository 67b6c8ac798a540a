import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { counterFamily, escapeLabelValue, histogramFamily, observe, renderFamilies } from './series.ts';

describe('series', () => {
  it('escapes label values', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  });

  it('renders counters and cumulative histogram buckets', () => {
    const requests = counterFamily('x_total', 'Requests.');
    const duration = histogramFamily('x_seconds', 'Duration.', [0.1, 1]);
    requests.series('a', { app: 'web' }).value += 3;
    const series = duration.series('a', { app: 'web' });
    for (const value of [0.05, 0.5, 2]) observe(series, duration.bounds, value);
    assert.equal(
      renderFamilies([requests, duration]),
      [
        '# HELP x_total Requests.',
        '# TYPE x_total counter',
        'x_total{app="web"} 3',
        '# HELP x_seconds Duration.',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{app="web",le="0.1"} 1',
        'x_seconds_bucket{app="web",le="1"} 2',
        'x_seconds_bucket{app="web",le="+Inf"} 3',
        'x_seconds_sum{app="web"} 2.55',
        'x_seconds_count{app="web"} 3',
        '',
      ].join('\n'),
    );
  });

  it('counts a value on a bound in that bucket, as Prometheus does (le = less or equal)', () => {
    const duration = histogramFamily('d', 'D.', [1, 2]);
    const series = duration.series('a', {});
    observe(series, duration.bounds, 1);
    assert.deepEqual([...series.counts], [1, 0, 0]);
  });

  it("returns the same series for the same labels and drops an owner's series", () => {
    const requests = counterFamily('x_total', 'Requests.');
    assert.equal(requests.series('a', { v: '1' }), requests.series('a', { v: '1' }));
    requests.series('b', { v: '2' }).value = 1;
    requests.removeOwner('a');
    assert.equal(renderFamilies([requests]).includes('v="1"'), false);
    assert.equal(renderFamilies([requests]).includes('v="2"'), true);
  });
});
