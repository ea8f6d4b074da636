export interface MutationGroup {
  mutate: string[];
  tests: string[];
  floor: number;
  why: string;
}
export const GROUPS: Record<string, MutationGroup>;
export function reportFile(group: string): string;
export function incrementalFile(group: string): string;
