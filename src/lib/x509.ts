/**
 * Loads @peculiar/x509 once, after the Reflect metadata polyfill its dependency tsyringe needs,
 * with Node's WebCrypto as the provider. Loaded lazily: only the stand-ins' test PKI needs it (the
 * daemon's own self-signed certificate is encoded without it: callback/self-signed.ts).
 */
type X509Module = typeof import("@peculiar/x509");

let loading: Promise<X509Module> | undefined;

export function loadX509(): Promise<X509Module> {
  loading ??= (async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return loading;
}
