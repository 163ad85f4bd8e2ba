// SPDX-License-Identifier: GPL-2.0
//
// Check tests/servers/oss against the official Aliyun OSS client (npm ali-oss)
// as the reference signer: run by tests/servers/oss-check-ali with NODE_PATH
// pointing at its ali-oss install and the server's env (OSS_*) in the
// environment; OSS_STORAGE is the server's storage directory.
// Prints "ok N - ..." / "not ok N - ..." lines and "N passed, N failed, N
// skipped" last; exits 1 if any check failed.
'use strict';

const OSS = require('ali-oss');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const env = process.env;
for (const k of ['OSS_ENDPOINT', 'OSS_BUCKET', 'OSS_ACCESS_KEY_ID', 'OSS_ACCESS_KEY_SECRET']) {
  if (!env[k]) {
    console.error(`oss-check-ali: ${k} is not set`);
    process.exit(2);
  }
}

let n = 0;
let passed = 0;
let failed = 0;
let skipped = 0;

function ok(cond, name, why) {
  n++;
  if (cond) {
    passed++;
    console.log(`ok ${n} - ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${name}${why ? ` # ${why}` : ''}`);
  }
}

function client(opts) {
  return new OSS(Object.assign({
    endpoint: `http://${env.OSS_ENDPOINT}`,
    bucket: env.OSS_BUCKET,
    accessKeyId: env.OSS_ACCESS_KEY_ID,
    accessKeySecret: env.OSS_ACCESS_KEY_SECRET,
    secure: false,
    timeout: 20000,
    retryMax: 0,
  }, opts || {}));
}

// Run fn; a thrown error is returned as {err}.
async function attempt(fn) {
  try {
    return { res: await fn() };
  } catch (err) {
    return { err };
  }
}

function errInfo(r) {
  if (!r.err) return `no error (status ${r.res && r.res.res && r.res.res.status})`;
  return `${r.err.status} ${r.err.code}: ${r.err.message}`;
}

// A plain GET of a presigned URL, sent to the server whatever host the URL
// names (ali-oss refuses to presign for an IP endpoint).
function fetchUrl(url, headers) {
  const u = new URL(url);
  const [host, port] = env.OSS_ENDPOINT.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({
      host, port, method: 'GET', path: u.pathname + u.search,
      headers: Object.assign({ Host: u.host }, headers || {}),
    }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const c = client();
  const data = crypto.randomBytes(300 * 1024 + 17);
  const key = `ali/check-${process.pid}.bin`;
  const odd = `ali/odd name+plus ü%.bin`;
  const md5 = crypto.createHash('md5').update(data).digest('hex').toUpperCase();

  // put
  let r = await attempt(() => c.put(key, data));
  ok(!r.err && r.res.res.status === 200, 'put an object', errInfo(r));
  let stored = null;
  try {
    stored = fs.readFileSync(path.join(env.OSS_STORAGE || '', env.OSS_BUCKET, key));
  } catch (e) { /* checked below */ }
  ok(stored && stored.equals(data), 'the object is in the server storage');

  // get whole
  r = await attempt(() => c.get(key));
  ok(!r.err && r.res.res.status === 200 && Buffer.compare(r.res.content, data) === 0,
     'get the whole object', errInfo(r));
  ok(!r.err && r.res.res.headers.etag === `"${md5}"`, 'ETag is the MD5',
     r.res && r.res.res.headers.etag);

  // get a range
  r = await attempt(() => c.get(key, { headers: { Range: 'bytes=1000-5999' } }));
  ok(!r.err && r.res.res.status === 206 &&
     Buffer.compare(r.res.content, data.subarray(1000, 6000)) === 0 &&
     r.res.res.headers['content-range'] === `bytes 1000-5999/${data.length}`,
     'get a range: 206, Content-Range, the right bytes', errInfo(r));
  r = await attempt(() => c.get(key, { headers: { Range: 'bytes=-100' } }));
  ok(!r.err && r.res.res.status === 206 &&
     Buffer.compare(r.res.content, data.subarray(data.length - 100)) === 0,
     'get a suffix range', errInfo(r));

  // head
  r = await attempt(() => c.head(key));
  ok(!r.err && r.res.status === 200 &&
     Number(r.res.res.headers['content-length']) === data.length,
     'head: Content-Length', errInfo(r));

  // a sub-resource in the signed resource
  r = await attempt(() => c.get(key, { subres: { 'response-content-type': 'text/x-check' } }));
  ok(!r.err && r.res.res.headers['content-type'] === 'text/x-check',
     'get with a signed sub-resource (response-content-type)', errInfo(r));

  // an object name that needs escaping
  r = await attempt(() => c.put(odd, Buffer.from('odd')));
  let r2 = await attempt(() => c.get(odd));
  ok(!r.err && !r2.err && r2.res.content.toString() === 'odd',
     'put and get a key with space, +, % and UTF-8', errInfo(r.err ? r : r2));

  // missing object
  r = await attempt(() => c.get('ali/does-not-exist'));
  ok(r.err && r.err.status === 404 && r.err.code === 'NoSuchKey', 'missing key: NoSuchKey',
     errInfo(r));

  // wrong secret, unknown key, clock skew
  const bad = client({ accessKeySecret: `${env.OSS_ACCESS_KEY_SECRET}x` });
  r = await attempt(() => bad.get(key));
  ok(r.err && r.err.status === 403 && r.err.code === 'SignatureDoesNotMatch',
     'get with a wrong secret: 403 SignatureDoesNotMatch', errInfo(r));
  r = await attempt(() => bad.head(key));
  ok(r.err && r.err.status === 403 && r.err.code === 'SignatureDoesNotMatch',
     'head with a wrong secret: 403 SignatureDoesNotMatch (x-oss-err)', errInfo(r));
  r = await attempt(() => bad.put(`${key}.bad`, data));
  ok(r.err && r.err.status === 403 && r.err.code === 'SignatureDoesNotMatch' &&
     !fs.existsSync(path.join(env.OSS_STORAGE || '/nonexistent', env.OSS_BUCKET, `${key}.bad`)),
     'put with a wrong secret: 403, nothing stored', errInfo(r));
  r = await attempt(() => client({ accessKeyId: 'LTAIunknownunknown00' }).get(key));
  ok(r.err && r.err.status === 403 && r.err.code === 'InvalidAccessKeyId',
     'unknown access key: 403 InvalidAccessKeyId', errInfo(r));
  r = await attempt(() => client({ amendTimeSkewed: -20 * 60 * 1000 }).get(key));
  ok(r.err && r.err.status === 403 && r.err.code === 'RequestTimeTooSkewed',
     'date 20 min off: 403 RequestTimeTooSkewed', errInfo(r));

  // presigned URLs (query authentication)
  const named = client({ endpoint: 'http://oss-cn-hangzhou.aliyuncs.com' });
  const url = named.signatureUrl(key, { expires: 600 });
  let f = await attempt(() => fetchUrl(url, { Range: 'bytes=0-99' }));
  ok(!f.err && f.res.status === 206 && Buffer.compare(f.res.body, data.subarray(0, 100)) === 0,
     'presigned URL: ranged GET', f.err ? String(f.err) : `status ${f.res.status}`);
  const tampered = url.replace(/Signature=([^&]+)/, (m, s) =>
    `Signature=${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`);
  f = await attempt(() => fetchUrl(tampered));
  ok(!f.err && f.res.status === 403 && /<Code>SignatureDoesNotMatch</.test(f.res.body),
     'presigned URL with a wrong signature: SignatureDoesNotMatch',
     f.err ? String(f.err) : `status ${f.res.status}`);
  const expired = named.signatureUrl(key, { expires: -60 });
  f = await attempt(() => fetchUrl(expired));
  ok(!f.err && f.res.status === 403 && /<Code>AccessDenied</.test(f.res.body),
     'expired presigned URL: AccessDenied', f.err ? String(f.err) : `status ${f.res.status}`);

  // delete
  r = await attempt(() => c.delete(key));
  r2 = await attempt(() => c.head(key));
  ok(!r.err && r2.err && r2.err.status === 404, 'delete', errInfo(r.err ? r : r2));
  await attempt(() => c.delete(odd));

  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed ? 1 : 0);
}

main().catch(e => {
  console.log(`not ok ${n + 1} - unexpected error: ${e && e.stack}`);
  console.log(`${passed} passed, ${failed + 1} failed, ${skipped} skipped`);
  process.exit(1);
});
