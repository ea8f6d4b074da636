/** How a reader talks, one word per kind (config `doors[].reader.profile`; described in reader/config.ts). */
export type ReaderProfile = 'line' | 'stx-etx' | 'keypad' | 'osdp' | 'wiegand';
