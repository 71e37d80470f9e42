// A free loopback port for a test's listener: below the kernel's ephemeral range and reserved for
// this process (src/cluster/supervisor.ts findFreePortBases), so two tests never get the same one.
import { findFreePortBases } from '../../src/cluster/supervisor.js';

export async function freePort(): Promise<number> {
  return (await findFreePortBases(1))[0];
}
