/** The fleet dashboard's own words (nb, da, en); login and errors use the site dashboard's (src/web/i18n.ts). */
import type { Language } from '../web/users.ts';

const WORDS = {
  'fleet.title': { nb: 'Alle filialer', da: 'Alle filialer', en: 'All branches' },
  'fleet.nav.sites': { nb: 'Filialer', da: 'Filialer', en: 'Branches' },
  'fleet.nav.alarms': { nb: 'Alarmer', da: 'Alarmer', en: 'Alarms' },
  'fleet.nav.stats': { nb: 'Statistikk', da: 'Statistik', en: 'Statistics' },
  'fleet.logout': { nb: 'Logg ut', da: 'Log ud', en: 'Sign out' },
  'fleet.site': { nb: 'Filial', da: 'Filial', en: 'Branch' },
  'fleet.last_contact': { nb: 'Siste kontakt', da: 'Seneste kontakt', en: 'Last contact' },
  'fleet.never': { nb: 'aldri', da: 'aldrig', en: 'never' },
  'fleet.status': { nb: 'Kontroller', da: 'Controller', en: 'Controller' },
  'fleet.bridge': { nb: 'Bro', da: 'Bro', en: 'Bridge' },
  'fleet.up': { nb: 'oppe', da: 'oppe', en: 'up' },
  'fleet.down': { nb: 'nede', da: 'nede', en: 'down' },
  'fleet.unknown': { nb: 'ukjent', da: 'ukendt', en: 'unknown' },
  'fleet.doors': { nb: 'Dører', da: 'Døre', en: 'Doors' },
  'fleet.locked': { nb: 'låst', da: 'låst', en: 'locked' },
  'fleet.unlocked': { nb: 'åpen lås', da: 'ulåst', en: 'unlocked' },
  'fleet.open': { nb: 'står åpen', da: 'står åben', en: 'open' },
  'fleet.retention': { nb: 'Sletting', da: 'Sletning', en: 'Retention' },
  'fleet.retention_ok': { nb: 'i rute', da: 'i orden', en: 'on time' },
  'fleet.retention_late': { nb: 'på etterskudd', da: 'bagud', en: 'behind' },
  'fleet.pending': { nb: 'Tall i kø', da: 'Tal i kø', en: 'Figures queued' },
  'fleet.alarms': { nb: 'Alarmer', da: 'Alarmer', en: 'Alarms' },
  'fleet.alarm': { nb: 'Alarm', da: 'Alarm', en: 'Alarm' },
  'fleet.scope': { nb: 'Gjelder', da: 'Gælder', en: 'About' },
  'fleet.raised': { nb: 'Utløst', da: 'Udløst', en: 'Raised' },
  'fleet.cleared': { nb: 'Over', da: 'Ophørt', en: 'Cleared' },
  'fleet.acked': { nb: 'Kvittert', da: 'Kvitteret', en: 'Acknowledged' },
  'fleet.ack': { nb: 'Kvitter', da: 'Kvittér', en: 'Acknowledge' },
  'fleet.no_alarms': { nb: 'Ingen alarmer.', da: 'Ingen alarmer.', en: 'No alarms.' },
  'fleet.ack_done': {
    nb: 'Alarmen er kvittert og sendt til filialen.',
    da: 'Alarmen er kvitteret og sendt til filialen.',
    en: 'Alarm acknowledged and sent to the branch.',
  },
  'fleet.ack_failed': {
    nb: 'Alarmen finnes ikke eller er kvittert fra før.',
    da: 'Alarmen findes ikke eller er allerede kvitteret.',
    en: 'No such alarm, or it was acknowledged already.',
  },
  'fleet.from': { nb: 'Fra', da: 'Fra', en: 'From' },
  'fleet.to': { nb: 'Til', da: 'Til', en: 'To' },
  'fleet.all_sites': { nb: 'Alle filialer', da: 'Alle filialer', en: 'All branches' },
  'fleet.show': { nb: 'Vis', da: 'Vis', en: 'Show' },
  'fleet.csv': { nb: 'Last ned CSV', da: 'Hent CSV', en: 'Download CSV' },
  'fleet.granted': { nb: 'Slapp inn', da: 'Lukket ind', en: 'Let in' },
  'fleet.denied': { nb: 'Avvist', da: 'Afvist', en: 'Refused' },
  'fleet.total': { nb: 'Sum', da: 'I alt', en: 'Total' },
  'fleet.day': { nb: 'Dag', da: 'Dag', en: 'Day' },
  'fleet.bad_range': { nb: 'Ugyldig periode.', da: 'Ugyldig periode.', en: 'Invalid period.' },
  'fleet.nav.report': { nb: 'Årsrapport', da: 'Årsrapport', en: 'Annual report' },
  'fleet.report.year': { nb: 'År', da: 'År', en: 'Year' },
  'fleet.report.format': { nb: 'Skjema', da: 'Skema', en: 'Form' },
  'fleet.report.form_no': {
    nb: 'Norge (Nasjonalbiblioteket)',
    da: 'Norge (Nasjonalbiblioteket)',
    en: 'Norway (Nasjonalbiblioteket)',
  },
  'fleet.report.form_dk': {
    nb: 'Danmark (Danmarks Statistik)',
    da: 'Danmark (Danmarks Statistik)',
    en: 'Denmark (Danmarks Statistik)',
  },
  'fleet.report.visits_staffed': {
    nb: 'Besøk, betjent',
    da: 'Besøgende, med betjening',
    en: 'Visits, staffed',
  },
  'fleet.report.visits_staffless': {
    nb: 'Besøk, meråpent',
    da: 'Besøgende, uden betjening',
    en: 'Visits, staffless',
  },
  'fleet.report.visits_total': { nb: 'Besøk i alt', da: 'Besøgende i alt', en: 'Visits in all' },
  'fleet.report.hours_staffed': {
    nb: 'Betjent (timer per uke)',
    da: 'Med betjening (timer pr. uge)',
    en: 'Staffed (hours a week)',
  },
  'fleet.report.hours_staffless': {
    nb: 'Meråpent (timer per uke)',
    da: 'Uden betjening (timer pr. uge)',
    en: 'Staffless (hours a week)',
  },
  'fleet.report.municipality': { nb: 'Kommunen i alt', da: 'Kommunen i alt', en: 'Municipality' },
  'fleet.report.bad_year': {
    nb: 'Velg et år fra 2000 til i år, og skjema no eller dk.',
    da: 'Vælg et år fra 2000 til i år og skema no eller dk.',
    en: 'Choose a year from 2000 to this year, and form no or dk.',
  },
  'fleet.report.note': {
    nb: 'Besøk er innslipp med kort ved døren, etter dørens modus. Åpningstiden er den filialene har sendt; uker uten tall teller null.',
    da: 'Besøgende er adgange med kort ved døren efter dørens tilstand. Åbningstiden er den, filialerne har sendt; uger uden tal tæller nul.',
    en: "Visits are card entries at the door, by the door's mode. Opening hours are those the branches sent; weeks without figures count as zero.",
  },
} as const;

export type FleetWord = keyof typeof WORDS;

export const fleetWords =
  (lang: Language) =>
  (key: FleetWord): string =>
    WORDS[key][lang];
