/** A certificate authority in memory: its certificate and its PKCS#8 private key (never logged, sealed at rest). */
export interface CaMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What every issuing function answers; times are epoch milliseconds (whole seconds, as in the certificate). */
export interface IssuedCertificate {
  readonly certPem: string;
  /** Lowercase hex, no separators, as `newSerial()` makes it. */
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** `sha256:` + lowercase hex of the DER. */
  readonly fingerprint: string;
}

export interface RsaKeyPair {
  /** SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`). */
  readonly publicKeyPem: string;
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`). */
  readonly privateKeyPem: string;
}

export interface CertificateInfo {
  readonly serial: string;
  readonly subjectCn: string;
  readonly issuerCn: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly fingerprint: string;
  readonly publicKeyPem: string;
}
