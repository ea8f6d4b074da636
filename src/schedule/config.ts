/** Config section: one door's schedule. Owned by src/schedule. */
export interface ScheduleException {
  /** Local date YYYY-MM-DD. */
  date: string;
  /** `closed` closes the whole day; otherwise the given periods replace that day's regular hours. */
  closed?: boolean;
  staffed?: string;
  staffless?: string;
  note?: string;
}

export interface ScheduleConfig {
  /** OSM opening_hours syntax for staffed hours. */
  staffed: string;
  /** OSM opening_hours syntax for staffless (open-library) hours. Staffed hours win where both apply. */
  staffless: string;
  /** Public holidays are closed unless an exception opens them (OSM `PH off` is added automatically). */
  holidays_closed: boolean;
  closing_soon_minutes: number;
  exceptions: ScheduleException[];
}

export const scheduleSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    staffed: { type: 'string', default: '' },
    staffless: { type: 'string', default: '' },
    holidays_closed: { type: 'boolean', default: true },
    closing_soon_minutes: { type: 'integer', minimum: 0, maximum: 240, default: 10 },
    exceptions: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['date'],
        properties: {
          date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
          closed: { type: 'boolean' },
          staffed: { type: 'string' },
          staffless: { type: 'string' },
          note: { type: 'string' },
        },
      },
    },
  },
} as const;
