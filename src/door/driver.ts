/**
 * What a door needs from its hardware. Values are logical (active_low already applied):
 * relay true = energised = unlocked, contact true = open, fire true = alarm active, output true = on.
 */
export type DoorOutput = 'light_granted' | 'light_denied';

export interface DoorDriver {
  readonly kind: 'sim' | 'gpio';
  /** False when no contact is fitted: the door then never reports open, so no held/forced alarms. */
  readonly hasContact: boolean;
  readonly hasFire: boolean;
  /** Synchronous so the write time is the moment the pin changed. Throws when the write fails. */
  setRelay(unlocked: boolean): void;
  /** An output that is not fitted is ignored. Throws when the write fails. */
  setOutput(name: DoorOutput, on: boolean): void;
  readContact(): boolean;
  readFire(): boolean;
  /** Raw (undebounced) changes; the Door debounces. Returns an unsubscribe function. */
  onContact(listener: (open: boolean) => void): () => void;
  onFire(listener: (active: boolean) => void): () => void;
  close(): void;
}
