/** The recorded exhaustive space neotune ships (data/recorded-space.json): `neotune replay`'s default, the strategy tests' record. */
import { fileURLToPath } from 'node:url';

/** Found from this module (dist/tuner/), whatever the working folder. */
export const SHIPPED_SPACE = fileURLToPath(new URL('../../data/recorded-space.json', import.meta.url));
