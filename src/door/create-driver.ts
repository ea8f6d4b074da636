import type { Logger } from '../log/logger.ts';
import type { DoorHardwareConfig } from './config.ts';
import type { DoorDriver } from './driver.ts';
import { createGpioDriver, type GpioDriverOptions } from './gpio-driver.ts';
import { SimDoorDriver } from './sim-driver.ts';

/** The driver a door's config asks for. */
export async function createDoorDriver(
  config: DoorHardwareConfig,
  options: { door: string; log?: Logger; opener?: GpioDriverOptions['opener']; storePath?: string },
): Promise<DoorDriver> {
  const log = options.log?.child({ door: options.door });
  if (config.driver === 'sim') {
    return new SimDoorDriver({
      door: options.door,
      log,
      openAfterMs: config.sim?.open_after_ms,
      closeAfterMs: config.sim?.close_after_ms,
      patronOnGrant: config.sim?.patron_on_grant,
      relayLog: config.sim?.relay_log,
      storePath: options.storePath,
    });
  }
  return createGpioDriver(config, { log, opener: options.opener });
}
