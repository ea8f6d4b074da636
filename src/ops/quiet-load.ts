/**
 * Starts a one-off load (prom-client) only once the doors have been quiet for a while: the load is synchronous
 * work on the door's event loop, so a patron swiping again and again at a door that just came back from a power
 * cut should not find it there. Whoever needs the load sooner (a scrape) starts it themselves.
 */
export interface QuietLoadOptions {
  /** When a door last saw a swipe, or the doors became ready (performance.now() time). */
  lastSwipeAt: () => number;
  /** How long without a swipe counts as quiet. */
  quietMs: number;
  now?: () => number;
}

export function loadWhenQuiet(load: () => Promise<unknown>, options: QuietLoadOptions): { stop(): void } {
  const now = options.now ?? (() => performance.now());
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const waited = now() - options.lastSwipeAt();
    if (waited >= options.quietMs) {
      void load();
      return;
    }
    timer = setTimeout(check, options.quietMs - waited);
    timer.unref();
  };
  check();
  return {
    stop() {
      clearTimeout(timer);
    },
  };
}
