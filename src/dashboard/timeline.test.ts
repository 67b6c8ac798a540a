import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnalysisRunView, EventView, HistoryEntryView } from './contract.ts';
import { analysisRuns, releaseTimeline } from './timeline.ts';

const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

const history: HistoryEntryView[] = [
  { time: at(0), event: 'Started', step: 0, weight: 0, message: 'release demo:v2 (stable demo:v1, 2 steps)' },
  { time: at(1), event: 'StepReached', step: 0, weight: 20, message: 'step 1/2: 20% of traffic (start)' },
  { time: at(20), event: 'Paused', step: 0, weight: 20, message: 'paused by alice', by: 'alice' },
  { time: at(30), event: 'Resumed', step: 0, weight: 20, message: 'resumed by alice', by: 'alice' },
  {
    time: at(40),
    event: 'Aborted',
    step: 0,
    weight: 20,
    message: 'aborted at step 1/2: aborted by bob (Aborted)',
    by: 'bob',
  },
];

const analysis = (s: number, decision: AnalysisRunView['decision'], score: number): AnalysisRunView => ({
  time: at(s),
  step: 0,
  score,
  decision,
  metrics: [{ name: 'successRate', value: score, passed: decision === 'Continue' }],
});

const event = (s: number, reason: string, note: string, extra: Partial<EventView> = {}): EventView => ({
  time: at(s),
  type: 'Normal',
  reason,
  note,
  count: 1,
  ...extra,
});

test('history, analyses and Events in one list, newest first, each command with who gave it', () => {
  const timeline = releaseTimeline({
    history,
    analyses: [analysis(5, 'Continue', 100), analysis(6, 'Continue', 100), analysis(7, 'Pause', 70)],
    events: [
      // The Events every history entry was published as: shown once, as the history entry.
      ...history.map((h) => event(Date.parse(h.time) / 1000 - 1767225600, h.event, h.message!)),
      event(12, 'CrashLoopBackOff', 'pod demo-canary-x: container app restarted 3 times', {
        type: 'Warning',
        count: 3,
        firstTime: at(9),
      }),
    ],
  });
  assert.deepEqual(
    timeline.map((e) => [e.title, e.source]),
    [
      ['Aborted', 'history'],
      ['Resumed', 'history'],
      ['Paused', 'history'],
      ['CrashLoopBackOff', 'event'],
      ['Analysis: Pause', 'analysis'],
      ['Analysis: Continue', 'analysis'],
      ['StepReached', 'history'],
      ['Started', 'history'],
    ],
  );
  const [aborted, resumed, paused, crash, pause, run, step, started] = timeline;
  assert.equal(aborted!.kind, 'rollback');
  assert.equal(aborted!.tone, 'error');
  assert.equal(aborted!.by, 'bob');
  assert.match(aborted!.detail!, /\(Aborted\)$/, 'the reason stays with the rollback');
  assert.equal(paused!.kind, 'pause');
  assert.equal(paused!.by, 'alice');
  assert.equal(resumed!.kind, 'resume');
  assert.equal(crash!.tone, 'warning');
  assert.equal(crash!.count, 3);
  assert.equal(crash!.firstTime, at(9));
  assert.equal(pause!.tone, 'warning');
  assert.equal(pause!.score, 70);
  assert.equal(pause!.detail, 'failing: successRate');
  assert.equal(run!.count, 2, 'two identical analyses are one line');
  assert.equal(run!.firstTime, at(5));
  assert.equal(run!.time, at(6));
  assert.equal(step!.kind, 'step');
  assert.equal(step!.weight, 20);
  assert.equal(started!.kind, 'started');
  assert.equal(new Set(timeline.map((e) => e.key)).size, timeline.length, 'keys are unique');
});

test('analysis runs: a new decision, score or step starts a new line; the same analysis twice counts once', () => {
  const a = analysis(1, 'Continue', 100);
  const runs = analysisRuns([
    analysis(3, 'Continue', 99.6),
    a,
    { ...a },
    analysis(2, 'Continue', 100),
    { ...analysis(4, 'Continue', 100), step: 1 },
    analysis(5, 'Rollback', 20),
  ]);
  assert.deepEqual(
    runs.map((r) => [r.first.time, r.last.time, r.count]),
    [
      [at(1), at(3), 3],
      [at(4), at(4), 1],
      [at(5), at(5), 1],
    ],
  );
});

test('nothing yet is an empty timeline; an unknown history event is still shown', () => {
  assert.deepEqual(releaseTimeline({ history: [], analyses: [], events: [] }), []);
  const [entry] = releaseTimeline({
    history: [{ time: at(1), event: 'SomethingNew', message: 'x' }],
    analyses: [],
    events: [],
  });
  assert.equal(entry!.kind, 'event');
  assert.equal(entry!.title, 'SomethingNew');
});

test('Events of one reason one after another are one line, counted, with the newest note', () => {
  const timeline = releaseTimeline({
    history: [{ time: at(10), event: 'StepAdvanced', message: 'step 2/3' }],
    analyses: [],
    events: [
      event(1, 'AnalysisHealthy', 'analysis healthy (1/3)'),
      event(2, 'AnalysisHealthy', 'analysis healthy (2/3)'),
      event(3, 'AnalysisHealthy', 'analysis healthy (3/3)', { count: 2, firstTime: at(3) }),
      event(11, 'AnalysisHealthy', 'analysis healthy (1/3)'),
    ],
  });
  assert.deepEqual(
    timeline.map((e) => [e.title, e.count, e.firstTime, e.time, e.detail]),
    [
      ['AnalysisHealthy', 1, undefined, at(11), 'analysis healthy (1/3)'],
      ['StepAdvanced', 1, undefined, at(10), 'step 2/3'],
      ['AnalysisHealthy', 4, at(1), at(3), 'analysis healthy (3/3)'],
    ],
  );
});
