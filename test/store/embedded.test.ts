import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
import { objectStoreContract } from './contract.js'

objectStoreContract('EmbeddedStore', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mirrorstore-store-'))
  let store = EmbeddedStore.open(dataDir)
  return {
    store,
    dataDir,
    reopen: () => {
      store.close()
      store = EmbeddedStore.open(dataDir)
      return Promise.resolve(store)
    },
  }
})
