/** Config section: one door's schedule. Owned by src/schedule. */
export interface ScheduleException {
  /** Local date YYYY-MM-DD in the site's time zone. One exception per date. */
  date: string;
  /**
   * `closed: true` closes the whole day; otherwise `staffed`/`staffless` (opening_hours time ranges such as
   * `10:00-14:00`) replace that day's regular hours, holiday or not. An omitted one means none that day.
   */
  closed?: boolean;
  staffed?: string;
  staffless?: string;
  note?: string;
}

export interface ScheduleConfig {
  /** OSM opening_hours syntax for staffed hours ('' = never). PH/SH are rejected: see holidays_closed. */
  staffed: string;
  /** OSM opening_hours syntax for staffless (open-library) hours. Staffed hours win where both apply. */
  staffless: string;
  /**
   * Public holidays (date-holidays type `public` for site.country/region) are closed all day unless an
   * exception for that date says otherwise. Bank/observance days (Julaften, DK Grundlovsdag) are not.
   */
  holidays_closed: boolean;
  /** Minutes before staffless hours end (into closed) that `closing_soon` is raised; 0 = never. */
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
