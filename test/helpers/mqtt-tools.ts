import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Python, which has python3-paho-mqtt (a venv's python3 may not). */
export const PYTHON = '/usr/bin/python3';
/** Debian's mosquitto-clients. */
export const MOSQ_PUB = '/usr/bin/mosquitto_pub';
export const MOSQ_SUB = '/usr/bin/mosquitto_sub';

/** Why the Paho for Python tests are skipped, or undefined when they can run. */
export const noPaho = await new Promise<string | undefined>((resolve) => {
  execFile(PYTHON, ['-c', 'import paho.mqtt.client'], { timeout: 10_000 }, (err) => resolve(err ? `paho-mqtt is not available for ${PYTHON} (apt-get install python3-paho-mqtt)` : undefined));
});

/** Why the mosquitto_pub / mosquitto_sub tests are skipped, or undefined when they can run. */
export const noMosquitto = existsSync(MOSQ_PUB) && existsSync(MOSQ_SUB) ? undefined : 'mosquitto-clients is not installed (apt-get install mosquitto-clients)';
