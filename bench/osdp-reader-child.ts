/** A simulated OSDP reader in its own process, so the bench measures the control panel's CPU alone. */
import { PdDevice, PdSimulator } from '../test/reader/osdp/pd-simulator.ts';

const [path, baud, keyHex] = process.argv.slice(2);
const device = new PdDevice({ address: 0, key: keyHex ? Buffer.from(keyHex, 'hex') : undefined });
const sim = new PdSimulator(path!, [device], Number(baud));
sim.wireBaud = Number(baud);
await sim.start();
process.on('message', (message: { present?: string; stop?: boolean }) => {
  if (message.present) device.present(message.present);
  if (message.stop) void sim.stop().then(() => process.exit(0));
});
process.send?.({ ready: true });
