/**
 * Every receiver type, by the name users write in `notifications[].type`. Adding
 * one is a file and a line here.
 */
import { dingtalk } from './dingtalk.ts';
import type { NotificationType, NotifierFactory } from './notifier.ts';
import { slack } from './slack.ts';
import { webhook } from './webhook.ts';
import { wecom } from './wecom.ts';

export const notifiers: Readonly<Record<NotificationType, NotifierFactory>> = {
  Slack: slack,
  DingTalk: dingtalk,
  WeCom: wecom,
  Webhook: webhook,
};
