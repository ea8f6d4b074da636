/**
 * Stable reason codes for door decisions. Logs, MQTT events, the dashboard and
 * statistics all key on these strings: never rename one, only add.
 */
export const GRANT_REASONS = [
  'allow', // live check passed
  'allow_staffed', // staffed hours, card mode: a valid card is enough
  'allow_offline_known', // library system away, card passed a live check recently (offline policy allow_known)
  'allow_pass', // a local pass, inside its own hours (src/local-access)
  'allow_emergency', // emergency mode `everybody`: any readable card opens (src/emergency)
] as const;

export const DENY_REASONS = [
  'closed',
  'unknown_card',
  'bad_pin',
  'pin_required',
  'blocked',
  'card_lost',
  'card_expired',
  'fines',
  'no_agreement',
  'no_camera_consent',
  'consent_withdrawn',
  'under_age',
  'category_not_allowed',
  'ils_unavailable',
  'locked_out',
  'store_unavailable',
  'blocked_locally', // on the site's own block list
  'pass_expired',
  'outside_pass_hours',
  'pass_wrong_door', // a pass that does not open this door
  'emergency_closed', // emergency mode `nobody`
] as const;

export type GrantReason = (typeof GRANT_REASONS)[number];
export type DenyReason = (typeof DENY_REASONS)[number];
export type Reason = GrantReason | DenyReason;

export type Decision = { allow: true; reason: GrantReason } | { allow: false; reason: DenyReason };

/** Words a patron at the door understands (shown on a display / spoken; English, Norwegian, Danish). */
export const PATRON_MESSAGES: Record<Reason, { en: string; nb: string; da: string }> = {
  allow: { en: 'Welcome in', nb: 'Velkommen inn', da: 'Velkommen indenfor' },
  allow_staffed: { en: 'Welcome in', nb: 'Velkommen inn', da: 'Velkommen indenfor' },
  allow_offline_known: { en: 'Welcome in', nb: 'Velkommen inn', da: 'Velkommen indenfor' },
  closed: { en: 'The library is closed now', nb: 'Biblioteket er stengt nå', da: 'Biblioteket er lukket nu' },
  unknown_card: {
    en: 'This card is not known to the library',
    nb: 'Kortet er ukjent for biblioteket',
    da: 'Kortet er ukendt for biblioteket',
  },
  bad_pin: { en: 'Wrong PIN', nb: 'Feil PIN-kode', da: 'Forkert pinkode' },
  pin_required: {
    en: 'Enter your PIN after the card',
    nb: 'Tast PIN-kode etter kortet',
    da: 'Indtast pinkode efter kortet',
  },
  blocked: {
    en: 'Your card is blocked, please contact the library',
    nb: 'Kortet er sperret, kontakt biblioteket',
    da: 'Kortet er spærret, kontakt biblioteket',
  },
  card_lost: {
    en: 'This card is reported lost',
    nb: 'Kortet er meldt tapt',
    da: 'Kortet er meldt bortkommet',
  },
  card_expired: { en: 'Your card has expired', nb: 'Kortet er utløpt', da: 'Kortet er udløbet' },
  fines: {
    en: 'Outstanding fees, please contact the library',
    nb: 'Ubetalte gebyrer, kontakt biblioteket',
    da: 'Ubetalte gebyrer, kontakt biblioteket',
  },
  no_agreement: {
    en: 'Sign the open-library agreement at the desk first',
    nb: 'Du må signere avtale om meråpent bibliotek først',
    da: 'Du skal underskrive aftalen om åbent bibliotek først',
  },
  no_camera_consent: {
    en: 'Camera surveillance consent is missing',
    nb: 'Samtykke til kameraovervåking mangler',
    da: 'Samtykke til kameraovervågning mangler',
  },
  consent_withdrawn: {
    en: 'Your consent was withdrawn, contact the library',
    nb: 'Samtykket er trukket tilbake, kontakt biblioteket',
    da: 'Samtykket er trukket tilbage, kontakt biblioteket',
  },
  under_age: {
    en: 'You are too young to enter alone',
    nb: 'Du er for ung til å gå inn alene',
    da: 'Du er for ung til at gå ind alene',
  },
  category_not_allowed: {
    en: 'Your card type does not give open-library access',
    nb: 'Korttypen gir ikke tilgang i meråpen tid',
    da: 'Korttypen giver ikke adgang i åben tid',
  },
  ils_unavailable: {
    en: 'The library system is not answering, try again later',
    nb: 'Bibliotekssystemet svarer ikke, prøv igjen senere',
    da: 'Bibliotekssystemet svarer ikke, prøv igen senere',
  },
  locked_out: {
    en: 'Too many wrong PINs, try again later',
    nb: 'For mange feil PIN-koder, prøv igjen senere',
    da: 'For mange forkerte pinkoder, prøv igen senere',
  },
  store_unavailable: {
    en: 'Out of order, contact the library',
    nb: 'Ute av drift, kontakt biblioteket',
    da: 'Ude af drift, kontakt biblioteket',
  },
  allow_pass: { en: 'Welcome in', nb: 'Velkommen inn', da: 'Velkommen indenfor' },
  allow_emergency: { en: 'Welcome in', nb: 'Velkommen inn', da: 'Velkommen indenfor' },
  blocked_locally: {
    en: 'This card has no access here, please contact the library',
    nb: 'Kortet har ikke adgang her, kontakt biblioteket',
    da: 'Kortet har ikke adgang her, kontakt biblioteket',
  },
  pass_expired: {
    en: 'Your access card has expired',
    nb: 'Adgangskortet ditt er utløpt',
    da: 'Dit adgangskort er udløbet',
  },
  outside_pass_hours: {
    en: 'Your card does not give access at this time',
    nb: 'Kortet ditt gir ikke adgang på dette tidspunktet',
    da: 'Dit kort giver ikke adgang på dette tidspunkt',
  },
  pass_wrong_door: {
    en: 'Your card does not open this door',
    nb: 'Kortet ditt åpner ikke denne døren',
    da: 'Dit kort åbner ikke denne dør',
  },
  emergency_closed: {
    en: 'The library is closed for now because of an emergency',
    nb: 'Biblioteket er midlertidig stengt på grunn av en hendelse',
    da: 'Biblioteket er midlertidigt lukket på grund af en hændelse',
  },
};
