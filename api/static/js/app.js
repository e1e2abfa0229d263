// The verification page (docs/WEB.md): loads a snapshot file and a bundle (pasted, a file, a QR
// image or the camera), verifies it here with verify.js, and shows each check's verdict in Chinese
// and English and the certificate in the reference layout of 人社鉴发〔2021〕1号 (fields, photo
// placeholder, QR code). What the result code, each check and a status's reason code mean comes
// from the rule-id catalogue (rules.js, generated from node/core/rules/ids.py). Nothing is sent
// anywhere; values are written with textContent only.

import qrcode from 'qrcode-generator';

import { PREFIX, encodeCompact, parseBundleText } from './compact.js';
import { decodeQr } from './qr.js';
import { CHECK_LABELS, FIELD_LABELS, ID_TYPES, LEVELS, OUTCOMES, REDACTED, VERDICTS } from './labels.js';
import { explain, explainCheck, explainReason, explainResult } from './rules.js';
import { trustFromSnapshot, verifyBundleText } from './verify.js';

const $ = (id) => document.getElementById(id);
const state = { trust: null };

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

function loadSnapshot(text, source) {
  try {
    state.trust = trustFromSnapshot(JSON.parse(text));
  } catch (exc) {
    state.trust = null;
    setStatus($('snapshot-status'), 'error', ['快照无法读取', 'Snapshot cannot be read'], `: ${exc.message}`);
    return;
  }
  const { network, block } = state.trust;
  const when = new Date(block.timestamp * 1000).toISOString().replace('.000Z', 'Z');
  setStatus(
    $('snapshot-status'),
    'ok',
    [`已载入快照（${source}）：链 ${network.chainId}，区块 ${block.number}`, `Snapshot loaded (${source}):`],
    ` chain ${network.chainId}, block ${block.number} (${when})`,
  );
}

async function fetchSnapshot() {
  try {
    const response = await fetch('/v1/snapshot', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    loadSnapshot(await response.text(), '本节点 this node');
  } catch (exc) {
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
  $('bundle-text').value = at > 0 ? decodeURIComponent(text.slice(at)) : text;
  setStatus($('bundle-status'), 'ok', ['已读取二维码', 'QR code read'], ` (${text.length} characters)`);
  if (state.trust) verify();
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

function verificationTime() {
  const value = $('at').value;
  if (!value) return Math.floor(Date.now() / 1000);
  return Math.floor(new Date(value).getTime() / 1000);
}

async function verify() {
  const text = $('bundle-text').value;
  if (!state.trust) {
    setStatus($('bundle-status'), 'error', ['请先载入信任快照', 'Load a trust snapshot first']);
    return;
  }
  if (!text.trim()) {
    setStatus($('bundle-status'), 'error', ['请提供证书包', 'Provide a bundle']);
    return;
  }
  const result = await verifyBundleText(text, state.trust, verificationTime());
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
  bilingual($('as-of'), [`以区块 ${result.as_of_block} 为准`, `as of block ${result.as_of_block}`]);
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
    detail.textContent = check.detail;
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
  $('cert-body-zh').textContent =
    `本证书由${org}颁发，表明持证人通过本机构组织的职业技能等级认定，具备该职业（工种）相应技能等级水平。`;
  $('cert-body-en').textContent =
    `This is to certify that the bearer has demonstrated corresponding competency in this occupation (job) ` +
    `for successful completion of the occupational skill level assessment organized by ${org}.`;
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

function init() {
  $('snapshot-file').addEventListener('change', async (event) => {
    const text = await readFile(event.target);
    if (text !== null) loadSnapshot(text, event.target.files[0].name);
  });
  $('snapshot-fetch').addEventListener('click', fetchSnapshot);
  $('bundle-file').addEventListener('change', async (event) => {
    const text = await readFile(event.target);
    if (text !== null) {
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
  // A verification link: index.html#CR1:… (the fragment never reaches a server).
  const fromFragment = () => {
    if (location.hash.startsWith(`#${PREFIX}`)) $('bundle-text').value = decodeURIComponent(location.hash.slice(1));
  };
  window.addEventListener('hashchange', fromFragment);
  fromFragment();
  document.body.dataset.ready = 'true';
}

init();
