/**
 * BlueGreen: the new version runs at full size behind the preview Service, is
 * observed, then takes all traffic at once; the old version is kept for a while so
 * a switch back is instant, then scaled down.
 */
import type { StrategySpec } from '../api/canary-deployment.ts';
import { durationOr } from './duration.ts';
import type { Plan, Strategy } from './plan.ts';

export const BLUE_GREEN = 'BlueGreen' as const;

/** Mirrors the API defaults of `strategy.blueGreen`. */
export const BLUE_GREEN_DEFAULTS = { previewPause: '30s', autoPromote: true, scaleDownDelay: '30s' } as const;

export function blueGreen(): Strategy {
  return {
    name: BLUE_GREEN,
    plan: (spec: StrategySpec): Plan => {
      const bg = spec.blueGreen ?? {};
      return {
        kind: 'blueGreen',
        previewPauseMs: durationOr(bg.previewPause, BLUE_GREEN_DEFAULTS.previewPause),
        autoPromote: bg.autoPromote ?? BLUE_GREEN_DEFAULTS.autoPromote,
        scaleDownDelayMs: durationOr(bg.scaleDownDelay, BLUE_GREEN_DEFAULTS.scaleDownDelay),
      };
    },
  };
}
