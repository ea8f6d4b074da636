// Types for test/mutation/floors.test.ts, which checks the floors script itself.
export interface Score {
  detected: number;
  undetected: number;
  valid: number;
  score: number | null;
}
export function scoreOf(mutants: { status: string }[]): Score;
export function groupScores(report: { files?: Record<string, { mutants: { status: string }[] }> }): {
  files: (Score & { path: string })[];
  total: Score;
};
export function checkFloors(
  names: string[],
  readReport: (group: string) => { files?: Record<string, { mutants: { status: string }[] }> } | null,
): { failures: string[]; lines: string[] };
