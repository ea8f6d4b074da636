/**
 * What Dørvakt needs to know about a patron, from whichever source answers
 * (the local registry, SIP2). Names and addresses never travel past the source.
 */
export interface PatronStanding {
  /** The card is valid in the library system (SIP2 BL=Y). */
  known: boolean;
  /** PIN verdict: true/false when checked (SIP2 CQ), null when no PIN was asked or the source cannot check. */
  pinOk: boolean | null;
  blocked: boolean;
  cardLost: boolean;
  expired: boolean;
  finesExceeded: boolean;
  /** Patron category / type as the library system names it (e.g. "V", "B", "adult", "child"). */
  category?: string | undefined;
  /** Year of birth when known; only the year is kept. */
  birthYear?: number | undefined;
}

export type PatronLookup =
  | { status: 'ok'; standing: PatronStanding; source: 'local' | 'live' | 'cache' }
  /** The source could not answer (network down, timeout, circuit open, garbled reply). */
  | { status: 'unavailable'; error: string };

export interface PatronSource {
  readonly name: string;
  /** Whether this source can verify a PIN (the local registry cannot: PINs are never stored). */
  readonly verifiesPin: boolean;
  /**
   * card is the raw card number (never logged); pin only when the reader delivered one; cardHash is the card's
   * keyed hash when the caller has made it already (a source keyed by it need not hash again).
   */
  lookup(card: string, pin?: string, cardHash?: string): Promise<PatronLookup>;
  close?(): Promise<void>;
}
