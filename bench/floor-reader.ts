/**
 * The least a door could do, for the outside bench's floor: the door's serial read path (the same binding),
 * then a write of 1 to a value file, as the relay's, and 0 again after the pulse (100 ms unless given). Nothing else.
 */
import { writeFileSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { hangupAwareBinding } from '../src/reader/serial-binding.ts';

const [path, valueFile, pulse] = process.argv.slice(2);
if (!path || !valueFile) throw new Error('usage: floor-reader.ts TTY VALUE_FILE [PULSE_MS]');
const pulseMs = Number(pulse ?? 100);
writeFileSync(valueFile, '0');
// SerialPort's types omit `binding`, but its constructor takes one.
const port = new SerialPort({ path, baudRate: 9600, binding: hangupAwareBinding } as ConstructorParameters<
  typeof SerialPort
>[0]);
let line = '';
port.on('data', (chunk: Buffer) => {
  line += chunk.toString('latin1');
  if (!line.includes('\n')) return;
  line = '';
  writeFileSync(valueFile, '1');
  // As the door's log line: the write on the monotonic clock, for the bench's patron's-wait figure.
  process.stdout.write(`written ${process.hrtime.bigint()}\n`);
  setTimeout(() => writeFileSync(valueFile, '0'), pulseMs);
});
port.on('open', () => process.stdout.write('open\n'));
process.on('SIGTERM', () => port.close(() => process.exit(0)));
