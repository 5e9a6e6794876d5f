import { z } from 'zod';
import { duration } from './duration.js';

/** A calendar date `YYYY-MM-DD` that exists (no 2027-02-30). */
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;
const calendarDate = z
  .string()
  .regex(DATE_SHAPE, 'a date as YYYY-MM-DD')
  .refine((value) => {
    // The shape's own message says what is wrong with anything else.
    if (!DATE_SHAPE.test(value)) return true;
    const at = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === value;
  }, 'not a calendar date');

/**
 * Who answers for a workload and until when its grants stand unreviewed: spread into the
 * workload schema. After `review_by` (the end of that day, UTC) issuance is refused.
 */
export const workloadLifecycleFields = {
  /** A person or team (an email, a team name): who reviews the workload. */
  owner: z.string().min(1).max(256).optional(),
  description: z.string().min(1).max(1024).optional(),
  review_by: calendarDate.optional(),
};

/** Lead time of the `workload.review_due` warning before `review_by`: 0 to 365 days. */
export const reviewWarningSchema = duration
  .default(14 * 86_400_000)
  .refine((ms) => ms <= 365 * 86_400_000, 'at most 365d');
