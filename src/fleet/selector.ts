/**
 * Label selectors of a ReleaseGroup (matchLabels only), as plain functions: whether an
 * object's labels match, and the selector in the API server's text form.
 */
import type { LabelSelector } from '../api/release-group.ts';

/** Whether `labels` carry every label of `selector` (an empty selector matches nothing). */
export function matches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = Object.entries(selector?.matchLabels ?? {});
  if (wanted.length === 0) return false;
  return wanted.every(([key, value]) => labels?.[key] === value);
}

/** `a=b,c=d`: the selector as `kubectl get -l` and list requests take it. */
export function selectorText(selector: LabelSelector): string {
  return Object.entries(selector.matchLabels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
