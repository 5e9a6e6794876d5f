import { MemoryLeaseStore } from '../../../src/leases/memory-store.js';
import { CONFORMANCE_SETTINGS, describeLeaseStore } from '../../helpers/lease-store-conformance.js';

describeLeaseStore('memory', async () => ({
  store: new MemoryLeaseStore(CONFORMANCE_SETTINGS),
  cleanup: async () => {},
}));
