// The verification page (docs/WEB.md): loads a snapshot file and a bundle (pasted, a file, a QR
// image or the camera), verifies it here with verify.js, and shows each check's verdict in Chinese
// and English and the certificate in the reference layout of 人社鉴发〔2021〕1号 (fields, photo
// placeholder, QR code). What the result code, each check and a status's reason code mean comes
// from the rule-id catalogue (rules.js, generated from node/core/rules/ids.py). The bundle is
// never sent anywhere; values are written with textContent only. The query panel (query.js)
// asks this node's API: the search, and the holder's bundle.
//
// A verification link (index.html#CR1:…) is verified as soon as the page opens, against this
// node's snapshot (GET /v1/snapshot) when none was loaded. Files can be dropped anywhere on the
// page: a QR image, a bundle (JSON or CR1: text) or a snapshot. Every new input clears the
// previous result and messages. Provinces are shown by name, times in China time (UTC+8), each
// check's detail in Chinese and English (details.js).

import qrcode from 'qrcode-generator';

import { toHex } from './bytes.js';
import { PREFIX, encodeCompact, parseBundleText } from './compact.js';
import { decodeQr } from './qr.js';
import {
  CERTIFICATE_TITLES,
  CHECK_LABELS,
  FIELD_LABELS,
  ID_TYPES,
  LEVELS,
  OUTCOMES,
  REDACTED,
  VERDICTS,
} from './labels.js';
import { chinaTime, explainDetail } from './details.js';
import { explain, explainCheck, explainReason, explainResult } from './rules.js';
import { initQuery } from './query.js';
import { MAX_SNAPSHOT_BYTES, parseJson } from './safejson.js';
import { loadTrustRoot } from './trust.js';
import { DEFAULT_MAX_AGE, trustFromSnapshot, verifyBundleText } from './verify.js';

const $ = (id) => document.getElementById(id);
// ``root``: the trust root pinned next to the page (``trust-root.json``), if it has one.
const state = { trust: null, root: null };

/** Forget the previous result and the messages about the previous bundle (new input came). */
function clearResult() {
  $('result').hidden = true;
  $('certificate').hidden = true;
  $('checks').tBodies[0].replaceChildren();
  $('bundle-status').textContent = '';
  delete $('bundle-status').dataset.state;
  delete document.body.dataset.result;
}

/** Replace an element's content by "中文 English" (the English part in a span.en). */
function bilingual(element, [zh, en], extra = '') {
  element.replaceChildren(document.createTextNode(`${zh} `));
  const span = document.createElement('span');
  span.className = 'en';
  span.textContent = en + extra;
  element.append(span);
}

/** Replace an element's content by a catalogue entry's Chinese sentence and English sentence,
 * each after its own prefix. */
function meaning(element, entry, [zhPrefix, enPrefix] = ['', '']) {
  element.replaceChildren(document.createTextNode(`${zhPrefix}${entry.zh}`));
  const span = document.createElement('span');
  span.className = 'en';
  span.textContent = `${enPrefix}${entry.en}`;
  element.append(span);
}

/** The meaning of a status's reason code; a code the reason table lacks says so. */
function reasonMeaning(code) {
  return explainReason(code) ?? explain('reason.unknown');
}

function setStatus(element, stateName, pair, extra = '') {
  element.dataset.state = stateName;
  bilingual(element, pair, extra);
}

// ---- snapshot ------------------------------------------------------------------------------

let snapshotLoads = 0;

