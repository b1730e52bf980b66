// A small X.509 issuer on Node's own crypto (ECDSA P-256, SHA-256): a CA and serving certificates with DNS
// and IP names, as DER/PEM. Enough for a webhook's TLS; parsed and checked back with crypto.X509Certificate.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

// ------------------------------------------------------------------------------------------ DER

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n: number, b: Buffer) => tlv(0xa0 + n, b);

function integer(b: Buffer): Buffer {
  let v = b;
  while (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) v = v.subarray(1);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  // UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
  return y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${body}`)) : tlv(0x18, Buffer.from(`${y}${body}`));
}

// ------------------------------------------------------------------------------------------ certificates

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function name(cn: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) throw new Error(`IPv6 SANs are not supported: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

export interface Issued {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  commonName: string;
  /** Days from now. */
  days: number;
  /** Serving certificate: the names clients use (DNS names or IPv4 addresses). */
  altNames?: string[];
  /** CA certificate (keyCertSign). Without: a TLS server certificate. */
  ca?: boolean;
  /** The issuer; absent: self-signed. */
  issuer?: { certCommonName: string; key: KeyObject | string };
  /** For tests: the clock. */
  now?: Date;
}

function pemOf(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/** A new P-256 key and a certificate for it. */
export function issue(o: IssueOptions): Issued {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const now = o.now ?? new Date();
  // A minute of slack for clocks a little behind.
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
  const notAfter = new Date(notBefore.getTime() + o.days * 86_400_000);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const ski = createHash('sha1').update(spki).digest();
  const exts: Buffer[] = [];
  if (o.ca) {
    exts.push(extension('2.5.29.19', true, seq(bool(true))));
    // digitalSignature | keyCertSign | cRLSign
    exts.push(extension('2.5.29.15', true, bits(Buffer.from([0x86]), 1)));
  } else {
    exts.push(extension('2.5.29.19', true, seq()));
    exts.push(extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)));
    exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
    const sans = (o.altNames ?? []).map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii'))));
    if (sans.length) exts.push(extension('2.5.29.17', false, seq(...sans)));
  }
  exts.push(extension('2.5.29.14', false, octets(ski)));
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(o.issuer?.certCommonName ?? o.commonName),
    seq(time(notBefore), time(notAfter)),
    name(o.commonName),
    spki,
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, o.issuer?.key ?? privateKey);
  const cert = seq(tbs, ECDSA_SHA256, bits(signature));
  return {
    certPem: pemOf('CERTIFICATE', cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore,
    notAfter,
  };
}
