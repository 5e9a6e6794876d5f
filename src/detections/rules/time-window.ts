import type { DetectionRuleConfig, Weekday } from '../config.js';
import type { RuleCheck } from '../types.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'time_window' }>;

export const timeWindowWatches = ['credential.issued', 'credential.denied'];

const DAYS: Record<string, Weekday> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

/** A request outside `hours` (`from` ≤ time < `to`, across midnight when `to` < `from`) or `days`, in `timezone`. */
export function timeWindow(rule: Rule): RuleCheck {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: rule.timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const from = rule.hours === undefined ? 0 : minutes(rule.hours.from);
  const to = rule.hours === undefined ? 0 : minutes(rule.hours.to);
  const days = rule.days === undefined ? undefined : new Set(rule.days);
  // Formatting a time in a zone is the costly part: one answer per minute, kept while events
  // stay in it (replay and live both run in time order).
  let cachedMinute = Number.NaN;
  let cached = { day: undefined as Weekday | undefined, minutes: 0, label: '' };
  const local = (at: number) => {
    const minute = Math.floor(at / 60_000);
    if (minute !== cachedMinute) {
      const parts = format.formatToParts(new Date(at));
      const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
      const day = DAYS[part('weekday')];
      cached = {
        day,
        minutes: Number(part('hour')) * 60 + Number(part('minute')),
        label: `${day ?? '?'} ${part('hour')}:${part('minute')}`,
      };
      cachedMinute = minute;
    }
    return cached;
  };
  return (o) => {
    const { day, minutes: now, label } = local(o.at);
    const inHours =
      rule.hours === undefined || (from < to ? now >= from && now < to : now >= from || now < to);
    const inDays = days === undefined || (day !== undefined && days.has(day));
    if (inHours && inDays) return undefined;
    return {
      events: [{ id: o.event.id, seq: o.event.seq, instance: o.event.instance }],
      evidence: {
        local_time: label,
        timezone: rule.timezone,
        ...(rule.hours === undefined ? {} : { hours: rule.hours }),
        ...(rule.days === undefined ? {} : { days: rule.days }),
      },
    };
  };
}
