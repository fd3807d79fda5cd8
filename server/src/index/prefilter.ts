// The prefilter: does a file mention the gpc API at all? Decided on raw bytes,
// because 60,000 files must be searched in well under a second: short literal
// needles first (Buffer.indexOf is memchr-driven for needles under 8 bytes and
// several times slower for longer ones), then the exact word-bounded regex on
// the few files that contain one.
import { GPC_IDENTIFIER, GPC_NEEDLES } from '../vocabulary';

const NEEDLES = GPC_NEEDLES.map((n) => Buffer.from(n, 'latin1'));

/** Whether `bytes` mention a gpc identifier (exactly GPC_IDENTIFIER's verdict on the latin1 text). */
export function mentionsGpc(bytes: Uint8Array): boolean {
	const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	for (const needle of NEEDLES) {
		if (buf.indexOf(needle) >= 0) return GPC_IDENTIFIER.test(buf.toString('latin1'));
	}
	return false;
}

/** NUL bytes in the first 8000 bytes, as git decides "binary". */
export function looksBinary(bytes: Uint8Array): boolean {
	const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	return buf.subarray(0, 8000).indexOf(0) >= 0;
}

/** Decodes a file; invalid UTF-8 is decoded loss-tolerantly (latin1) so offsets stay byte-stable. */
export function decodeText(bytes: Uint8Array): string {
	const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const text = buf.toString('utf8');
	return text.includes('\uFFFD') ? buf.toString('latin1') : text;
}
