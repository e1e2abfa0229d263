// Reading a QR code from pixels: ZXing-C++ (zxing-wasm's reader, WebAssembly, vendored) first,
// jsQR (vendored, a classic script) second. jsQR alone missed the printed certificate's QR code
// (a version 38-40 symbol for a bundle with a 20-hash proof) at 300 and 80 dpi; ZXing reads it at
// 150, 300 and 600 dpi and from a phone-like photo (tests/web/test_qr.py). The WebAssembly comes
// from this site's vendor directory: the package's default would fetch it from a CDN.

import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';

const WASM = new URL('../vendor/zxing-wasm/dist/reader/zxing_reader.wasm', import.meta.url).href;

prepareZXingModule({
  overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? WASM : prefix + path) },
  fireImmediately: false,
});

const OPTIONS = {
  formats: ['QRCode'],
  tryHarder: true,
  tryRotate: true,
  tryInvert: true,
  tryDownscale: true,
  maxNumberOfSymbols: 1,
};

/** Which decoder read the last code ('zxing' or 'jsqr'), for the tests. */
export const lastDecoder = { name: null };

/** The text of the first QR code in RGBA ``ImageData``, or null. */
export async function decodeQr(imageData) {
  try {
    const [found] = (await readBarcodes(imageData, OPTIONS)).filter((r) => r.isValid);
    if (found) {
      lastDecoder.name = 'zxing';
      return found.text;
    }
  } catch (exc) {
    // The WebAssembly could not load or run: jsQR still may read the code.
    console.warn('zxing-wasm:', exc);
  }
  const found = globalThis.jsQR?.(imageData.data, imageData.width, imageData.height, { inversionAttempts: 'attemptBoth' });
  if (found) {
    lastDecoder.name = 'jsqr';
    return found.data;
  }
  return null;
}
