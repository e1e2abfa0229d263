// Preloaded into the js-ipfs daemon with NODE_OPTIONS=--require <this file> (anchor/ipfs.py).
// Node 20 lacks Promise.withResolvers (ES2024, Node >= 22), which a dependency of
// ipfs@0.66.1 calls; without it `jsipfs daemon` dies at start (docs/IPFS.md, "Fixes").
'use strict'

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}