function loadSnapshot(text, source) {
  snapshotLoads += 1;
  clearResult();
  try {
    state.trust = trustFromSnapshot(parseJson(text, 'snapshot', 'json.syntax', { maxBytes: MAX_SNAPSHOT_BYTES }));
  } catch (exc) {
    state.trust = null;
    setStatus($('snapshot-status'), 'error', ['快照无法读取', 'Snapshot cannot be read'], `: ${exc.message}`);
    return;
  }
  const { network, block } = state.trust;
  const root = state.root;
  if (root && (root.network.chainId !== network.chainId || toHex(root.network.contract) !== toHex(network.contract))) {
    // A snapshot of another network than this page's node is refused outright.
    state.trust = null;
    setStatus(
      $('snapshot-status'),
      'error',
      [`快照属于另一网络（链 ${network.chainId}），不是本节点的网络`, 'The snapshot is of another network than this node'],
      ` (chain ${network.chainId}, this node: chain ${root.network.chainId})`,
    );
    return;
  }
  const [whenZh, whenEn] = chinaTime(state.trust.time);
  const age = Math.max(0, Math.floor(Date.now() / 1000) - state.trust.time);
  const days = (age / 86400).toFixed(1);
  setStatus(
    $('snapshot-status'),
    'ok',
    [`已载入快照（${source}）：链 ${network.chainId}，区块 ${block.number}，生成于 ${whenZh}，${days} 天前`, `Snapshot loaded (${source}):`],
    ` chain ${network.chainId}, block ${block.number}, taken ${whenEn}, ${days} days ago`,
  );
}

/** The trust root served next to the page (each node pins its network's root there). */
async function fetchTrustRoot() {
  try {
    const response = await fetch('trust-root.json', { headers: { accept: 'application/json' } });
    if (!response.ok) return;
    state.root = await loadTrustRoot(await response.text());
    document.body.dataset.trustRoot = String(state.root.serial);
  } catch (exc) {
    state.root = null;
    setStatus($('snapshot-status'), 'error', ['信任根无法验证', 'The trust root does not verify'], `: ${exc.message}`);
  }
}

async function fetchSnapshot() {
  // A snapshot the user loads while this one is on its way wins: the answer is then dropped.
  const before = snapshotLoads;
  try {
    const response = await fetch('/v1/snapshot', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    if (snapshotLoads === before) loadSnapshot(text, '本节点 this node');
  } catch (exc) {
    if (snapshotLoads !== before) return;
    setStatus($('snapshot-status'), 'error', ['无法从本节点载入快照', 'Cannot load the snapshot from this node'], `: ${exc.message}`);
  }
}

// ---- QR codes ------------------------------------------------------------------------------

function pixelsOf(source, width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

async function readQrImage(file) {
  clearResult();
  const bitmap = await createImageBitmap(file);
  const text = await decodeQr(pixelsOf(bitmap, bitmap.width, bitmap.height));
  if (text === null) {
    setStatus($('bundle-status'), 'error', ['图片中未找到二维码', 'No QR code found in the image']);
    return;
  }
  useScannedText(text);
}

function useScannedText(text) {
  // A verification link may carry the compact bundle in its fragment (#CR1:…).
  const at = text.indexOf(PREFIX);
  clearResult();
  $('bundle-text').value = at > 0 ? decodeURIComponent(text.slice(at)) : text;
  setStatus($('bundle-status'), 'ok', ['已读取二维码', 'QR code read'], ` (${text.length} characters)`);
  verifyWithNodeSnapshot();
}

/** Verify the bundle now, first loading this node's snapshot when none is loaded. */
async function verifyWithNodeSnapshot() {
  if (!state.trust) await fetchSnapshot();
  if (state.trust) await verify();
}

let cameraStream = null;

async function scanCamera() {
  const video = $('camera');
  if (cameraStream) {
    stopCamera();
    return;
  }
  try {
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch (exc) {
    setStatus($('bundle-status'), 'error', ['无法打开摄像头', 'Cannot open the camera'], `: ${exc.message}`);
    return;
  }
  video.srcObject = cameraStream;
  video.hidden = false;
  await video.play();
  const tick = async () => {
    if (!cameraStream) return;
    if (video.videoWidth) {
      const text = await decodeQr(pixelsOf(video, video.videoWidth, video.videoHeight));
      if (text !== null) {
        stopCamera();
        useScannedText(text);
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function stopCamera() {
  for (const track of cameraStream?.getTracks() ?? []) track.stop();
  cameraStream = null;
  $('camera').hidden = true;
}

/** Draw ``text`` as a QR code (byte mode, level M, smallest version) on the canvas. */
function drawQr(canvas, text) {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const count = qr.getModuleCount();
  const scale = Math.max(2, Math.floor(240 / (count + 8)));
  canvas.width = canvas.height = (count + 8) * scale;
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#000';
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < count; c++) if (qr.isDark(r, c)) context.fillRect((c + 4) * scale, (r + 4) * scale, scale, scale);
  }
  return count;
}

// ---- verification and display ----------------------------------------------------------------

/** The verification time in unix seconds: now, or the time given, read as China time (UTC+8)
 * whatever the browser's own zone. */
function verificationTime() {
  const value = $('at').value;
  if (!value) return Math.floor(Date.now() / 1000);
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return Math.floor(new Date(`${withSeconds}+08:00`).getTime() / 1000);
}

async function verify() {
  const text = $('bundle-text').value;
  if (!state.trust && !state.root) {
    setStatus($('bundle-status'), 'error', ['请先载入信任快照', 'Load a trust snapshot first']);
    return;
  }
  if (!text.trim()) {
    setStatus($('bundle-status'), 'error', ['请提供证书包', 'Provide a bundle']);
    return;
  }
  clearResult();
  const at = verificationTime();
  // With the pinned trust root the snapshot must be signed and fresh; without a snapshot, a
  // bundle carrying its checkpoint's cosignatures is verified as of the checkpoint's time.
  const options = state.root ? { root: state.root, maxAge: DEFAULT_MAX_AGE } : {};
  const result = { ...(await verifyBundleText(text, state.trust, at, options)), at };
  showResult(result);
  await showCertificate(text, result);
  document.body.dataset.result = result.result;
}

function showResult(result) {
  $('result').hidden = false;
  const verdict = $('verdict');
  verdict.dataset.code = result.result;
  bilingual(verdict, VERDICTS[result.result], ` (${result.result})`);
  meaning($('verdict-meaning'), explainResult(result.result));
  const reason = $('status-reason');
  reason.hidden = result.reason === null || result.reason === undefined;
  if (!reason.hidden) {
    reason.dataset.reason = String(result.reason);
    const [zh, en] = VERDICTS[result.result];
    meaning(reason, reasonMeaning(result.reason), [
      `${zh}，原因代码 ${result.reason}：`,
      `${en}, reason ${result.reason}: `,
    ]);
  }
  const [atZh, atEn] = chinaTime(result.at);
  let [whenZh, whenEn] = ['', ''];
  if (result.as_of_time !== null && result.as_of_time !== undefined) {
    const [zh, en] = chinaTime(result.as_of_time);
    [whenZh, whenEn] = [`，${zh}`, `, ${en}`];
  }
  if (result.basis === 'witnessed') {
    bilingual($('as-of'), [
      `以检查点联署时（区块 ${result.as_of_block}${whenZh}）为准，此后的撤销无法得知；核验时间 ${atZh}`,
      `as of the cosigned checkpoint (block ${result.as_of_block}${whenEn}); later revocations are not known; verified at ${atEn}`,
    ]);
  } else {
    bilingual($('as-of'), [
      `以区块 ${result.as_of_block}${whenZh} 为准，核验时间 ${atZh}`,
      `as of block ${result.as_of_block}${whenEn}, verified at ${atEn}`,
    ]);
  }
  const rows = result.checks.map((check) => {
    const row = document.createElement('tr');
    row.dataset.check = check.name;
    row.dataset.passed = String(check.passed);
    const [name, outcome, detail] = [0, 1, 2].map(() => document.createElement('td'));
    bilingual(name, CHECK_LABELS[check.name]);
    const what = document.createElement('div');
    what.className = 'meaning';
    meaning(what, explainCheck(check.name));
    name.append(what);
    bilingual(outcome, OUTCOMES[String(check.passed)]);
    const explained = explainDetail(check);
    if (explained.rule) detail.dataset.rule = explained.rule;
    meaning(detail, explained);
    row.append(name, outcome, detail);
    return row;
  });
  $('checks').tBodies[0].replaceChildren(...rows);
  $('hashes').textContent = JSON.stringify(result.hashes, null, 2);
}

function valueOf(field, lookup) {
  if (!field || 'hash' in field) return REDACTED;
  const pair = lookup?.[field.value];
  return pair ?? [String(field.value), String(field.value)];
}

function formatDate(text) {
  const [y, m, d] = text.split('-').map(Number);
  return [`${y}年${m}月${d}日`, text];
}

async function showCertificate(text, result) {
  const section = $('certificate');
  let json;
  try {
    json = await parseBundleText(text);
  } catch {
    section.hidden = true;
    return;
  }
  if (result.checks[0].passed !== true) {
    section.hidden = true;
    return;
  }
  const f = json.fields;
  const org = valueOf(f.organisation_name)[0];
  // Format 1 bundles are skill_level; format 2 commits the type.
  const type = f.certificate_type && 'value' in f.certificate_type ? f.certificate_type.value : 'skill_level';
  const [titleZh, titleEn] = CERTIFICATE_TITLES[type] ?? CERTIFICATE_TITLES.skill_level;
  section.dataset.type = type;
  $('cert-title').textContent = titleZh;
  $('cert-subtitle').textContent = titleEn;
  const route = {
    skill_level: ['职业技能等级认定，具备该职业（工种）相应技能等级水平', 'occupational skill level assessment'],
    special_ability: ['专项职业能力考核，具备该项专项职业能力', 'special vocational ability examination'],
    vocational_qualification: ['职业资格评价，具备该职业相应的职业资格', 'vocational qualification evaluation'],
  }[type] ?? ['职业技能等级认定，具备该职业（工种）相应技能等级水平', 'occupational skill level assessment'];
  $('cert-body-zh').textContent = `本证书由${org}颁发，表明持证人通过本机构组织的${route[0]}。`;
  $('cert-body-en').textContent =
    `This is to certify that the bearer has demonstrated corresponding competency in this occupation (job) ` +
    `for successful completion of the ${route[1]} organized by ${org}.`;
  const lookups = { id_type: ID_TYPES, level: LEVELS };
  const items = Object.entries(FIELD_LABELS).flatMap(([name, [zh, en]]) => {
    const dt = document.createElement('dt');
    dt.append(`${zh}：`);
    const small = document.createElement('span');
    small.className = 'en';
    small.textContent = en;
    dt.append(small);
    const dd = document.createElement('dd');
    dd.dataset.field = name;
    const [vzh, ven] = valueOf(f[name], lookups[name]);
    dd.textContent = vzh;
    if (ven !== vzh) {
      const span = document.createElement('span');
      span.className = 'en';
      span.textContent = ` ${ven}`;
      dd.append(span);
    }
    return [dt, dd];
  });
  $('cert-fields').replaceChildren(...items);
  $('cert-org').textContent = org;
  const [dateZh, dateEn] = 'value' in f.issue_date ? formatDate(f.issue_date.value) : REDACTED;
  $('cert-date-zh').textContent = dateZh;
  $('cert-date-en').textContent = dateEn;
  const stamp = $('cert-stamp');
  stamp.hidden = result.valid;
  bilingual(stamp, VERDICTS[result.result]);
  section.dataset.code = result.result;
  const compact = text.trim().startsWith(PREFIX) ? text.trim() : await encodeCompact(json);
  try {
    const modules = drawQr($('cert-qr'), compact);
    $('cert-qr-note').textContent = `${modules}×${modules}`;
  } catch {
    $('cert-qr-note').textContent = '证书包过长，无法生成二维码 / too long for a QR code';
  }
  section.hidden = false;
}

// ---- wiring --------------------------------------------------------------------------------

async function readFile(input) {
  const file = input.files?.[0];
  return file ? file.text() : null;
}

async function init() {
  await fetchTrustRoot();
  $('snapshot-file').addEventListener('change', async (event) => {
    const text = await readFile(event.target);
    if (text !== null) loadSnapshot(text, event.target.files[0].name);
  });
  $('snapshot-fetch').addEventListener('click', fetchSnapshot);
  $('bundle-file').addEventListener('change', async (event) => {
    const text = await readFile(event.target);
    if (text !== null) {
      clearResult();
      $('bundle-text').value = text;
      setStatus($('bundle-status'), 'ok', ['已读取证书包文件', 'Bundle file read'], `: ${event.target.files[0].name}`);
    }
  });
  $('qr-file').addEventListener('change', (event) => {
    const file = event.target.files?.[0];
    if (file) readQrImage(file).catch((exc) => setStatus($('bundle-status'), 'error', ['图片无法读取', 'Image cannot be read'], `: ${exc.message}`));
  });
  $('qr-camera').addEventListener('click', scanCamera);
  $('verify').addEventListener('click', () => verify());
  $('bundle-text').addEventListener('input', clearResult);
  $('at').addEventListener('input', clearResult);
  initDrop();
  // A verification link: index.html#CR1:… (the fragment never reaches a server), verified at
  // once against this node's snapshot unless one was loaded.
  const fromFragment = async () => {
    if (!location.hash.startsWith(`#${PREFIX}`)) return;
    clearResult();
    $('bundle-text').value = decodeURIComponent(location.hash.slice(1));
    setStatus($('bundle-status'), 'ok', ['已读取核验链接', 'Verification link read'], '');
    await verifyWithNodeSnapshot();
  };
  window.addEventListener('hashchange', fromFragment);
  // The holder's bundle from the query panel goes to the verifier (with this node's snapshot).
  initQuery(async (bundleText) => {
    clearResult();
    $('bundle-text').value = bundleText;
    setStatus($('bundle-status'), 'ok', ['已取回本人证书包', 'Your bundle was received'], '');
    await verifyWithNodeSnapshot();
  });
  document.body.dataset.ready = 'true';
  fromFragment();
}

// ---- drag and drop ---------------------------------------------------------------------------

/** What a dropped text file is: a snapshot (it has checkpoints and no entry) or a bundle. */
function isSnapshotText(text) {
  try {
    const value = parseJson(text, 'file', 'json.syntax', { maxBytes: MAX_SNAPSHOT_BYTES });
    return value !== null && typeof value === 'object' && 'checkpoints' in value && !('entry' in value);
  } catch {
    return false;
  }
}

async function useDroppedFile(file) {
  if (file.type.startsWith('image/')) {
    await readQrImage(file);
    return;
  }
  const text = await file.text();
  if (isSnapshotText(text)) {
    loadSnapshot(text, file.name);
    if ($('bundle-text').value.trim() && state.trust) await verify();
    return;
  }
  clearResult();
  $('bundle-text').value = text;
  setStatus($('bundle-status'), 'ok', ['已读取证书包文件', 'Bundle file read'], `: ${file.name}`);
  await verifyWithNodeSnapshot();
}

/** Files dropped anywhere on the page: snapshots first, then the bundle or QR image. */
function initDrop() {
  const over = (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
    event.preventDefault();
    document.body.dataset.dragging = 'true';
  };
  document.addEventListener('dragenter', over);
  document.addEventListener('dragover', over);
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) delete document.body.dataset.dragging;
  });
  document.addEventListener('drop', async (event) => {
    const files = [...(event.dataTransfer?.files ?? [])];
    if (!files.length) return;
    event.preventDefault();
    delete document.body.dataset.dragging;
    const texts = await Promise.all(files.map((f) => (f.type.startsWith('image/') ? null : f.text())));
    const order = files.map((file, i) => [file, texts[i] !== null && isSnapshotText(texts[i]) ? 0 : 1]);
    order.sort((a, b) => a[1] - b[1]);
    try {
      for (const [file] of order) await useDroppedFile(file);
    } catch (exc) {
      setStatus($('bundle-status'), 'error', ['文件无法读取', 'File cannot be read'], `: ${exc.message}`);
    }
  });
}

init();
